"""The Ray :class:`~perturbo.protocols.ExecutorPool`: long-lived actors, chunked dispatch,
resubmission when an actor dies. The only ``ray.wait``/``ray.get`` caller in perturbo.

Design (measured in ``benchmarks/overhead.py``):

- ``n_workers`` actors are created once and reused for every round (an actor start costs
  seconds; a call on a live actor about a millisecond).
- A batch is split into chunks, one actor call runs a chunk and returns its outcomes, and
  each actor has up to ``calls_per_worker`` calls queued so it never idles while the driver
  collects. Chunks are sized so the batch spreads over all actors (``ceil(queued /
  (workers * calls_per_worker))``), capped at ``max_chunk`` and, once experiment durations
  are known, at about ``target_call_s`` of work, so slow experiments go one per call and
  come back as they finish.
- An actor that dies (``RayActorError``: crash, ``os._exit``, OOM kill, lost node) is
  replaced by a fresh one and its experiments go back to the front of the queue. Those of
  the call that was running get a strike and are retried one per call on an idle actor (so
  a poison experiment cannot sink its chunk-mates twice); after ``max_retries`` strikes an
  experiment is recorded FAILED with the reason. Calls queued behind it never started and
  go back without a strike. An exception inside the executor is the experiment's outcome
  (FAILED with the error), never retried. A chunk is returned whole, so experiments that
  ran before the crash in the same chunk run again: each experiment is *reported* exactly
  once, *executed* at least once.
- Time limits and placement (:mod:`perturbo.actors.ray_limits`): an experiment past its
  time limit is reported FAILED and its actor replaced; an actor that cannot be placed is
  dropped after ``placement_timeout_s`` (or, where none of the pool starts, a
  :class:`~perturbo.types.PerturboError` says what was asked for and what the cluster has);
  an actor still coming up holds no work while another actor is up, so an experiment whose
  node died runs again on a live actor instead of waiting for a replacement's place.
- A lost head (:mod:`perturbo.actors.ray_head`): where the cluster's GCS stops answering,
  :meth:`wait` raises a :class:`~perturbo.actors.ray_head.HeadLost` within ``head_grace_s``,
  before Ray itself ends the process (after 60 s, with no word on the campaign).

The class is this module's; its parts, by responsibility: :mod:`~perturbo.actors.ray_placement`
(how many actors, their CPU/GPU share), :mod:`~perturbo.actors.ray_dispatch` (which actor
gets which chunk), :mod:`~perturbo.actors.ray_durations` (chunk sizes from the durations
learned), :mod:`~perturbo.actors.ray_retries` (outcomes, and an actor's death: blame,
replace, requeue), :mod:`~perturbo.actors.ray_limits` (time limits, placement timeouts),
:mod:`~perturbo.actors.ray_calls` (the queued items and calls in flight they share).
"""

from __future__ import annotations

import collections
import time
from collections.abc import Mapping, Sequence
from typing import Any

from perturbo.actors.ray_calls import _Call, _Item
from perturbo.actors.ray_dispatch import _Dispatch
from perturbo.actors.ray_durations import DurationMean
from perturbo.actors.ray_head import HeadWatch, gcs_address
from perturbo.actors.ray_limits import _Limits
from perturbo.actors.ray_placement import actor_class, actor_shares
from perturbo.actors.ray_retries import _Retries
from perturbo.actors.ray_runtime import RayRuntime, connect
from perturbo.protocols import ExecutorFactory
from perturbo.types import ExperimentSpec, Observation

__all__ = ["RayExecutorPool"]


class RayExecutorPool(_Dispatch, _Retries, _Limits):
    """Runs experiments on ``n_workers`` long-lived Ray actors, each holding an executor
    built by ``executor_factory`` (a picklable zero-argument callable).

    ``n_workers`` defaults to the CPUs Ray has available. ``num_gpus_per_worker`` is
    requested only where the cluster has GPUs (otherwise a warning, and 0). Ray is
    started with :func:`~perturbo.actors.connect` if this process has not connected yet
    (and then :meth:`close` shuts it down again); call ``connect(address)`` first to run
    on a cluster. ``max_retries``: how often an experiment whose actor died is retried.
    ``experiment_timeout_s``: the default time limit of an experiment (``None``: none).
    ``placement_timeout_s``: how long an actor may wait for its resources before it is
    dropped (or, where no actor of the pool starts, a :class:`PerturboError` is raised).
    ``resources``: custom Ray resources each actor asks for (``{"accelerator_type:A100":
    0.01}``, a node's custom label), beside its CPU and GPU share. ``head_grace_s``: how
    long the cluster's head may not answer before :meth:`wait` raises
    :class:`~perturbo.actors.ray_head.HeadLost` (0: never; Ray itself ends the driver
    after 60 s).
    Tuning (rarely needed): ``max_chunk`` experiments per actor call at most,
    ``calls_per_worker`` calls queued per actor, ``target_call_s`` of work per call once
    durations are known, ``threads_per_worker`` OpenMP/torch threads in each actor.
    """

    def __init__(
        self,
        executor_factory: ExecutorFactory,
        n_workers: int | None = None,
        num_gpus_per_worker: float = 0.0,
        max_retries: int = 3,
        *,
        max_chunk: int = 16,
        calls_per_worker: int = 2,
        target_call_s: float = 0.25,
        threads_per_worker: int = 1,
        experiment_timeout_s: float | None = None,
        placement_timeout_s: float = 180.0,
        resources: Mapping[str, float] | None = None,
        head_grace_s: float = 20.0,
    ) -> None:
        if n_workers is not None and n_workers < 1:
            raise ValueError(f"n_workers must be >= 1, got {n_workers}")
        if max_retries < 0 or max_chunk < 1 or calls_per_worker < 1:
            raise ValueError("max_retries >= 0, max_chunk >= 1 and calls_per_worker >= 1 required")
        if experiment_timeout_s is not None and experiment_timeout_s <= 0:
            raise ValueError(f"experiment_timeout_s must be > 0, got {experiment_timeout_s}")
        import ray  # lazy: the one heavy import of this module

        self._ray = ray
        self._own_runtime: RayRuntime | None = None
        if not ray.is_initialized():
            self._own_runtime = connect()
        n_workers, cpu_per, gpus = actor_shares(ray, n_workers, num_gpus_per_worker)
        self._remote = actor_class(ray, cpu_per, gpus, resources or {})
        self._factory = executor_factory
        self._cpu_per = cpu_per
        self._gpus = gpus
        self._resources = dict(resources or {})
        self._timeout_s = experiment_timeout_s
        self._placement_s = placement_timeout_s
        self._head = HeadWatch(gcs_address(ray), grace_s=head_grace_s)
        self._starting: dict[Any, tuple[int, Any, float]] = {}  # ready ref -> slot, actor, t0
        self._threads = threads_per_worker
        self._n = n_workers
        self._max_retries = max_retries
        self._max_chunk = max_chunk
        self._calls_per_worker = calls_per_worker
        self._target_call_s = target_call_s
        self._durations = DurationMean()  # caps the chunk size once durations are known
        self._queue: collections.deque[_Item] = collections.deque()
        self._calls: dict[Any, _Call] = {}
        self._seq = 0
        self._actors: list[Any] = []
        self._actors = [self._new_actor(slot) for slot in range(n_workers)]
        self.n_replaced = 0
        """Actors replaced after they died or timed out (for diagnostics and tests)."""
        self.n_timed_out = 0
        """Experiments stopped at their time limit."""

    # -- ExecutorPool ------------------------------------------------------------------

    def submit(self, specs: Sequence[ExperimentSpec], timeout_s: float | None = None) -> None:
        """Queue ``specs``; ``timeout_s`` (default: the pool's ``experiment_timeout_s``) limits
        each one's run time."""
        t = self._timeout_s if timeout_s is None else timeout_s
        if t is not None and t <= 0:
            raise ValueError(f"timeout_s must be > 0, got {t}")
        self._queue.extend(_Item(s, timeout_s=t) for s in specs)
        self._dispatch()

    def wait(self, timeout_s: float) -> list[Observation]:
        """Observations finished so far: blocks until at least one is ready or ``timeout_s``
        passes; returns ``[]`` at once when nothing is in flight."""
        ray = self._ray
        deadline = time.monotonic() + max(0.0, timeout_s)
        out: list[Observation] = []
        while True:
            self._dispatch()
            if not self._calls:
                return out
            out.extend(self._enforce_limits())
            if not self._calls:
                return out
            self._head.check()  # raises HeadLost once the head has been silent too long
            now = time.monotonic()
            left = 0.0 if out else max(0.0, min(deadline, self._next_limit()) - now)
            left = min(left, self._head.next_probe_in())
            refs = [*self._calls, *self._starting]  # an actor coming up starts a clock
            ready, rest = ray.wait(refs, num_returns=1, timeout=left)
            if rest and ready:
                ready += ray.wait(rest, num_returns=len(rest), timeout=0)[0]
            for ref in ready:
                if ref in self._calls:
                    out.extend(self._finish(ref))
            if out or time.monotonic() >= deadline:
                self._dispatch()
                return out

    def free_slots(self) -> int:
        """Live actors not given an experiment yet (the asynchronous schedule fills them)."""
        busy = len(self._queue) + sum(len(c.items) for c in self._calls.values())
        return max(0, self.n_workers - busy)

    def in_flight(self) -> list[ExperimentSpec]:
        running = [i.spec for c in self._calls.values() for i in c.items]
        return running + [i.spec for i in self._queue]

    def close(self) -> None:
        """Kill the actors (and the Ray this pool started, if it started one). Idempotent."""
        if not self._ray.is_initialized() or self._head.lost:
            self._actors = []  # nothing to kill, or no head left to ask (it would hang)
        held = len(self._live()) * self._cpu_per
        want = self._ray.available_resources().get("CPU", 0.0) + held if held else 0.0
        for a in self._live():
            try:
                self._ray.kill(a)
            except Exception:  # noqa: BLE001 - already dead or Ray already down
                pass
        self._actors = []
        self._calls.clear()
        self._queue.clear()
        self._starting.clear()
        if held > 0:  # ray.kill is asynchronous: let the CPUs come back before returning
            deadline = time.monotonic() + 3.0
            while time.monotonic() < deadline:
                if self._ray.available_resources().get("CPU", 0.0) >= want - 1e-6:
                    break
                time.sleep(0.05)
        if self._own_runtime is not None:
            self._own_runtime.shutdown()
            self._own_runtime: RayRuntime | None = None

    def workers(self) -> list[str]:
        """``host:pid`` of each live actor (a blocking call on each)."""
        return list(self._ray.get([a.whoami.remote() for a in self._live()]))

    @property
    def head_lost(self) -> bool:
        """The cluster's head stopped answering (:class:`HeadLost` was raised): Ray can no
        longer be asked anything, nor shut down cleanly."""
        return self._head.lost

    @property
    def n_workers(self) -> int:
        """Actors of the pool (less those dropped because they could not be placed)."""
        return len(self._live())

    def _live(self) -> list[Any]:
        return [a for a in self._actors if a is not None]

    def __enter__(self) -> RayExecutorPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
