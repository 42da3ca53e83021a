"""The attack kind's Pareto plot: success rate vs median perturbation norm (colour: passes),
the non-dominated trials joined, over trials that attacked the same samples.

Under the cascade (``--objective robust``, the default) each trial attacks only the samples
still robust when it starts, so its success rate, norms and passes are over a different
subset from the next trial's: a front across them compares nothing. The plot draws the largest
group of trials on one subset (usually the opening round, on every sample) and says how many
it left out; with fewer than two trials on a subset it draws nothing. Without the cascade
(``--objective pareto`` or ``--no-cascade``) every trial attacks every sample: all are drawn.
"""

from __future__ import annotations

import math
from typing import Any

from perturbo.plots import PlotData, _figure, set_title
from perturbo.types import Observation, Status


def same_samples(data: PlotData) -> tuple[list[Observation], int]:
    """The completed trials that attacked the same samples, the largest such group (ties: the
    one over more samples, then the earliest), and how many completed trials ran on other
    subsets. Without the cascade every trial attacks every sample: all of them. Under the
    cascade each trial's success rate, norms and passes are over the samples still standing
    when it started, so only trials on one subset compare (usually the opening round's, on
    every sample)."""
    done = [o for o in data.history if o.outcome.status is Status.COMPLETED]
    groups: dict[str, list[Observation]] = {}
    for o in done:
        groups.setdefault(str(o.spec.params.get("samples", "")), []).append(o)
    if not groups:
        return [], 0

    def size(mask: str) -> int:
        return bin(int(mask, 16)).count("1") if mask else 1 << 30

    key = max(groups, key=lambda k: (len(groups[k]), size(k)))
    return groups[key], len(done) - len(groups[key])


def pareto_plot(data: PlotData) -> dict[str, Any]:
    """Success rate vs median norm (colour: passes) of the trials that attacked the same
    samples (:func:`same_samples`): under the cascade, trials on other subsets are left out
    and counted in the title; no plot where fewer than two trials share a subset."""
    group, others = same_samples(data)
    done = [o for o in group if o.outcome.value("success_rate") > 0]
    if len(done) < 2:
        return {}
    s = [o.outcome.value("success_rate") for o in done]
    nrm = [o.outcome.value("median_norm") for o in done]
    passes = [o.outcome.value("passes") for o in done]
    front = [
        i
        for i in range(len(done))
        if not any(
            s[j] >= s[i]
            and nrm[j] <= nrm[i]
            and passes[j] <= passes[i]
            and (s[j], nrm[j], passes[j]) != (s[i], nrm[i], passes[i])
            for j in range(len(done))
        )
    ]
    fig = _figure(7.0, 4.5)
    ax = fig.add_subplot()
    sc = ax.scatter(nrm, s, c=[math.log10(max(p, 1.0)) for p in passes], cmap="viridis", s=20)
    fig.colorbar(sc, ax=ax, label="log10 passes")
    fr = sorted(front, key=lambda i: nrm[i])
    ax.plot(
        [nrm[i] for i in fr],
        [s[i] for i in fr],
        color="C3",
        marker="o",
        mfc="none",
        label="Pareto front (success, norm, passes)",
    )
    ax.set_xlabel("median perturbation norm of successes")
    ax.set_ylabel("success rate")
    what = "Pareto front: success rate, perturbation size, passes"
    if others:
        n_att = int(done[0].outcome.metrics.get("n_attacked", 0.0))
        what += (
            f" ({len(group)} trials on the same {n_att} samples; {others} trial"
            f"{'s' if others != 1 else ''} the cascade ran on other subsets not drawn)"
        )
    set_title(ax, data.campaign, what, share=0.7)
    ax.grid(True, alpha=0.3)
    ax.legend()
    return {"pareto_front.png": fig}


__all__ = ["pareto_plot", "same_samples"]
