"""Handing queued experiments to the Ray pool's actors (a part of
:class:`~perturbo.actors.ray_pool.RayExecutorPool`, split out by responsibility).

Each actor has up to ``calls_per_worker`` calls queued, so it never idles while the driver
collects; the least busy actor gets the next chunk (:func:`~perturbo.actors.ray_durations.chunk_size`
experiments). An experiment that was running when its actor died (a suspect) waits for an
idle actor and runs alone, so a crash it causes is its own; an experiment with a time limit
runs alone in its call (one clock per call). An actor still coming up while another is up
gets no work (:meth:`~perturbo.actors.ray_limits._Limits._waits_for_place`).
"""

from __future__ import annotations

import collections
import math
import time
from collections.abc import Callable
from typing import Any

from perturbo.actors.ray_calls import _Call, _Item
from perturbo.actors.ray_durations import DurationMean, chunk_size

__all__: list[str] = []


class _Dispatch:
    """Dispatch: mixed into ``RayExecutorPool`` (its state, declared here)."""

    _remote: Any
    _factory: Any
    _threads: int
    _n: int
    _calls_per_worker: int
    _max_chunk: int
    _target_call_s: float
    _durations: DurationMean
    _queue: collections.deque[_Item]
    _calls: dict[Any, _Call]
    _starting: dict[Any, tuple[int, Any, float]]  # ready ref -> slot, actor, t0
    _actors: list[Any]
    _seq: int
    # the pool's and the other parts' (annotations only: nothing here shadows them)
    n_workers: int
    _live: Callable[[], list[Any]]
    _waits_for_place: Callable[[Any], bool]

    def _new_actor(self, slot: int) -> Any:
        actor = self._remote.remote(self._factory, self._threads)
        # actor calls run in order: this one answers once the actor is placed and built
        self._starting[actor.whoami.remote()] = (slot, actor, time.monotonic())
        return actor

    def _busy(self, slot: int) -> int:
        actor = self._actors[slot]
        if actor is None or self._waits_for_place(actor):
            return math.inf  # type: ignore[return-value]  # dropped, or not placed: not chosen
        mine = [c for c in self._calls.values() if c.slot == slot and c.actor is actor]
        return self._calls_per_worker if any(c.isolated for c in mine) else len(mine)

    def _chunk_size(self) -> int:
        return chunk_size(
            len(self._queue),
            self.n_workers,
            self._calls_per_worker,
            self._max_chunk,
            self._target_call_s,
            self._durations.mean_s,
        )

    def _dispatch(self) -> None:
        if not self._queue or not self._live():
            return
        busy = [self._busy(s) for s in range(self._n)]
        k = self._chunk_size()  # once per pass, so a batch splits evenly
        while self._queue:
            slot = min(range(self._n), key=busy.__getitem__)
            suspect = self._queue[0].attempts > 0  # it was running when an actor died
            if busy[slot] >= (1 if suspect else self._calls_per_worker):
                return  # a suspect waits for an idle actor: alone, so its crash is its own
            if suspect or self._queue[0].timeout_s is not None:  # one clock per call
                chunk = [self._queue.popleft()]
            else:
                chunk = [self._queue.popleft() for _ in range(min(k, len(self._queue)))]
            actor = self._actors[slot]
            ref = actor.run_batch.remote([i.spec for i in chunk])
            self._seq += 1
            self._calls[ref] = _Call(slot, actor, chunk, ref, self._seq, isolated=suspect)
            busy[slot] = self._calls_per_worker if suspect else busy[slot] + 1
