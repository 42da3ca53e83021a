"""What the Ray pool tracks (a part of :class:`~perturbo.actors.ray_pool.RayExecutorPool`,
split out by responsibility): a queued experiment (:class:`_Item`: its retries, its time
limit) and an actor call in flight (:class:`_Call`: which actor, which experiments, in which
order, since when).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from perturbo.types import ExperimentSpec

__all__: list[str] = []


@dataclass
class _Item:
    spec: ExperimentSpec
    attempts: int = 0  # times the actor running it died
    last_error: str = ""
    timeout_s: float | None = None


@dataclass
class _Call:
    slot: int
    actor: Any
    items: list[_Item]
    ref: Any
    seq: int  # submission order: an actor runs its calls in this order, one at a time
    isolated: bool = False  # a suspect running alone: nothing else goes to its actor
    ran: bool | None = None  # after its actor died: was this call the one running?
    started: float | None = None  # monotonic time its actor began it (as seen by the driver)

    @property
    def deadline(self) -> float | None:
        t = self.items[0].timeout_s if len(self.items) == 1 else None
        return None if t is None or self.started is None else self.started + t
