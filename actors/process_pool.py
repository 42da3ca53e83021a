"""An :class:`~perturbo.protocols.ExecutorPool` that runs each experiment in a child process:
``--local`` campaigns of user code (a ``module:function`` objective) run here.

A user objective that crashes its process (a segfault in native code, ``os._exit``, the
out-of-memory killer) would otherwise take the driver with it: exit 139 and the campaign
left RUNNING in the store. Here the crash ends only the child: the experiment is recorded
FAILED with the signal, and a fresh child takes the next one. An experiment past its time
limit is really stopped (its child is killed), not abandoned like a thread. Its clock starts
when the child begins it (the child says so, once its executor is built), never at the
child's start: a fresh child's start-up (Python, perturbo, building the executor, importing
the objective: seconds on a loaded machine) is bounded apart, by ``start_timeout_s``
(:data:`START_TIMEOUT_S` by default, or the experiment's own limit if longer): a child that
has not begun its experiment by then is stopped and the experiment recorded FAILED naming the
start-up. Neither limit applies to an experiment sent without a time limit.

Each of ``n_workers`` slots holds one long-lived child (a fresh ``python``, never a ``fork``:
the driver holds threads), which builds the executor once and runs the experiments
sent to it one at a time; its start (~1-3 s: Python, perturbo, the executor) is paid once per
slot, an experiment then costs a pipe round trip (~1 ms). Each child runs torch and BLAS on
one thread (``n_workers`` children, each threading over every core, would oversubscribe the
machine), unless the user set the BLAS thread variables. The built-in objectives keep
running in-process (:class:`~perturbo.actors.LocalExecutorPool`), where they are fast.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as wait_any
from typing import Any

from perturbo.actors._queued import QueuedPool
from perturbo.actors._run import run_one
from perturbo.config_env import child_env, set_torch_threads
from perturbo.protocols import Executor, ExecutorFactory
from perturbo.types import ExperimentSpec, Observation, failed

__all__ = ["START_TIMEOUT_S", "ProcessExecutorPool"]

START_TIMEOUT_S = 120.0
"""The default limit on a child's start-up (up to the moment it begins its experiment) where
the experiment has a time limit: generous, as importing torch on a busy machine takes long."""

_STARTED = "started"  # the child's word that it begins the experiment sent (then its outcome)


def _child_main(fd: int, name: str) -> None:
    """The child's loop (``python -c``, not ``multiprocessing``: that would re-run the
    parent's ``__main__`` script): take the parent's ``sys.path`` and the pickled factory,
    build the executor lazily, run each spec received and send back its outcome; end on
    ``None`` or when the driver is gone."""
    import pickle

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle
    conn = Connection(fd)
    path, blob = conn.recv()
    sys.path[:] = path
    factory = pickle.loads(blob)
    executor: list[Executor] = []
    worker = f"{name}:{os.getpid()}"

    def get() -> Executor:
        if not executor:
            executor.append(factory())
            set_torch_threads(1, only_if_loaded=True)  # the entry point: one thread
        return executor[0]

    def started() -> None:  # the experiment's clock starts now, not at this child's start
        conn.send((_STARTED, time.monotonic()))

    while True:
        try:
            spec = conn.recv()
            if spec is None:
                return
            conn.send(run_one(get, spec, worker, started))
        except (EOFError, OSError):
            return  # the driver is gone


class _Child:
    """A child process and its pidfd (readable once it exits, where Linux has pidfds)."""

    def __init__(self, fd: int, name: str) -> None:
        code = f"from perturbo.actors.process_pool import _child_main; _child_main({fd}, {name!r})"
        self.popen = subprocess.Popen(
            [sys.executable, "-c", code],
            pass_fds=(fd,),
            stdin=subprocess.DEVNULL,
            env=child_env(1),  # one BLAS thread per child unless the user set one
        )
        self.pid = self.popen.pid
        try:
            self.sentinel: int | None = os.pidfd_open(self.pid)
        except (AttributeError, OSError):  # not Linux >= 5.3: the pipe's EOF tells alone
            self.sentinel = None

    @property
    def exitcode(self) -> int | None:
        return self.popen.poll()

    def is_alive(self) -> bool:
        return self.popen.poll() is None

    def join(self, timeout: float) -> None:
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        if self.popen.poll() is not None and self.sentinel is not None:
            os.close(self.sentinel)
            self.sentinel = None

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()


@dataclass(eq=False)
class _Job:
    """An experiment sent to a child: its time limit (``None``: none), when it was sent and
    when the child began it (``None``: the child is still starting)."""

    spec: ExperimentSpec
    limit: float | None
    sent: float
    started: float | None = None

    def start_limit(self, start_timeout_s: float) -> float:
        """The start-up limit: ``start_timeout_s``, or the experiment's own if that is longer."""
        return max(start_timeout_s, self.limit or 0.0)

    def deadline(self, start_timeout_s: float) -> float | None:
        if self.limit is None:
            return None
        if self.started is None:
            return self.sent + self.start_limit(start_timeout_s)
        return self.started + self.limit


@dataclass(eq=False)
class _Slot:
    name: str
    proc: _Child
    conn: Connection
    job: _Job | None = None

    def alive(self) -> bool:
        return self.proc.is_alive()

    def stop(self, wait_s: float = 2.0) -> None:
        if self.proc.is_alive() and self.job is None:
            try:
                self.conn.send(None)
            except OSError:
                pass
            self.proc.join(wait_s)
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(5)
        self.conn.close()


class ProcessExecutorPool(QueuedPool):
    """Runs experiments in ``n_workers`` child processes, each holding an executor built by
    ``executor_factory`` (pickled with cloudpickle where it is installed, so a lambda works).
    ``experiment_timeout_s``: the default time limit of an experiment (``None``: none),
    counted from the moment its child begins it; ``start_timeout_s``: the limit on a child's
    start-up before that, where the experiment has a time limit."""

    def __init__(
        self,
        executor_factory: ExecutorFactory,
        n_workers: int = 1,
        experiment_timeout_s: float | None = None,
        start_timeout_s: float = START_TIMEOUT_S,
    ) -> None:
        super().__init__(executor_factory, n_workers, experiment_timeout_s)
        if start_timeout_s <= 0:
            raise ValueError(f"start_timeout_s must be > 0, got {start_timeout_s}")
        self._start_timeout_s = start_timeout_s
        self._blob: bytes | None = None  # pickled at the first start: after its resume()
        self._slots: list[_Slot | None] = [None] * n_workers
        self.n_crashed = 0
        """Experiments whose child process died (recorded FAILED)."""
        # n_timed_out: experiments stopped at their time limit (their child killed)

    # -- ExecutorPool ------------------------------------------------------------------

    def wait(self, timeout_s: float) -> list[Observation]:
        """Run queued experiments; return what finished (at least one unless ``timeout_s``
        passes or nothing is queued or running)."""
        deadline = time.monotonic() + max(0.0, timeout_s)
        out: list[Observation] = []
        while True:
            self._give()
            busy = [s for s in self._slots if s is not None and s.job is not None]
            if not busy:
                return out
            now = time.monotonic()
            limits = [s.job.deadline(self._start_timeout_s) for s in busy if s.job]
            wake = now if out else min([deadline, *(t for t in limits if t is not None)])
            handles: dict[Any, _Slot] = {}
            for s in busy:
                handles[s.conn] = s
                if s.proc.sentinel is not None:
                    handles[s.proc.sentinel] = s
            ready = wait_any(list(handles), timeout=max(0.0, wake - now))
            for slot in dict.fromkeys(handles[h] for h in ready):
                out.extend(self._collect(slot))
            out.extend(self._time_out())
            if out or time.monotonic() >= deadline:
                self._give()
                return out

    def free_slots(self) -> int:
        return max(0, self._n - len(self._queue) - len(self._running()))

    def in_flight(self) -> list[ExperimentSpec]:
        return [j.spec for j in self._running()] + [s for s, _ in self._queue]

    def close(self) -> None:
        """Stop the children (those running an experiment are killed). Idempotent."""
        for i, slot in enumerate(self._slots):
            if slot is not None:
                slot.stop()
                self._slots[i] = None
        self._queue.clear()

    def workers(self) -> list[str]:
        """``name:pid`` of each live child."""
        return [f"{s.name}:{s.proc.pid}" for s in self._slots if s is not None and s.alive()]

    def __enter__(self) -> ProcessExecutorPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- children ----------------------------------------------------------------------

    def _running(self) -> list[_Job]:
        return [s.job for s in self._slots if s is not None and s.job is not None]

    def _give(self) -> None:
        for i in range(self._n):
            if not self._queue:
                return
            slot = self._slots[i]
            if slot is not None and slot.job is not None:
                continue
            if slot is None or not slot.alive():
                slot = self._slots[i] = self._start()
            spec, t = self._queue.popleft()
            slot.job = _Job(spec, t, time.monotonic())
            try:
                slot.conn.send(spec)
            except OSError:  # it died between the check and the send: collected as a crash
                pass

    def _start(self) -> _Slot:
        if self._blob is None:
            self._blob = _dumps(self._factory)
        mine, theirs = socket.socketpair()
        name = f"local-{self._made}"
        self._made += 1
        try:
            proc = _Child(theirs.fileno(), name)
        finally:
            theirs.close()
        conn = Connection(mine.detach())
        try:
            conn.send((list(sys.path), self._blob))
        except OSError:  # it died at once: collected as a crash with its exit status
            pass
        return _Slot(name, proc, conn)

    def _collect(self, slot: _Slot) -> list[Observation]:
        if slot.job is None:
            return []
        job = slot.job
        try:
            while slot.conn.poll():
                message = slot.conn.recv()
                if isinstance(message, tuple) and message[:1] == (_STARTED,):
                    # its clock (a system-wide monotonic one), kept within [sent, now]
                    job.started = min(max(float(message[1]), job.sent), time.monotonic())
                    continue
                slot.job = None
                return [Observation(job.spec, message)]
        except (EOFError, OSError):
            pass
        if slot.alive():
            return []  # woken by something else; its answer is still coming
        slot.proc.join(5)
        slot.job = None
        self._drop(slot)
        self.n_crashed += 1
        msg = (
            f"the process running it died ({_signal_name(slot.proc.exitcode)}): the objective "
            "crashed its process (native code, os._exit, out of memory); not retried. Fix: "
            "check the objective with these params outside perturbo"
        )
        return [Observation(job.spec, failed(msg, time.monotonic() - job.sent))]

    def _time_out(self) -> list[Observation]:
        out = []
        now = time.monotonic()
        for slot in self._slots:
            if slot is None or slot.job is None:
                continue
            due = slot.job.deadline(self._start_timeout_s)
            if due is None or now < due:
                continue
            done = self._collect(slot)  # its answer (or its word that it began) came in time
            if done or slot.job is None:
                out.extend(done)
                continue
            job = slot.job
            due = job.deadline(self._start_timeout_s)
            if due is not None and now < due:
                continue  # it began meanwhile: its own clock runs now
            slot.job = None
            slot.proc.kill()
            self._drop(slot)
            self.n_timed_out += 1
            if job.started is None:
                msg = (
                    f"its process did not start the experiment within the start-up limit of "
                    f"{job.start_limit(self._start_timeout_s):g} s (starting Python and perturbo, building the "
                    "executor, importing the objective) and was stopped; the experiment never "
                    "began. Fix: check that the objective's module imports quickly outside "
                    "perturbo (a slow import or one that waits on something)"
                )
                out.append(Observation(job.spec, failed(msg, now - job.sent)))
                continue
            msg = (
                f"timed out after {job.limit:g} s (its process was stopped). Fix: raise the "
                "experiment timeout, or make the experiment cheaper"
            )
            out.append(Observation(job.spec, failed(msg, float(job.limit or 0.0))))
        return out

    def _drop(self, slot: _Slot) -> None:
        """Forget a dead (or killed) child; its slot starts a fresh one when next given work."""
        slot.stop(wait_s=0.0)
        self._slots[self._slots.index(slot)] = None


def _signal_name(exitcode: int | None) -> str:
    if exitcode is None:
        return "no exit status"
    if exitcode < 0:
        try:
            return f"{signal.Signals(-exitcode).name}, signal {-exitcode}"
        except ValueError:
            return f"signal {-exitcode}"
    return f"exit status {exitcode}"


def _dumps(factory: ExecutorFactory) -> bytes:
    try:
        import cloudpickle

        return bytes(cloudpickle.dumps(factory))
    except ImportError:  # pragma: no cover - cloudpickle comes with Ray
        import pickle

        return pickle.dumps(factory)
