"""How the chat scores a campaign's experiments: the number format (:func:`fmt`), the best
completed experiments by an objective (:func:`best_of`), a 0/1 hit label (:func:`hit_metric_of`),
and each planner's share (:class:`PlannerStats`)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from perturbo.types import Observation, Status

__all__ = ["Best", "PlannerStats", "best_of", "fmt", "hit_metric_of"]


def fmt(v: Any) -> str:
    """A number as the chat prints it (4 significant digits; integers as integers)."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        return str(v)
    f = float(v)
    if not math.isfinite(f):
        return str(f)
    if f == int(f) and abs(f) < 1e12:
        return str(int(f))
    return f"{f:.4g}"


@dataclass(frozen=True)
class Best:
    """The best completed experiment of a campaign (by its objective)."""

    id: str
    round: int
    planner: str
    value: float
    params: Mapping[str, Any]
    metrics: Mapping[str, float] = field(default_factory=dict)

    def line(self, objective: str) -> str:
        params = ", ".join(f"{k}={fmt(v)}" for k, v in self.params.items() if 0 < len(str(v)) <= 24)
        other = ", ".join(f"{k} {fmt(v)}" for k, v in list(self.metrics.items())[:6])
        return (
            f"{self.id} (round {self.round + 1}, planner {self.planner or '?'}): "
            f"{objective} = {fmt(self.value)} with {params}" + (f" ({other})" if other else "")
        )


def hit_metric_of(history: Sequence[Observation]) -> str | None:
    """A metric that is 0/1 on every completed outcome (a screen's hit label), if any."""
    done = [o for o in history if o.outcome.status is Status.COMPLETED]
    if not done:
        return None
    for key in done[0].outcome.metrics:
        if all(o.outcome.metrics.get(key) in (0.0, 1.0) for o in done):
            return key
    return None


def best_of(
    history: Sequence[Observation], objective: str, direction: str, n: int = 3
) -> list[Best]:
    """The ``n`` best completed experiments by ``objective`` (``direction`` min or max; of a
    multi-fidelity campaign, among those at its top fidelity)."""
    from perturbo.objective import at_top_fidelity

    done = [
        o
        for o in history
        if o.outcome.status is Status.COMPLETED
        and math.isfinite(o.outcome.metrics.get(objective, math.nan))
    ]
    done = at_top_fidelity(done)
    sign = -1.0 if direction == "min" else 1.0
    done.sort(key=lambda o: -sign * o.outcome.metrics[objective])
    return [
        Best(
            o.spec.id,
            o.spec.round,
            o.spec.planner,
            float(o.outcome.metrics[objective]),
            dict(o.spec.params),
            _other_metrics(o, objective),
        )
        for o in done[:n]
    ]


_QUIET = ("seconds", "model_loads", "n_samples", "forward_passes", "backward_passes")


def _other_metrics(o: Observation, objective: str) -> dict[str, float]:
    """The experiment's other readable metrics (no bit-packed masks, no timings)."""
    return {
        k: float(v)
        for k, v in o.outcome.metrics.items()
        if k != objective
        and k not in _QUIET
        and "_bits" not in k
        and not k.startswith("_")
        and math.isfinite(float(v))
        and abs(float(v)) < 1e12
    }


@dataclass(frozen=True)
class PlannerStats:
    name: str
    n: int
    completed: int
    best: float | None = None
    hits: int | None = None
    broke: int | None = None
    """Samples its trials broke first (trials measured on different samples, see
    :mod:`perturbo.agents.chat.cascade`), where that replaces a best value."""

    def line(self, objective: str) -> str:
        out = f"{self.name}: {self.n} experiments, {self.completed} completed"
        if self.hits is not None:
            out += f", {self.hits} hits"
        if self.broke is not None:
            out += f", broke {self.broke} samples first"
        if self.best is not None:
            out += f", best {objective} = {fmt(self.best)}"
        return out
