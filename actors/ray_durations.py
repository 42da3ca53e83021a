"""How long the Ray pool's experiments take, learned as they come back (a part of
:class:`~perturbo.actors.ray_pool.RayExecutorPool`, split out by responsibility): a running
mean of their durations, which caps the chunk size so one actor call holds about
``target_call_s`` of work (slow experiments go one per call and come back as they finish).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from perturbo.types import Outcome, Status

__all__ = ["DurationMean", "chunk_size"]


class DurationMean:
    """An exponentially weighted mean of experiment durations (each batch's mean weighs 0.2;
    ``None`` until one is known); rejected experiments (never run) do not count."""

    def __init__(self) -> None:
        self.mean_s: float | None = None

    def update(self, outcomes: Sequence[Outcome]) -> None:
        ds = [o.duration_s for o in outcomes if o.status is not Status.REJECTED]
        if ds:
            m = sum(ds) / len(ds)
            self.mean_s = m if self.mean_s is None else 0.8 * self.mean_s + 0.2 * m


def chunk_size(
    queued: int,
    workers: int,
    calls_per_worker: int,
    max_chunk: int,
    target_call_s: float,
    mean_s: float | None,
) -> int:
    """Experiments per actor call: the ``queued`` ones spread over every call slot
    (``ceil(queued / (workers * calls_per_worker))``), at most ``max_chunk`` and, once the
    mean duration ``mean_s`` is known, about ``target_call_s`` of work (at least 1)."""
    cap = max_chunk
    if mean_s is not None and mean_s > 0:
        cap = max(1, min(cap, int(target_call_s / mean_s)))
    spread = math.ceil(queued / (max(1, workers) * calls_per_worker))
    return max(1, min(cap, spread))
