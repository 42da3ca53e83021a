"""An in-process :class:`~perturbo.protocols.ExecutorPool`: no Ray, for fast tests and ``--local``.

Experiments run when :meth:`LocalExecutorPool.wait` is called: inline with ``n_workers=1``
(deterministic, no threads), on a small thread pool otherwise (one executor per thread).
The executor contract is the same as on Ray: an exception inside ``run`` becomes a
``Status.FAILED`` outcome with the error text; it never escapes into the campaign loop.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait

from perturbo.actors._run import run_one
from perturbo.protocols import Executor, ExecutorFactory
from perturbo.types import ExperimentSpec, Observation

__all__ = ["LocalExecutorPool"]


class LocalExecutorPool:
    """Runs experiments in this process with executors built lazily from ``executor_factory``.

    ``n_workers=1`` runs each experiment inline inside :meth:`wait`; ``n_workers>1`` uses
    that many threads, each with its own executor (useful only where executors release the
    GIL, e.g. torch or numpy work).
    """

    def __init__(self, executor_factory: ExecutorFactory, n_workers: int = 1) -> None:
        if n_workers < 1:
            raise ValueError(f"n_workers must be >= 1, got {n_workers}")
        self._factory = executor_factory
        self._n = n_workers
        self._queue: collections.deque[ExperimentSpec] = collections.deque()
        self._executor: Executor | None = None  # the inline executor (n_workers == 1)
        self._local = threading.local()  # per-thread executors (n_workers > 1)
        self._threads: ThreadPoolExecutor | None = None
        self._futures: dict[Future[Observation], ExperimentSpec] = {}

    # -- ExecutorPool ------------------------------------------------------------------

    def submit(self, specs: Sequence[ExperimentSpec]) -> None:
        self._queue.extend(specs)

    def wait(self, timeout_s: float) -> list[Observation]:
        """Run queued experiments; return what finished (at least one unless the timeout
        passes or nothing is queued)."""
        if self._n == 1:
            return self._wait_inline(timeout_s)
        return self._wait_threads(timeout_s)

    def free_slots(self) -> int:
        return max(0, self._n - len(self._queue) - len(self._futures))

    def in_flight(self) -> list[ExperimentSpec]:
        return list(self._futures.values()) + list(self._queue)

    def close(self) -> None:
        if self._threads is not None:
            self._threads.shutdown(wait=True, cancel_futures=True)
            self._threads = None
        self._futures.clear()
        self._queue.clear()

    # -- inline ------------------------------------------------------------------------

    def _wait_inline(self, timeout_s: float) -> list[Observation]:
        out: list[Observation] = []
        deadline = time.monotonic() + max(0.0, timeout_s)
        while self._queue and (not out or time.monotonic() < deadline):
            spec = self._queue.popleft()
            out.append(Observation(spec, run_one(self._inline_executor, spec, "local-0")))
        return out

    def _inline_executor(self) -> Executor:
        if self._executor is None:
            self._executor = self._factory()
        return self._executor

    # -- threads -----------------------------------------------------------------------

    def _wait_threads(self, timeout_s: float) -> list[Observation]:
        if self._threads is None:
            self._threads = ThreadPoolExecutor(self._n, thread_name_prefix="perturbo-local")
        while self._queue:
            spec = self._queue.popleft()
            self._futures[self._threads.submit(self._run_threaded, spec)] = spec
        if not self._futures:
            return []
        done, _ = futures_wait(
            self._futures, timeout=max(0.0, timeout_s), return_when=FIRST_COMPLETED
        )
        out = []
        for f in done:
            del self._futures[f]
            out.append(f.result())  # _run_threaded never raises
        return out

    def _run_threaded(self, spec: ExperimentSpec) -> Observation:
        worker = f"local-{threading.current_thread().name.rsplit('_', 1)[-1]}"
        return Observation(spec, run_one(self._thread_executor, spec, worker))

    def _thread_executor(self) -> Executor:
        ex = getattr(self._local, "executor", None)
        if ex is None:
            ex = self._local.executor = self._factory()
        return ex

    def __enter__(self) -> LocalExecutorPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
