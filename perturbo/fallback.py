"""Saying so when a campaign's agent planner fell back.

An LLM planner that gets no usable answer (an unreachable ``--llm-base-url``, a model that
answers nonsense) fills its batch from a fallback planner and marks those experiments
``planner="fallback"`` (:mod:`perturbo.agents.space_agent`, :mod:`perturbo.kinds.genetic.agent.genetic`).
A campaign that fell back every round is a random search recorded as an agent's, so the
campaign says so in three places:

- its record: the round metric :data:`METRIC` (rounds so far in which the fallback chose at
  least one experiment) on the parent run, through :class:`CountFallbacks`;
- its output: one warning line at the end (:meth:`FallbackReport.line`);
- its exit status: :data:`EXIT_FELL_BACK` from ``perturbo run`` / ``resume``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from perturbo.types import Observation

FALLBACK = "fallback"
"""``ExperimentSpec.planner`` of an experiment the fallback planner chose."""
AGENT_MARKS = frozenset({"agent", FALLBACK})
"""Planner marks of a campaign an agent plans (its own proposals, its fallback's)."""
METRIC = "planner_fallback_rounds"
EXIT_FELL_BACK = 3
"""``perturbo run`` / ``resume`` exit status of a campaign that finished, but whose agent
planner fell back in at least one round (0: it never did; 2: an error)."""


@dataclass(frozen=True)
class FallbackReport:
    """How much of a campaign the fallback planner chose."""

    rounds: int
    of_rounds: int
    experiments: int
    of_experiments: int
    why: str

    def line(self) -> str:
        every = "every round" if self.rounds == self.of_rounds else None
        where = every or f"{self.rounds} of {self.of_rounds} rounds"
        return (
            f"the agent planner fell back in {where}: "
            f"{self.experiments} of {self.of_experiments} experiments were chosen by its "
            f"fallback, not the LLM ({self.why}); check --llm / --llm-base-url / --llm-model "
            f"(metric {METRIC} records it)"
        )


def _rounds(history: Sequence[Observation]) -> tuple[set[int], set[int]]:
    """(rounds an agent planned, rounds in which its fallback chose an experiment)."""
    agent: set[int] = set()
    fell: set[int] = set()
    for o in history:
        if o.spec.planner in AGENT_MARKS:
            agent.add(o.spec.round)
        if o.spec.planner == FALLBACK:
            fell.add(o.spec.round)
    return agent, fell


def fallback_report(history: Sequence[Observation]) -> FallbackReport | None:
    """What the fallback chose in ``history``; ``None`` where it chose nothing."""
    agent, fell = _rounds(history)
    if not fell:
        return None
    mine = [o for o in history if o.spec.planner in AGENT_MARKS]
    chosen = [o for o in mine if o.spec.planner == FALLBACK]
    notes = Counter(
        (o.spec.note or "no reason recorded").removeprefix("fallback: ")[:200] for o in chosen
    )
    why = notes.most_common(1)[0][0]
    return FallbackReport(len(fell), len(agent), len(chosen), len(mine), why)


class CountFallbacks:
    """A kind's round metrics plus :data:`METRIC`, wherever an agent plans the campaign."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __getattr__(self, attr: str) -> Any:
        if attr == "inner":
            raise AttributeError(attr)
        return getattr(self.inner, attr)

    def __call__(
        self, round_obs: Sequence[Observation], history: Sequence[Observation]
    ) -> dict[str, float]:
        got = self.inner(round_obs, history) if self.inner is not None else {}
        out = dict(got)
        agent, fell = _rounds(history)
        if agent:
            out[METRIC] = float(len(fell))
        if isinstance(got, dict) and hasattr(got, "params"):  # final metrics with params
            got.update(out)  # (the attack kind's stopped_by): keep the object they ride on
            return got
        return out


__all__ = [
    "EXIT_FELL_BACK",
    "FALLBACK",
    "METRIC",
    "CountFallbacks",
    "FallbackReport",
    "fallback_report",
]
