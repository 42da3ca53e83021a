"""An :class:`~perturbo.protocols.ExecutorPool` that runs each experiment in a child process:
``--local`` campaigns of user code (a ``module:function`` objective) run here.

A user objective that crashes its process (a segfault in native code, ``os._exit``, the
out-of-memory killer) would otherwise take the driver with it: exit 139 and the campaign
left RUNNING in the store. Here the crash ends only the child: the experiment is recorded
FAILED with the signal, and a fresh child takes the next one. An experiment past its time
limit is really stopped (its child is killed), not abandoned like a thread (its clock starts
when it is sent, so the first experiment of a fresh child also pays that child's start).

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

__all__ = ["ProcessExecutorPool"]


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

    while True:
        try:
            spec = conn.recv()
        except (EOFError, OSError):
            return  # the driver is gone
        if spec is None:
            return
        conn.send(run_one(get, spec, worker))


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
class _Slot:
    name: str
    proc: _Child
    conn: Connection
    job: tuple[ExperimentSpec, float | None, float] | None = None  # spec, limit, started

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
    ``experiment_timeout_s``: the default time limit of an experiment (``None``: none)."""

    def __init__(
        self,
        executor_factory: ExecutorFactory,
        n_workers: int = 1,
        experiment_timeout_s: float | None = None,
    ) -> None:
        super().__init__(executor_factory, n_workers, experiment_timeout_s)
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
            limits = [s.job[2] + s.job[1] for s in busy if s.job and s.job[1] is not None]
            wake = now if out else min([deadline, *limits])
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
        return [j[0] for j in self._running()] + [s for s, _ in self._queue]

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

    def _running(self) -> list[tuple[ExperimentSpec, float | None, float]]:
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
            slot.job = (spec, t, time.monotonic())
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
        spec, _, started = slot.job
        try:
            if slot.conn.poll():
                outcome = slot.conn.recv()
                slot.job = None
                return [Observation(spec, outcome)]
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
        return [Observation(spec, failed(msg, time.monotonic() - started))]

    def _time_out(self) -> list[Observation]:
        out = []
        now = time.monotonic()
        for slot in self._slots:
            if slot is None or slot.job is None or slot.job[1] is None:
                continue
            spec, t, t0 = slot.job
            if now < t0 + t:
                continue
            slot.job = None
            slot.proc.kill()
            self._drop(slot)
            self.n_timed_out += 1
            msg = (
                f"timed out after {t:g} s (its process was stopped). Fix: raise the "
                "experiment timeout, or make the experiment cheaper"
            )
            out.append(Observation(spec, failed(msg, float(t))))
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
