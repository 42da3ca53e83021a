"""An attack campaign's round metrics (the per-sample worst case first), its final ones (why
it ended, the certified bound, a min-eps campaign's answer), and :class:`AttackStop`, the stop
rule that remembers which of its limits ended the campaign."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from perturbo.campaign import StopRule
from perturbo.history import History
from perturbo.types import Observation, Status, counted

__all__ = ["AttackMetrics", "AttackStop", "Final"]


@dataclass(frozen=True)
class AttackStop(StopRule):
    """A :class:`~perturbo.campaign.StopRule` that notes the reason it gave the loop (in
    ``fired``, a list shared by the copies the composition root makes of it), so the end of
    the campaign names the limit that ended it (``--max-seconds``) instead of guessing."""

    fired: list[str] = field(default_factory=list, compare=False)

    def reason(self, history: History, next_round: int, started: float) -> str | None:
        why = super().reason(history, next_round, started)
        if why is not None and not self.fired:
            self.fired.append(why)
        return why


class AttackMetrics:
    """Round metrics: the worst case over all trials so far, first (the progress display
    and ``perturbo show`` lead with it), and the trial counts and compute spent."""

    def __init__(
        self,
        n: int,
        eps: float,
        objective: str,
        direction: str,
        planner: Any = None,
        trials: int | None = None,
        certifier: Any = None,
        target_success: float | None = None,
        stop: AttackStop | None = None,
    ) -> None:
        self.n, self.eps, self.objective, self.direction = n, eps, objective, direction
        self.target_success = target_success
        self.stop = stop
        """The campaign's stop rule: which of its limits fired, if one did."""
        """min-eps campaigns: the success rate an eps must reach (:mod:`.min_eps`)."""
        self.planner, self.trials = planner, trials
        self.certifier = certifier
        """Called once at the end with the worst case: the certified lower bound
        (:class:`~perturbo.kinds.attack.report.Certifier`)."""
        self.subsets = bool(getattr(planner, "cascade", False)) and objective == "robust_accuracy"
        """Trials measured on different sample subsets: no 'best trial' figure beside the
        worst case (the progress line shows only figures over all samples)."""

    def stopped_by(self, history: Sequence[Observation]) -> str:
        """Which limit ended the campaign (asked at its end)."""
        why = getattr(self.planner, "stopped_by", None)
        if why:
            return str(why)
        ran = sum(o.outcome.status is not Status.REJECTED for o in history)
        if self.trials is not None and ran >= self.trials:
            return f"trial budget spent: {ran} of --trials {self.trials}"
        fired = self.stop.fired[0] if self.stop is not None and self.stop.fired else ""
        if fired and self.stop is not None and fired.startswith("wall clock"):
            return (
                f"--max-seconds {self.stop.wall_clock_s:g} reached ({counted(ran, 'configs')} ran)"
            )
        if fired:
            return fired  # `perturbo stop`'s request, or the loop's own limit, in its words
        if self.stop is not None:  # no limit fired: the loop ran out of proposals
            return "the planner proposed no new config that could run"
        return "ended from outside (wall clock, rounds, `perturbo stop` or no proposals)"

    def __call__(
        self, round_obs: Sequence[Observation], history: Sequence[Observation]
    ) -> dict[str, float]:
        from perturbo.kinds.attack.samples import worst_case

        wc = worst_case(history, self.n, self.eps)
        done = [o for o in history if o.outcome.status is Status.COMPLETED]
        out: dict[str, float] = {}
        acc = wc.accuracy()
        if math.isfinite(acc):
            out["worst_case_robust_accuracy"] = acc
        if wc.attacked.any():  # else unknown, not 0 ("every sample broken")
            out["n_still_robust"] = float(wc.robust.sum())
        vals = [o.outcome.value(self.objective) for o in done]
        vals = [v for v in vals if math.isfinite(v)]
        if vals and not self.subsets:  # under the cascade each trial saw other samples
            out[f"best_{self.objective}"] = max(vals) if self.direction == "max" else min(vals)
        passes = [o.outcome.metrics.get("passes", math.nan) for o in history]
        spent = float(sum(p for p in passes if math.isfinite(p)))
        if done or spent:  # else nothing ran to its end or counted its compute: unknown
            out["passes_total"] = spent
        out["n_completed"] = float(len(done))
        out["n_failed"] = float(sum(o.outcome.status is Status.FAILED for o in history))
        answer = None
        if self.objective == "eps_score" and self.target_success is not None:
            from perturbo.kinds.attack.min_eps import min_eps_answer

            answer = min_eps_answer(history, self.target_success, self.eps)
            out.update(answer.metrics())  # an eps, where eps_score may be a penalty
        if not round_obs and self.planner is not None:  # the end of the campaign
            why = self.stopped_by(history)
            from perturbo.progress import phase

            phase(f"  attack campaign stopped by {why}")
            params = {"stopped_by": why}
            if answer is not None:
                phase(f"  {answer.line()}")
                params["min_eps_result"] = answer.line()
            if self.certifier is not None:  # "certified >= L, attacked <= U" (report.py)
                if getattr(self.certifier, "mode", "") != "off":  # off: nothing to bound
                    phase("  bounding the attacked samples (--certify) ...")
                cert = self.certifier(wc)
                phase(f"  {cert.line()}")
                out.update(cert.metrics())  # metrics, not params: a resumed campaign ends again
            return Final(out, params=params)
        return out


class Final(dict):  # type: ignore[type-arg]
    """The final round metrics, with ``params`` for the recorder to log beside them (which
    limit ended the campaign)."""

    def __init__(self, metrics: Mapping[str, float], params: Mapping[str, str]) -> None:
        super().__init__(metrics)
        self.params = dict(params)
