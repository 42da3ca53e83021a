"""What the in-process pools share: the argument checks, the queue of ``(spec, time limit)``
waiting for a worker, and :meth:`submit` (the Ray pool keeps its own: its queue is actors)."""

from __future__ import annotations

import collections
from collections.abc import Sequence

from perturbo.protocols import ExecutorFactory
from perturbo.types import ExperimentSpec

__all__ = ["QueuedPool"]


class QueuedPool:
    """The queue half of :class:`~perturbo.actors.local_pool.LocalExecutorPool` and
    :class:`~perturbo.actors.process_pool.ProcessExecutorPool`."""

    def __init__(
        self,
        executor_factory: ExecutorFactory,
        n_workers: int = 1,
        experiment_timeout_s: float | None = None,
    ) -> None:
        if n_workers < 1:
            raise ValueError(f"n_workers must be >= 1, got {n_workers}")
        if experiment_timeout_s is not None and experiment_timeout_s <= 0:
            raise ValueError(f"experiment_timeout_s must be > 0, got {experiment_timeout_s}")
        self._factory = executor_factory
        self._n = n_workers
        self._timeout_s = experiment_timeout_s
        self._queue: collections.deque[tuple[ExperimentSpec, float | None]] = collections.deque()
        self._made = 0
        self.n_timed_out = 0
        """Experiments stopped at their time limit."""

    def submit(self, specs: Sequence[ExperimentSpec], timeout_s: float | None = None) -> None:
        t = self._timeout_s if timeout_s is None else timeout_s
        if t is not None and t <= 0:
            raise ValueError(f"timeout_s must be > 0, got {t}")
        self._queue.extend((s, t) for s in specs)
