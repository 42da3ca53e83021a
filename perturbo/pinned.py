"""Human in the loop: experiments a person names run first, marked as theirs.

:class:`Pinned` wraps a campaign's planner: the next ``ask`` proposes the pinned params first
(``planner="user"``, with the person's note), then fills the rest of the batch from the planner,
which is told of the pinned ones as pending so it does not repeat them. Every outcome reaches
the planner through ``tell`` as usual, so it learns from what the person chose, and the record
says who chose each experiment.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from perturbo.protocols import Planner
from perturbo.types import ExperimentSpec, Observation

USER = "user"


class Pinned:
    """``planner`` with ``params`` queued in front of its proposals (see the module docstring)."""

    def __init__(
        self,
        planner: Planner,
        params: Sequence[Mapping[str, Any]],
        kind: str,
        note: str = "named by the user",
    ) -> None:
        self.inner = planner
        self.name = getattr(planner, "name", "planner")
        self.kind = kind
        self.note = note
        self._queue = [dict(p) for p in params]

    @property
    def queued(self) -> list[dict[str, Any]]:
        return [dict(p) for p in self._queue]

    def __getattr__(self, attr: str) -> Any:  # last_trace and other planner extras
        return getattr(self.inner, attr)

    def ask(self, n: int, pending: Sequence[ExperimentSpec]) -> list[ExperimentSpec]:
        take, self._queue = self._queue[:n], self._queue[n:]
        mine = [ExperimentSpec(p, self.kind, planner=USER, note=self.note) for p in take]
        rest = self.inner.ask(n - len(mine), [*pending, *mine]) if n > len(mine) else []
        return mine + list(rest)

    def tell(self, observations: Sequence[Observation]) -> None:
        self.inner.tell(observations)


__all__ = ["USER", "Pinned"]
