"""Where a lab screen stands after each told round: what a lab decides to stop on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from perturbo.types import Observation, Status

__all__ = ["failed_genes", "outlook"]


def outlook(planner: Any, history: Sequence[Observation]) -> tuple[list[str], dict[str, float]]:
    """Where the screen stands after the rounds told: hits found, each round's hit rate, and
    the hits estimated still in the untested library with an interval -- the number a lab
    decides to stop on. Design-based where the planner drew genes uniformly at random
    (``bo``'s hedged round 1: an unbiased sample of the library), since the planner's own
    probabilities are learned from genes it chose for looking likely and their sum was
    0.06x-5.8x the truth on the shipped screens while the design-based interval held its
    coverage (``benchmarks/results/lab_calibration.md``); the planner's sum of predicted
    probabilities (exact Poisson-binomial) where it drew none; nothing where it predicts
    nothing (the agents)."""
    from perturbo.kinds.genetic.experiment import tested_labels
    from perturbo.kinds.genetic.lab.remaining import remaining_from_sample, remaining_hits
    from perturbo.kinds.genetic.screens import normalize_gene

    done = [o for o in history if o.outcome.ok and "hit" in o.outcome.metrics]
    if not done:
        return [], {}
    labels = tested_labels(done)  # gene -> hit, as the round metrics count them
    failed = failed_genes(history) - set(labels)  # dropped: never proposed again
    by_round: dict[int, list[bool]] = {}
    for o in done:
        by_round.setdefault(o.spec.round, []).append(o.outcome.value("hit") > 0.5)
    found = sum(labels.values())
    rates = ", ".join(f"round {r + 1}: {sum(v)}/{len(v)}" for r, v in sorted(by_round.items()))
    n = len(labels)
    lines = [f"{found} hit{'s' * (found != 1)} in {n} gene{'s' * (n != 1)} tested ({rates})"]
    metrics = {"hits_total": float(found), "n_tested": float(len(labels))}
    genes = tuple(getattr(getattr(planner, "screen", None), "genes", ()) or ())
    untested = [g for g in genes if g not in labels and g not in failed]
    if not untested:
        return lines, metrics
    drawn = set(getattr(planner, "uniform_genes", ()) or ()) & set(labels)
    if drawn:
        first = min(by_round)
        picked = {  # by the normalised symbol, as the labels and the planner's draws
            normalize_gene(str(o.spec.params["gene"])) for o in done if o.spec.round == first
        } - drawn
        est = remaining_from_sample(
            len(genes) - len(picked) - len(failed & set(genes)),
            len(drawn),
            sum(labels[g] for g in drawn),
            found - sum(labels[g] for g in picked),
            n_untested=len(untested),
        )
    elif callable(getattr(planner, "posterior", None)):
        p, _ = planner.posterior(untested)
        est = remaining_hits(p)
    else:
        return lines, metrics
    lines.append(f"Still untested ({len(untested)} genes): {est.describe()}")
    metrics.update(
        remaining_hits=float(est.estimate),
        remaining_hits_lo=float(est.lo),
        remaining_hits_hi=float(est.hi),
    )
    return lines, metrics


def failed_genes(history: Sequence[Observation]) -> set[str]:
    """The genes recorded failed (dropped by the lab: no result)."""
    from perturbo.kinds.genetic.screens import normalize_gene

    return {
        normalize_gene(str(o.spec.params["gene"]))
        for o in history
        if o.outcome.status is Status.FAILED and "gene" in o.spec.params
    }
