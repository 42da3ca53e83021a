"""The answer of a ``--objective min-eps`` campaign, in words and metrics.

Its trials minimise ``eps_score``: the eps where the success rate reaches ``--target-success``,
or, where it does not, a penalty above every feasible eps (:func:`.executor.eps_score`). The
best ``eps_score`` is therefore either an eps or a penalty, and the campaign says which:

- some config reached the target: ``min_eps_at_target`` = the smallest such eps;
- none did: no ``min_eps_at_target``, and the sentence says so plainly.

Either way ``best_success_rate`` (the highest success rate of any config, at eps <= ``--eps``)
and ``best_success_rate_eps`` (the smallest eps it was reached at) go beside it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from perturbo.types import Observation, Status

__all__ = ["MinEpsAnswer", "min_eps_answer"]


@dataclass(frozen=True)
class MinEpsAnswer:
    """What a min-eps campaign found (``None`` fields: not found / not applicable)."""

    target: float
    eps_max: float
    min_eps: float | None = None
    """The smallest eps at which a config reached ``target``."""
    min_eps_trial: str = ""
    best_success: float | None = None
    """The best success rate of any config, at ``best_success_eps``."""
    best_success_eps: float | None = None
    best_success_trial: str = ""

    def metrics(self) -> dict[str, float]:
        out = {} if self.min_eps is None else {"min_eps_at_target": self.min_eps}
        if self.best_success is not None and self.best_success_eps is not None:
            out["best_success_rate"] = self.best_success
            out["best_success_rate_eps"] = self.best_success_eps
        return out

    def line(self) -> str:
        """One sentence: the answer, or plainly that there is none."""
        goal = f"{self.target:.0%} success"
        if self.min_eps is not None:
            return (
                f"smallest eps reaching {goal}: {self.min_eps:.4g} "
                f"(experiment {self.min_eps_trial})"
            )
        if self.best_success is None:
            return f"no experiment completed: no eps reaching {goal} is known"
        return (
            f"no config reached {goal} at eps <= {self.eps_max:g}; the best was "
            f"{self.best_success:.1%} at eps {self.best_success_eps:.4g} "
            f"(experiment {self.best_success_trial}): raise --eps, or lower --target-success"
        )


def min_eps_answer(history: Sequence[Observation], target: float, eps_max: float) -> MinEpsAnswer:
    """The answer over the completed trials of ``history``."""
    rows: list[tuple[float, float, str]] = []  # (eps, success rate, trial id)
    for o in history:
        if o.outcome.status is not Status.COMPLETED:
            continue
        m = o.outcome.metrics
        eps = float(m.get("eps", o.spec.params.get("eps", math.nan)))
        success = float(m.get("success_rate", math.nan))
        if math.isfinite(eps) and math.isfinite(success):
            rows.append((eps, success, o.spec.id))
    if not rows:
        return MinEpsAnswer(target, eps_max)
    eps, success, trial = min(rows, key=lambda r: (-r[1], r[0]))
    best = MinEpsAnswer(
        target, eps_max, best_success=success, best_success_eps=eps, best_success_trial=trial
    )
    reached = [r for r in rows if r[1] >= target]
    if not reached:
        return best
    eps, _, trial = min(reached, key=lambda r: r[0])
    return replace(best, min_eps=eps, min_eps_trial=trial)
