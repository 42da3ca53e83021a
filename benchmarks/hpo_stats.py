"""Regret statistics of ``benchmarks/hyperparameter.py``'s report: a cell's regrets at a
checkpoint, medians, and ``bo`` against a peer by a Mann-Whitney U test.

Seeds are not paired across planners (seed 3 of ``bo`` and seed 3 of a peer share nothing but the
number), so beside the medians each peer's regret distribution at 50 evaluations is compared
with ``bo``'s by a two-sided Mann-Whitney U test (``scipy.stats.mannwhitneyu``, its p-value from
the permutation distribution: exact for small samples, else 9,999 seeded resamples; right with
ties, such as several runs at regret 0) where both have at least ``MIN_TEST_SEEDS`` seeds:
p < ``ALPHA`` counts as a significant difference.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

TIE = 1e-9  # medians within this (absolute, in normalised regret) are a tie
ALPHA = 0.05  # Mann-Whitney U p-value below which bo's and a peer's regrets differ
MIN_TEST_SEEDS = 3  # fewer seeds on either side: no test (1 vs 10 can never reach p < 0.05)
PAIRED_SAME = 1e-12  # paired runs (the same seed of two settings) within this end the same


def at(curves: dict[tuple[str, str], np.ndarray], t: str, p: str, c: int) -> np.ndarray:
    if (t, p) not in curves or curves[t, p].shape[1] < c:
        return np.array([])
    col = curves[t, p][:, c - 1]
    return col[~np.isnan(col)]


def medians(
    curves: Any, tasks: list[str], planners: list[str], c: int
) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for t in tasks:
        out[t] = {
            p: float(np.median(at(curves, t, p, c))) for p in planners if len(at(curves, t, p, c))
        }
    return out


def compare(bo: np.ndarray, peer: np.ndarray) -> tuple[float, int] | None:
    """(two-sided Mann-Whitney U p-value, sign): sign -1 = ``bo``'s regrets tend lower (better),
    +1 higher, 0 neither. None when either side has fewer than ``MIN_TEST_SEEDS`` seeds."""
    if min(len(bo), len(peer)) < MIN_TEST_SEEDS:
        return None
    if np.ptp(np.concatenate([bo, peer])) <= TIE:  # all equal (e.g. every run at the optimum)
        return 1.0, 0
    return _mwu(tuple(map(float, bo)), tuple(map(float, peer)))


@functools.lru_cache(maxsize=4096)
def _mwu(bo: tuple[float, ...], peer: tuple[float, ...]) -> tuple[float, int]:
    from scipy.stats import PermutationMethod, mannwhitneyu

    method = PermutationMethod(n_resamples=9999, rng=0)
    res = mannwhitneyu(bo, peer, alternative="two-sided", method=method)
    half = len(bo) * len(peer) / 2  # U counts the pairs where bo's regret is the higher one
    return float(res.pvalue), int(np.sign(res.statistic - half))


def significant(curves: Any, t: str, p: str, c: int) -> int:
    """-1 / +1: ``bo`` significantly better / worse than ``p`` on ``t``; 0: not (or untested)."""
    r = compare(at(curves, t, "bo", c), at(curves, t, p, c)) if p != "bo" else None
    return r[1] if r is not None and r[0] < ALPHA else 0


def paired_signs(a: np.ndarray, b: np.ndarray) -> tuple[int, int, int]:
    """On how many seeds ``a`` ends lower / the same / higher than ``b`` (the same seed of two
    settings of one planner, so paired; the first ``min(len)`` seeds of each)."""
    k = min(len(a), len(b))
    d = np.asarray(a[:k]) - np.asarray(b[:k])
    lower, same = (d < -PAIRED_SAME).sum(), (np.abs(d) <= PAIRED_SAME).sum()
    return int(lower), int(same), int((d > PAIRED_SAME).sum())


def sign_test(lower: int, higher: int) -> float:
    """Two-sided sign test over the pairs that differ (NaN when none does)."""
    from scipy.stats import binomtest

    return binomtest(lower, lower + higher).pvalue if lower + higher else float("nan")


__all__ = [
    "ALPHA",
    "MIN_TEST_SEEDS",
    "PAIRED_SAME",
    "TIE",
    "at",
    "compare",
    "medians",
    "paired_signs",
    "sign_test",
    "significant",
]
