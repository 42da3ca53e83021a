"""Rebuild a planner's state from what the store recorded, by replaying the campaign.

A planner's state is more than its history: a seeded RNG advanced by every ask, the genes it
drew uniformly, the batch it split. Telling a fresh planner the whole history at once (what
``perturbo resume`` does) gives a planner that knows the same results but would not propose
what the campaign's own planner would. Between a lab's rounds no process lives, so every
``tell`` rebuilds the planner here the one way that reproduces it exactly: the same sequence
of calls the campaign loop made -- for each recorded round, ``ask`` for as many proposals as
the round held (with nothing in flight), then ``tell`` it the round's observations in
recorded order. A replayed ask that differs from the recorded round is reported (the planner
or its inputs changed since), never silently used.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from perturbo.history import History
from perturbo.protocols import Planner, Space
from perturbo.types import ExperimentSpec, Observation

__all__ = ["NoPool", "by_round", "replay", "replay_trials", "same_batch"]


class NoPool:
    """The loop's steps' pool while a lab campaign proposes: nothing in flight, nothing runs."""

    def in_flight(self) -> list[ExperimentSpec]:
        return []

    def submit(self, specs: Sequence[ExperimentSpec], timeout_s: float | None = None) -> None:
        raise RuntimeError("a lab campaign runs nothing in perturbo")

    def wait(self, timeout_s: float) -> list[Observation]:
        return []

    def free_slots(self) -> int:
        return 0

    def close(self) -> None:
        pass


def by_round(history: Sequence[Observation]) -> list[tuple[int, list[Observation]]]:
    """The history's rounds in order, each with its observations in recorded order."""
    rounds: dict[int, list[Observation]] = {}
    for o in history:
        rounds.setdefault(o.spec.round, []).append(o)
    return sorted(rounds.items())


def same_batch(space: Space, asked: Sequence[ExperimentSpec], recorded: Sequence[Any]) -> bool:
    """Whether ``asked`` proposes what ``recorded`` (specs or observations) held, in order."""
    specs = [getattr(r, "spec", r) for r in recorded]
    if len(asked) != len(specs):
        return False
    try:
        return all(
            space.key(space.validate(a.params)) == space.key(s.params)
            for a, s in zip(asked, specs, strict=True)
        )
    except Exception:  # noqa: BLE001 - an invalid replayed proposal differs
        return False


def replay(
    planner: Planner, space: Space, history: History, corrections: Sequence[Any] = ()
) -> list[int]:
    """Bring a freshly built ``planner`` to the state the campaign loop left it in after the
    recorded rounds of ``history``; return the rounds whose replayed ask differed from what
    was recorded (empty: the rebuilt planner is the campaign's own). Each of ``corrections``
    (:mod:`perturbo.lab.corrections`) is told before the first round proposed after it, so
    every round replays from the values it was proposed from."""
    from perturbo.lab.corrections import due, tell_corrections

    diverged: list[int] = []
    told = 0
    for r, obs in by_round(history):
        now = due(corrections, r)
        if len(now) > told:
            tell_corrections(planner, history, now[told:])
            told = len(now)
        asked = list(planner.ask(len(obs), pending=[]))[: len(obs)]
        if not same_batch(space, asked, obs):
            diverged.append(r)
        planner.tell(obs)
    return diverged


def replay_trials(planner: Any, space: Any, history: History, state: Any) -> list[int]:
    """Bring a fresh ``planner`` to where a trial lab campaign's steps left it
    (:mod:`perturbo.lab.trials`; ``state``: its ask log,
    :class:`~perturbo.lab.trial_state.TrialsState`): for each logged ask, first tell it the
    rounds recorded before that ask, then ask as that step did (the same ``n``, the same
    pending trials); then tell it the rest. Returns the asks whose replayed
    proposals differ from what was handed out (empty: the rebuilt planner is the campaign's)."""
    rounds = by_round(history)
    spec_of = {o.spec.id: o.spec for o in history} | {s.id: s for s in state.open}
    diverged, i = [], 0
    for k, a in enumerate(state.asks):
        while i < len(rounds) and rounds[i][0] <= int(a["after"]):
            planner.tell(rounds[i][1])
            i += 1
        pending = [spec_of[t] for t in a["pending"] if t in spec_of]
        asked = list(planner.ask(int(a["n"]), pending=pending))[: int(a["n"])]
        if not same_batch(space, asked, [spec_of[t] for t in a["got"] if t in spec_of]):
            diverged.append(k)
    for _, obs in rounds[i:]:
        planner.tell(obs)
    return diverged
