"""Per-round traces of the agents: every LLM call (prompt, answers, repair turns, tokens,
latency, failure) and how the batch was filled (agent / bo / fallback, validity).

Planners expose ``last_trace`` and ``traces``, and ``notes()`` (:class:`perturbo.protocols.Noting`,
built by :func:`trace_notes`): the loop collects them after each ask and hands them to the
recorder (``perturbo.tracking``, the only MLflow importer) with the round's notes, which logs
:meth:`RoundTrace.to_dict` as a round artifact. API keys never reach these objects: prompts
hold task text and results only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from perturbo.agents.structured import LLMCall
from perturbo.protocols import AGENT_TRACE


@dataclass(frozen=True)
class RoundTrace:
    """One ``ask``: the calls made and who filled the batch.

    ``items_proposed``/``items_valid``: what the model proposed (set ids or genes, over all
    turns' final answer) and how many of those were valid *before* any fallback;
    ``validity`` is their ratio (1.0 where the model proposed nothing invalid).
    """

    planner: str
    n_requested: int
    calls: tuple[LLMCall, ...] = ()
    by_source: dict[str, int] = field(default_factory=dict)
    items_proposed: int = 0
    items_valid: int = 0
    items_valid_first: int = 0
    items_proposed_first: int = 0
    seconds: float = 0.0
    rationale: str = ""

    @property
    def validity(self) -> float:
        return self.items_valid / self.items_proposed if self.items_proposed else 0.0

    @property
    def validity_first(self) -> float:
        """Share valid in the first answer (before any repair turn)."""
        return (
            self.items_valid_first / self.items_proposed_first if self.items_proposed_first else 0.0
        )

    @property
    def repairs(self) -> int:
        return sum(c.repairs for c in self.calls)

    @property
    def tokens(self) -> int:
        return sum(c.input_tokens + c.output_tokens for c in self.calls)

    @property
    def failed(self) -> bool:
        return any(c.failure and not c.ok for c in self.calls)

    def to_dict(self) -> dict[str, Any]:
        return {
            "planner": self.planner,
            "n_requested": self.n_requested,
            "by_source": dict(self.by_source),
            "validity": self.validity,
            "validity_first": self.validity_first,
            "repairs": self.repairs,
            "tokens": self.tokens,
            "seconds": round(self.seconds, 3),
            "rationale": self.rationale,
            "calls": [c.to_dict() for c in self.calls],
        }


def trace_notes(trace: RoundTrace | None) -> dict[str, Any]:
    """An agent planner's notes on its latest ask (:class:`perturbo.protocols.Noting`): its
    trace, where it made one."""
    return {AGENT_TRACE: trace.to_dict()} if trace is not None else {}


__all__ = ["RoundTrace", "trace_notes"]
