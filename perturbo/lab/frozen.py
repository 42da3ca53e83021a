"""What a lab campaign's planner read of earlier campaigns, as it was when the campaign started.

A planner may learn from the store's earlier campaigns (the genetic transfer prior). Between a
lab's rounds the store changes -- other campaigns start, running ones record more rounds -- so
a planner rebuilt from the store at each step would read other labels and stop proposing what
the campaign's own planner proposed. At start :class:`Recording` notes which campaigns were
read and how many observations each had; every later step reads them through :class:`AsAtStart`:
the same campaigns, cut to those observations, nothing newer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from perturbo.history import History
from perturbo.types import CampaignSummary

__all__ = ["EARLIER_FILE", "AsAtStart", "Recording"]

EARLIER_FILE = "lab/earlier.json"
"""On the parent run: ``{campaign: observations read}`` at the campaign's start."""


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
    read to how many observations each had then."""

    def __init__(self, store: Any, read: Mapping[str, int]) -> None:
        super().__init__(store)
        self.read = dict(read)

    @classmethod
    def from_json(cls, store: Any, text: str) -> AsAtStart:
        return cls(store, {str(k): int(v) for k, v in dict(json.loads(text)).items()})

    def earlier(
        self, kind: str, exclude: Sequence[str] = ()
    ) -> Iterator[tuple[CampaignSummary, History]]:
        for summary, history in self._store.earlier(kind, exclude):
            if summary.name in self.read:
                yield summary, History(list(history)[: self.read[summary.name]])
