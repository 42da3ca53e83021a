"""What ``perturbo show`` says of an attack campaign's result in place of its best trial
(:attr:`~perturbo.kindspec.KindSpec.shown_best`).

Under the cascade (the default with ``--objective robust``) each trial after the first attacks
only the samples no trial has broken yet (:mod:`.space`), so its own ``robust_accuracy`` is
over that subset: the first trials, which attacked every sample, have the lowest by
construction, and a "best robust_accuracy" line names one of them whatever the others broke.
The campaign's result is the cascade's robust accuracy over all samples (per sample, the worst
case over every trial: ``worst_case_robust_accuracy``), and the trial worth naming is the one
that broke the most samples first -- as the chat says it (:mod:`perturbo.agents.chat.cascade`).
Without the cascade every trial attacked every sample, and the generic best line is right.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

from perturbo.show_results import fmt
from perturbo.types import CampaignSummary, Observation, finite_float

__all__ = ["shown_best"]


def _metric(summary: CampaignSummary, key: str) -> float | None:
    """The campaign's last ``key``, or the one logged at its end (``final_key``)."""
    v = finite_float(summary.metrics.get(key))
    return v if v is not None else finite_float(summary.metrics.get(f"final_{key}"))


def shown_best(
    summary: CampaignSummary, history: Callable[[], Sequence[Observation]]
) -> list[str] | None:
    """The cascade's lines (see the module docstring); ``None`` for a campaign without it."""
    if str(summary.params.get("cascade", "")).strip().lower() != "true":
        return None
    n = int(finite_float(summary.params.get("samples")) or 0)
    acc = _metric(summary, "worst_case_robust_accuracy")
    over = f"over all {n} samples" if n else "over all samples"
    if acc is None:
        lines = [f"  robust accuracy of the cascade {over}: none yet (not every sample attacked)"]
    else:
        still = _metric(summary, "n_still_robust")
        left = f", {int(still)} still robust" if still is not None else ""
        lines = [
            f"  robust accuracy of the cascade = {fmt(acc)} {over}{left} (per sample, the worst "
            "case over every trial: the campaign's result)"
        ]
    lines.append(
        "  no best single trial: each trial after the first attacks only the samples still "
        "standing, so its own robust_accuracy is over a different sample set"
    )
    return lines + _first_breaker(summary, history(), n)


def _first_breaker(summary: CampaignSummary, history: Sequence[Observation], n: int) -> list[str]:
    """The trial that broke the most samples first (not counting those misclassified without
    an attack; ties: the earlier), with its config."""
    from perturbo.kinds.attack import KIND
    from perturbo.kinds.attack.samples import worst_case
    from perturbo.kindspec import shown_params

    eps = finite_float(summary.params.get("eps"))
    if not n or eps is None or not history:
        return []
    wc = worst_case(history, n, eps)
    first = Counter(who for _, who in wc.table() if who and who != "clean")
    if not first:
        return []
    order = {o.spec.id: i for i, o in enumerate(history)}
    tid = min(first, key=lambda t: (-first[t], order.get(t, len(order))))
    o = next(o for o in history if o.spec.id == tid)
    by = f", planner {o.spec.planner}" if o.spec.planner else ""
    lines = [f"  broke the most samples first: experiment {tid} ({first[tid]} of {n}){by}"]
    shown = shown_params(KIND, o.spec.params).items()
    return lines + [f"    {k} = {fmt(v) if isinstance(v, float) else v}" for k, v in shown]
