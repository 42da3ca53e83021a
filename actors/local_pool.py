"""An in-process :class:`~perturbo.protocols.ExecutorPool`: no Ray, for fast tests and ``--local``.

Experiments run when :meth:`LocalExecutorPool.wait` is called: inline with ``n_workers=1``
(deterministic, no threads), on worker threads otherwise (one executor per thread). The
executor contract is the same as on Ray: an exception inside ``run`` becomes a
``Status.FAILED`` outcome with the error text; it never escapes into the campaign loop.

Time limits (``experiment_timeout_s``, or ``submit(..., timeout_s=)``): an experiment with
one always runs on a worker thread (also with ``n_workers=1``). Past its limit it is
reported FAILED ("timed out after N s") and its thread is *abandoned*, not stopped (Python
cannot kill a thread): a fresh thread with a fresh executor takes its place, and the old
one's result, if it ever comes, is dropped. An abandoned thread still holds what it holds
(memory, a GPU) until it returns; use the Ray pool where a hung experiment must really
stop.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field

from perturbo.actors._queued import QueuedPool
from perturbo.actors._run import run_one
from perturbo.protocols import Executor, ExecutorFactory
from perturbo.types import ExperimentSpec, Observation, failed

__all__ = ["LocalExecutorPool"]


@dataclass(eq=False)
class _Slot:
    """One worker thread: runs the experiments put in ``inbox``, one at a time."""

    name: str
    factory: ExecutorFactory
    outbox: queue.SimpleQueue[tuple[_Slot, Observation]]
    inbox: queue.SimpleQueue[ExperimentSpec | None] = field(default_factory=queue.SimpleQueue)
    executor: Executor | None = None
    job: tuple[ExperimentSpec, float | None, float] | None = None  # spec, limit, started
    thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self.thread.start()

    def give(self, spec: ExperimentSpec, timeout_s: float | None) -> None:
        self.job = (spec, timeout_s, time.monotonic())
        self.inbox.put(spec)

    def _get(self) -> Executor:
        if self.executor is None:
            self.executor = self.factory()
        return self.executor

    def _loop(self) -> None:
        while (spec := self.inbox.get()) is not None:
            self.outbox.put((self, Observation(spec, run_one(self._get, spec, self.name))))


class LocalExecutorPool(QueuedPool):
    """Runs experiments in this process with executors built lazily from ``executor_factory``.

    ``n_workers=1`` runs each experiment inline inside :meth:`wait`; ``n_workers>1`` uses
    that many threads, each with its own executor (useful only where executors release the
    GIL, e.g. torch or numpy work, or sleep). ``experiment_timeout_s``: the default time
    limit of an experiment (see the module notes: a timed-out thread is abandoned).
    """

    def __init__(
        self,
        executor_factory: ExecutorFactory,
        n_workers: int = 1,
        experiment_timeout_s: float | None = None,
    ) -> None:
        super().__init__(executor_factory, n_workers, experiment_timeout_s)
        self._executor: Executor | None = None  # the inline executor (n_workers == 1)
        self._outbox: queue.SimpleQueue[tuple[_Slot, Observation]] = queue.SimpleQueue()
        self._slots: list[_Slot] = []
        # n_timed_out: experiments stopped at their time limit (their threads abandoned)

    # -- ExecutorPool ------------------------------------------------------------------

    def wait(self, timeout_s: float) -> list[Observation]:
        """Run queued experiments; return what finished (at least one unless the timeout
        passes or nothing is queued)."""
        if self._n == 1 and not self._running() and all(t is None for _, t in self._queue):
            return self._wait_inline(timeout_s)
        return self._wait_threads(timeout_s)

    def free_slots(self) -> int:
        return max(0, self._n - len(self._queue) - len(self._running()))

    def in_flight(self) -> list[ExperimentSpec]:
        return [j[0] for j in self._running()] + [s for s, _ in self._queue]

    def close(self) -> None:
        """Stop the worker threads after their current experiment (abandoned ones are left)."""
        for slot in self._slots:
            slot.inbox.put(None)
        for slot in self._slots:
            if slot.thread is not None:
                slot.thread.join()
        self._slots.clear()
        self._queue.clear()

    # -- inline ------------------------------------------------------------------------

    def _wait_inline(self, timeout_s: float) -> list[Observation]:
        out: list[Observation] = []
        deadline = time.monotonic() + max(0.0, timeout_s)
        while self._queue and (not out or time.monotonic() < deadline):
            spec, _ = self._queue.popleft()
            out.append(Observation(spec, run_one(self._inline_executor, spec, "local-0")))
        return out

    def _inline_executor(self) -> Executor:
        if self._executor is None:
            self._executor = self._factory()
        return self._executor

    # -- threads -----------------------------------------------------------------------

    def _running(self) -> list[tuple[ExperimentSpec, float | None, float]]:
        return [s.job for s in self._slots if s.job is not None]

    def _wait_threads(self, timeout_s: float) -> list[Observation]:
        while len(self._slots) < self._n:
            self._slots.append(self._new_slot())
        for slot in self._slots:
            if slot.job is None and self._queue:
                slot.give(*self._queue.popleft())
        out: list[Observation] = []
        deadline = time.monotonic() + max(0.0, timeout_s)
        while self._running():
            limits = [t0 + t for _, t, t0 in self._running() if t is not None]
            wake = time.monotonic() if out else min([deadline, *limits])
            try:
                slot, obs = self._outbox.get(timeout=max(0.0, wake - time.monotonic()))
            except queue.Empty:
                pass
            else:
                if slot in self._slots:  # else an abandoned thread's late result: dropped
                    slot.job = None
                    out.append(obs)
                    if self._queue:
                        slot.give(*self._queue.popleft())
                continue  # collect whatever else is ready
            out += self._time_out()
            if out or time.monotonic() >= deadline:
                break
        return out

    def _time_out(self) -> list[Observation]:
        out = []
        now = time.monotonic()
        for i, slot in enumerate(self._slots):
            if slot.job is None or slot.job[1] is None or now < slot.job[2] + slot.job[1]:
                continue
            spec, t, _ = slot.job
            slot.inbox.put(None)  # the thread ends if its experiment ever returns
            self._slots[i] = fresh = self._new_slot()
            if self._queue:
                fresh.give(*self._queue.popleft())
            self.n_timed_out += 1
            msg = (
                f"timed out after {t:g} s (its thread was abandoned: the local pool cannot "
                "stop it). Fix: raise the experiment timeout, or make the experiment cheaper"
            )
            out.append(Observation(spec, failed(msg, float(t))))
        return out

    def _new_slot(self) -> _Slot:
        slot = _Slot(f"local-{self._made}", self._factory, self._outbox)
        self._made += 1
        slot.start()
        return slot

    def __enter__(self) -> LocalExecutorPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
