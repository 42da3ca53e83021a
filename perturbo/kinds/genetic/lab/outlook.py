"""Where a lab screen stands after each told round: what a lab decides to stop on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from perturbo.kinds.genetic.lab.sheet import RANDOM_PLANNER
from perturbo.types import Observation, Status

__all__ = ["failed_genes", "outlook"]


def outlook(planner: Any, history: Sequence[Observation]) -> tuple[list[str], dict[str, float]]:
    """Where the screen stands after the rounds told: hits found, each round's hit rate, and
    the hits estimated still in the untested library with an interval -- the number a lab
    decides to stop on. Design-based where the planner drew genes uniformly at random
    (``bo``'s hedged round 1: an unbiased sample of the library; every round of ``--planner
    random``, together one such sample), since the planner's own
    probabilities are learned from genes it chose for looking likely and their sum was
    0.06x-5.8x the truth on the shipped screens while the design-based interval held its
    coverage (``benchmarks/results/lab_calibration.md``); the planner's sum of predicted
    probabilities (exact Poisson-binomial) where it drew none; nothing where it predicts
    nothing (the agents). A sample with no hits, or a small one, is said as such
    (:func:`_sample_words`)."""
    from perturbo.kinds.genetic.experiment import tested_labels
    from perturbo.kinds.genetic.lab.remaining import remaining_from_sample, remaining_hits

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
    genes = _library(planner)
    untested = [g for g in genes if g not in labels and g not in failed]
    if not untested:
        return lines, metrics
    drawn = set(getattr(planner, "uniform_genes", ()) or ()) & set(labels)
    chosen: set[str] = set()  # genes picked otherwise before the draws: outside the frame
    if not drawn and getattr(planner, "name", "") == RANDOM_PLANNER:
        # every pick of --planner random is uniform among the untested (pins excepted): all
        # its rounds together are one uniform sample of the library without the pins
        drawn = {_gene(o) for o in done if o.spec.planner == RANDOM_PLANNER} & set(labels)
        chosen = set(labels) - drawn
        sample = "uniform sample of all rounds"
    elif drawn:
        first = min(by_round)
        chosen = {_gene(o) for o in done if o.spec.round == first} - drawn
        sample = "round 1's uniform sample"
    if drawn:
        k = sum(labels[g] for g in drawn)
        in_frame = found - sum(labels[g] for g in chosen)
        est = remaining_from_sample(
            len(genes) - len(chosen) - len(failed & set(genes)),
            len(drawn),
            k,
            in_frame,
            n_untested=len(untested),
        )
        said = _sample_words(est, sample, len(drawn), k, in_frame - k)
    elif callable(getattr(planner, "posterior", None)):
        p, _ = planner.posterior(untested)
        est = remaining_hits(p)
        said = est.describe()
    else:
        return lines, metrics
    lines.append(f"Still untested ({len(untested)} genes): {said}")
    metrics.update(
        remaining_hits=float(est.estimate),
        remaining_hits_lo=float(est.lo),
        remaining_hits_hi=float(est.hi),
    )
    return lines, metrics


SMALL_SAMPLE = 30
"""A uniform sample of fewer genes (or with fewer than 3 hits) says its estimate is rough."""


def _sample_words(est: Any, sample: str, n: int, k: int, outside: int) -> str:
    """The design-based estimate in words. A sample with no hits has no point estimate worth
    saying ("about 0 left" invites a stop): its upper bound is said, with the hits later rounds
    found outside it, which show the library's rate is not 0; a small sample says so."""
    genes = f"{n} gene{'s' * (n != 1)}"
    found = (
        f"; later rounds found {outside} hit{'s' * (outside != 1)} outside it, so more remain"
        if outside > 0
        else ""
    )
    if k == 0 or (round(est.estimate) == 0 and outside > 0):
        had = "no hits" if k == 0 else f"{k} hit{'s' * (k != 1)}"
        return (
            f"{sample} of {genes} had {had}: up to {est.hi} hits may be left in the "
            f"untested library ({est.coverage:.0%} upper end){found}"
        )
    text = (
        f"about {est.estimate:.0f} hits left in the untested library "
        f"({est.coverage:.0%} interval {est.lo}-{est.hi}, uniform sample"
    )
    if n < SMALL_SAMPLE or k < 3:
        hits = f"{k} hit{'s' * (k != 1)}"
        return f"{text}: {sample} of {genes} had {hits}, a small sample: go by the interval){found}"
    return text + ")"


def _library(planner: Any) -> tuple[str, ...]:
    """The library's genes (normalised): the gene planner's screen, or the space a uniform
    random planner draws from (``--planner random``: its space, a private attribute)."""
    genes = getattr(getattr(planner, "screen", None), "genes", None)
    if genes is None:
        genes = getattr(getattr(planner, "_space", None), "genes", None)
    return tuple(genes or ())


def _gene(o: Observation) -> str:
    from perturbo.kinds.genetic.screens import normalize_gene

    return normalize_gene(str(o.spec.params["gene"]))


def failed_genes(history: Sequence[Observation]) -> set[str]:
    """The genes recorded failed (dropped by the lab: no result)."""
    from perturbo.kinds.genetic.screens import normalize_gene

    return {
        normalize_gene(str(o.spec.params["gene"]))
        for o in history
        if o.outcome.status is Status.FAILED and "gene" in o.spec.params
    }
