"""Time limits and placement of the Ray pool's actors (a part of
:class:`~perturbo.actors.ray_pool.RayExecutorPool`, split out by responsibility).

- An experiment with a time limit runs alone in its actor call; its clock starts when its
  actor begins the call. Past the limit it is reported FAILED, its actor is killed and
  replaced, and the calls queued behind it go back to the queue without a strike.
- An actor that cannot be placed is given ``placement_timeout_s``, then dropped (its work
  goes to the others) or, where no actor of the pool could start, a
  :class:`~perturbo.types.PerturboError` says what was asked for and what the cluster has.
- An actor still coming up is given work only while no actor of the pool is up (at the
  pool's start): a replacement for an actor lost with its node waits for a place without
  holding experiments that live actors could run meanwhile (issue 17: a lost worker node
  left its experiment on a replacement that could never be placed for the whole 180 s
  placement bound while the live node idled).
"""

from __future__ import annotations

import collections
import math
import time
import warnings
from collections.abc import Callable
from typing import Any

from perturbo.actors.ray_calls import _Call, _Item
from perturbo.types import Observation, PerturboError, failed

__all__: list[str] = []


class _Limits:
    """Time limits and placement: mixed into ``RayExecutorPool`` (its state, declared here)."""

    _ray: Any
    _calls: dict[Any, _Call]
    _queue: collections.deque[_Item]
    _starting: dict[Any, tuple[int, Any, float]]  # ready ref -> slot, actor, t0
    _actors: list[Any]
    _placement_s: float
    _cpu_per: float
    _gpus: float
    _resources: dict[str, float]
    n_timed_out: int
    # the pool's and the other parts' (annotations only: nothing here shadows them)
    n_workers: int
    _live: Callable[[], list[Any]]
    _replace: Callable[[_Call], None]
    _kill: Callable[[Any], None]

    def _waits_for_place(self, actor: Any) -> bool:
        """True for an actor still coming up while another actor of the pool is up: it is
        given no work until it is up itself (it may never be placed)."""
        if not self._starting:
            return False
        starting = {id(a) for _, a, _ in self._starting.values()}
        return id(actor) in starting and any(id(a) not in starting for a in self._live())

    def _next_limit(self) -> float:
        """The earliest moment a time limit may fire (an experiment's, an actor placement's)."""
        limits = [d for c in self._calls.values() if (d := c.deadline) is not None]
        limits += [t0 + self._placement_s for _, _, t0 in self._starting.values()]
        return min(limits, default=math.inf)

    def _enforce_limits(self) -> list[Observation]:
        """Start the clocks of calls their actor has begun, drop actors never placed, and stop
        experiments past their limit (reported FAILED; their actor replaced)."""
        now = time.monotonic()
        if self._starting:
            done = self._ray.wait(list(self._starting), num_returns=len(self._starting), timeout=0)[
                0
            ]
            for ref in done:
                del self._starting[ref]
            late = [v for v in self._starting.values() if now - v[2] >= self._placement_s]
            for slot, actor, _ in late:
                self._drop_unplaced(slot, actor)
        starting = {id(a) for _, a, _ in self._starting.values()}
        first: dict[int, _Call] = {}  # per actor, the call it is running
        for c in self._calls.values():
            a = id(c.actor)
            if a not in starting and (a not in first or c.seq < first[a].seq):
                first[a] = c
        for c in first.values():
            if c.started is None:
                c.started = now
        out: list[Observation] = []
        for c in [c for c in self._calls.values() if (d := c.deadline) is not None and now >= d]:
            if c.ref in self._calls:
                out += self._time_out(c)
        return out

    def _time_out(self, call: _Call) -> list[Observation]:
        t = call.items[0].timeout_s
        self._release(call.actor)
        self._replace(call)
        self.n_timed_out += 1
        msg = (
            f"timed out after {t:g} s (its worker was stopped and replaced). Fix: raise the "
            "experiment timeout, or make the experiment cheaper"
        )
        return [Observation(i.spec, failed(msg, float(t or 0.0))) for i in call.items]

    def _release(self, actor: Any) -> list[_Call]:
        """Forget every call queued on ``actor``; those not timed out go back to the front of
        the queue in their order, without a strike (they were cut short by no fault of theirs)."""
        mine = sorted((c for c in self._calls.values() if c.actor is actor), key=lambda c: c.seq)
        for c in mine:
            del self._calls[c.ref]
        expired = [c for c in mine if (d := c.deadline) is not None and time.monotonic() >= d]
        for c in reversed([c for c in mine if c not in expired]):
            self._queue.extendleft(reversed(c.items))
        return mine

    def _drop_unplaced(self, slot: int, actor: Any) -> None:
        self._starting = {r: v for r, v in self._starting.items() if v[1] is not actor}
        self._release(actor)
        self._kill(actor)
        if self._actors[slot] is actor:
            self._actors[slot] = None
        asked = {"CPU": self._cpu_per, "GPU": self._gpus, **self._resources}
        asked = {k: v for k, v in asked.items() if v}
        keys = {"CPU", "GPU", *self._resources}
        have = {k: v for k, v in self._ray.cluster_resources().items() if k in keys}
        free = {k: v for k, v in self._ray.available_resources().items() if k in keys}
        what = (
            f"a Ray actor asking for {asked or 'no resources'} could not be placed within "
            f"{self._placement_s:g} s (the cluster has {have}, {free} free now)"
        )
        if not self._live():
            self._queue.clear()
            raise PerturboError(
                f"{what}, and no worker of this pool could start: the campaign would wait "
                "forever. Fix: free the resources (another job may hold the GPU), ask for "
                "fewer (workers, GPUs per worker), add nodes, or wait longer "
                "(placement_timeout_s); then `perturbo resume` the campaign"
            )
        warnings.warn(f"{what}: dropped; the pool runs on {self.n_workers} workers", stacklevel=3)
