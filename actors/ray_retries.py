"""Collecting an actor call's outcomes, and what happens when its actor dies (a part of
:class:`~perturbo.actors.ray_pool.RayExecutorPool`, split out by responsibility).

An actor that dies (``RayActorError``: crash, ``os._exit``, OOM kill, lost node) is replaced
and its experiments go back to the front of the queue. An actor runs its calls one at a time
in order: of those its death cut short only the earliest was running, and its experiments
get a strike; the others never started and go back without one. After ``max_retries``
strikes an experiment is recorded FAILED with the reason. An exception inside the executor
is the experiment's outcome (FAILED with the error), never retried; a call whose result
cannot come back fails its whole chunk.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Sequence
from typing import Any

from perturbo.actors.ray_calls import _Call, _Item
from perturbo.actors.ray_durations import DurationMean
from perturbo.actors.ray_head import HeadWatch
from perturbo.types import Observation, Outcome, failed

__all__: list[str] = []


class _Retries:
    """Outcomes and actor deaths: mixed into ``RayExecutorPool`` (its state, declared here)."""

    _ray: Any
    _head: HeadWatch
    _calls: dict[Any, _Call]
    _queue: collections.deque[_Item]
    _actors: list[Any]
    _max_retries: int
    _durations: DurationMean
    n_replaced: int
    _new_actor: Callable[[int], Any]  # the dispatch part's (annotation only: not shadowed)

    def _finish(self, ref: Any) -> list[Observation]:
        ray = self._ray
        call = self._calls.pop(ref)
        try:
            outcomes = ray.get(ref)
        except ray.exceptions.RayActorError as e:  # the process died: not the experiment's fault
            self._head.confirm()  # the head gone too? then HeadLost, and no replacement asked
            self._blame(call)
            self._replace(call)
            return self._requeue(call.items, _short(e), counts=bool(call.ran))
        except Exception as e:  # noqa: BLE001 - e.g. unpicklable result: the chunk failed
            msg = f"the worker could not run or return it: {_short(e)}"
            return [Observation(i.spec, failed(msg)) for i in call.items]
        return self._observed(call, outcomes)

    def _observed(self, call: _Call, outcomes: Sequence[Outcome]) -> list[Observation]:
        if len(outcomes) != len(call.items):  # cannot happen unless Worker is broken
            raise RuntimeError(f"actor returned {len(outcomes)} outcomes for {len(call.items)}")
        self._durations.update(outcomes)
        return [Observation(i.spec, o) for i, o in zip(call.items, outcomes, strict=True)]

    def _blame(self, call: _Call) -> None:
        """An actor runs its calls one at a time in order: of those its death cut short, only
        the earliest was running; the others never started and go back without a strike."""
        if call.ran is not None:
            return
        group = sorted(
            [call, *(c for c in self._calls.values() if c.actor is call.actor)], key=lambda c: c.seq
        )
        culprit = None
        for c in group:
            c.ran = False
            if culprit is None:
                try:
                    self._ray.get(c.ref, timeout=0)  # finished before the death: not it
                except Exception:  # noqa: BLE001 - died, or not done: the one running
                    culprit = c
        if culprit is not None:
            culprit.ran = True

    def _replace(self, call: _Call) -> None:
        if self._actors and self._actors[call.slot] is call.actor:
            self._kill(call.actor)
            self._actors[call.slot] = self._new_actor(call.slot)
            self.n_replaced += 1

    def _kill(self, actor: Any) -> None:
        try:
            self._ray.kill(actor)
        except Exception:  # noqa: BLE001 - it is already gone
            pass

    def _requeue(self, items: list[_Item], error: str, counts: bool) -> list[Observation]:
        gave_up: list[Observation] = []
        for item in reversed(items):  # appendleft: keep their order at the queue's front
            if not counts:
                self._queue.appendleft(item)
                continue
            item.attempts += 1
            item.last_error = error
            if item.attempts > self._max_retries:
                msg = (
                    f"the worker running it died {item.attempts} times (last: {error}); not "
                    "retried again. Fix: check the experiment's memory/GPU needs or the "
                    "executor for a crash"
                )
                gave_up.append(Observation(item.spec, failed(msg)))
            else:
                self._queue.appendleft(item)
        return gave_up[::-1]


def _short(e: BaseException) -> str:
    lines = [ln for ln in str(e).strip().splitlines() if ln.strip()]
    return f"{type(e).__name__}: {lines[0] if lines else ''}"[:300]
