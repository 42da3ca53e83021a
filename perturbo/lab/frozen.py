"""What a lab campaign's planner read of earlier campaigns, as it was when the campaign started.

A planner may learn from the store's earlier campaigns (the genetic transfer prior). Between a
lab's rounds the store changes -- other campaigns start, running ones record more rounds -- so
a planner rebuilt from the store at each step would read other labels and stop proposing what
the campaign's own planner proposed. At start :class:`Recording` notes which campaigns were
read and how many observations each had; every later step reads them through :class:`AsAtStart`:
the same campaigns, cut to those observations, nothing newer.

The same holds for the files the kind read at start (a genetic campaign's ``--library``,
``--exclude``, ``--controls``, its task): :class:`Inputs` keeps their content, saved with the
campaign (:data:`INPUTS_FILE`), and every later step reads the kept copy, never the path -- the
file may have moved, changed or be on another machine. A campaign started before inputs were
kept has none: its steps read the paths, as they did.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from perturbo.history import History
from perturbo.types import CampaignSummary

__all__ = ["EARLIER_FILE", "INPUTS_FILE", "AsAtStart", "Inputs", "Recording", "with_inputs"]

EARLIER_FILE = "lab/earlier.json"
"""On the parent run: ``{campaign: observations read}`` at the campaign's start."""
INPUTS_FILE = "lab/inputs.json"
"""On the parent run: ``{key: text}`` of the input files the kind read at the campaign's start."""


class Inputs:
    """The input files a lab campaign's kind read, by content. ``read(key, read)``: the kept
    text of ``key``; one not kept is read with ``read()`` (the file at its path) and, while
    ``recording`` (at start), kept."""

    def __init__(self, kept: Mapping[str, str] | None = None, *, recording: bool = False) -> None:
        self.kept = dict(kept or {})
        self.recording = recording

    def read(self, key: str, read: Callable[[], str]) -> str:
        if key in self.kept:
            return self.kept[key]
        text = read()
        if self.recording:
            self.kept[key] = text
        return text

    def to_json(self) -> str:
        return json.dumps(self.kept, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Inputs:
        return cls({str(k): str(v) for k, v in dict(json.loads(text)).items()})


class _Reader:
    """Everything but :meth:`earlier` is the store's own."""

    def __init__(self, store: Any) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


class Recording(_Reader):
    """The store, noting what :meth:`earlier` hands out (:attr:`read`)."""

    def __init__(self, store: Any) -> None:
        super().__init__(store)
        self.read: dict[str, int] = {}
        self.lab_inputs = Inputs(recording=True)

    def earlier(
        self, kind: str, exclude: Sequence[str] = ()
    ) -> Iterator[tuple[CampaignSummary, History]]:
        for summary, history in self._store.earlier(kind, exclude):
            self.read[summary.name] = len(history)
            yield summary, history

    def to_json(self) -> str:
        return json.dumps(self.read, indent=1, sort_keys=True)


class AsAtStart(_Reader):
    """The store as a lab campaign's planner read it at start: ``read`` maps the campaigns it
    read to how many observations each had then (``None``: a campaign started before this was
    kept reads the store as it is); ``lab_inputs`` the input files' kept content."""

    def __init__(
        self, store: Any, read: Mapping[str, int] | None, lab_inputs: Inputs | None = None
    ) -> None:
        super().__init__(store)
        self.read = None if read is None else dict(read)
        self.lab_inputs = lab_inputs or Inputs()

    @classmethod
    def from_json(cls, store: Any, text: str, lab_inputs: Inputs | None = None) -> AsAtStart:
        read = {str(k): int(v) for k, v in dict(json.loads(text)).items()}
        return cls(store, read, lab_inputs)

    def earlier(
        self, kind: str, exclude: Sequence[str] = ()
    ) -> Iterator[tuple[CampaignSummary, History]]:
        for summary, history in self._store.earlier(kind, exclude):
            if self.read is None:
                yield summary, history
            elif summary.name in self.read:
                yield summary, History(list(history)[: self.read[summary.name]])


_TAKE_INPUTS = frozenset({"read_results", "sheet", "hit_call"})
"""The lab hooks that read the campaign's input files (they take ``inputs=``)."""


class _WithInputs:
    """A kind's lab hooks with the campaign's kept inputs handed to those that read files."""

    def __init__(self, lab: Any, inputs: Inputs) -> None:
        self._lab, self._inputs = lab, inputs

    def __getattr__(self, name: str) -> Any:
        hook = getattr(self._lab, name)  # a hook the kind lacks stays missing
        if name in _TAKE_INPUTS and callable(hook):
            return functools.partial(hook, inputs=self._inputs)
        return hook


def with_inputs(lab: Any, inputs: Inputs | None) -> Any:
    """``lab`` (a kind's lab hooks) reading ``inputs`` where it takes them (``accepts_inputs``),
    else ``lab`` itself."""
    if inputs is None or not getattr(lab, "accepts_inputs", False):
        return lab
    return _WithInputs(lab, inputs)
