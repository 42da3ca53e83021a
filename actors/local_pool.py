"""An in-process :class:`~perturbo.protocols.ExecutorPool`: no Ray, for fast tests and ``--local``.

Experiments run when :meth:`LocalExecutorPool.wait` is called: inline with ``n_workers=1``
(deterministic, no threads), on worker threads otherwise (one executor per thread). The
executor contract is the same as on Ray: an exception inside ``run`` becomes a
``Status.FAILED`` outcome with the error text; it never escapes into the campaign loop.

Time limits (``experiment_timeout_s``, or ``submit(..., timeout_s=)``): an experiment with
one always runs on a worker thread (also with ``n_workers=1``). Past its limit it is
reported FAILED ("timed out after N s") and its thread is *abandoned*: a fresh thread with a
fresh executor takes its place, and the old one's result, if it ever comes, is dropped.
Python cannot kill a thread, so the abandoned one is asked to stop: an exception is raised in
it (``PyThreadState_SetAsyncExc``) as soon as it runs Python again, i.e. once its current
native call (a torch op, a sleep) returns. A thread stuck inside one native call holds what
it holds (memory, a GPU) until that call returns; use the Ray pool where a hung experiment
must really stop.

At interpreter exit, abandoned threads still alive are waited for (up to
``EXIT_GRACE_S``) so that they leave torch first. A daemon thread that comes back from native
code while the interpreter finalizes is ended with ``pthread_exit``, whose unwinding through
torch's C++ frames aborts the whole process (``terminate called without an active
exception``, exit 134) after the campaign had already recorded its end and printed its
error. Stopping the thread at its next bytecode, and waiting for that at exit, avoids this
without ``os._exit`` (which would skip the other exit handlers, MLflow's among them, and
cannot know the exit code the CLI chose).
"""

from __future__ import annotations

import atexit
import ctypes
import queue
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from perturbo.actors._queued import QueuedPool
from perturbo.actors._run import run_one
from perturbo.protocols import Executor, ExecutorFactory
from perturbo.types import ExperimentSpec, Observation, failed

__all__ = ["EXIT_GRACE_S", "LocalExecutorPool"]

EXIT_GRACE_S = 20.0
"""At exit, how long to wait in all for abandoned threads to leave their native call."""

_abandoned: list[threading.Thread] = []  # every pool's abandoned threads (joined at exit)
_abandoned_lock = threading.Lock()


class _Abandoned(SystemExit):
    """Raised inside an abandoned thread to end it: not an ``Exception``, so ``run_one`` does
    not turn it into an outcome, and a ``SystemExit``, so that where it lands after the
    thread's loop (a race) ``threading`` ends the thread silently."""


def _abandon(thread: threading.Thread | None) -> None:
    """Ask ``thread`` to stop at its next bytecode and remember it for the exit wait."""
    if thread is None or thread.ident is None or not thread.is_alive():
        return
    _raise_in(thread)
    with _abandoned_lock:
        if not _abandoned:
            atexit.register(_join_abandoned)
            sys.unraisablehook = _unraisable_hook(sys.unraisablehook)
        _abandoned.append(thread)


def _raise_in(thread: threading.Thread) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread.ident), ctypes.py_object(_Abandoned)
    )


def _unraisable_hook(previous: Any) -> Any:
    """An ``_Abandoned`` that lands in a callback Python cannot raise from (a weakref's, a
    ``__del__``) is printed as "Exception ignored ... Traceback" and does not stop the
    thread: say nothing, and raise it in the thread again (this hook runs in that thread)."""

    def hook(unraisable: Any) -> None:
        if isinstance(unraisable.exc_value, _Abandoned):
            _raise_in(threading.current_thread())
            return
        previous(unraisable)

    return hook


def _join_abandoned(grace_s: float | None = None) -> None:
    """Wait (in all at most ``grace_s``, default ``EXIT_GRACE_S``) for the abandoned threads
    to end, so none is inside torch when the interpreter finalizes."""
    deadline = time.monotonic() + (EXIT_GRACE_S if grace_s is None else grace_s)
    with _abandoned_lock:
        threads = list(_abandoned)
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))


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
        try:
            while (spec := self.inbox.get()) is not None:
                self.outbox.put((self, Observation(spec, run_one(self._get, spec, self.name))))
        except _Abandoned:
            return  # timed out and abandoned: end quietly (its result is not wanted)


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
            _abandon(slot.thread)  # ... or sooner: at its next bytecode
            self._slots[i] = fresh = self._new_slot()
            if self._queue:
                fresh.give(*self._queue.popleft())
            self.n_timed_out += 1
            msg = (  # what happens to the thread: _abandon, then _join_abandoned at exit
                f"timed out after {t:g} s (its thread is stopped as soon as it runs Python "
                "again, once a native call such as a torch op returns, and waited for up to "
                f"{EXIT_GRACE_S:g} s at exit; a fresh thread took its place). Fix: raise the "
                "experiment timeout, or make the experiment cheaper"
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
