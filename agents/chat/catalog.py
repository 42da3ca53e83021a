"""The kinds the chat can talk about, handed in by the front end that builds the chat
(:mod:`perturbo.chat.build` passes :mod:`perturbo.kinds`): the agents sit below the kinds in
the layers, so the chat agent never imports the kind registry itself."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from perturbo.types import PerturboError


class KindCatalog(Protocol):
    """What the chat asks of the kind registry (the :mod:`perturbo.kinds` module is one)."""

    def names(self) -> Sequence[str]: ...

    def get(self, name: str) -> Any: ...


def spec_of(kinds: KindCatalog | None, kind: str) -> Any:
    """The kind's spec, or None where the catalog lacks it (or no catalog was handed in)."""
    if kinds is None:
        return None
    try:
        return kinds.get(kind)
    except PerturboError:
        return None


__all__ = ["KindCatalog", "spec_of"]
