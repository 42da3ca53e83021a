"""How many hits are still in the untested library: the number a lab stops on.

Given each untested gene's predicted hit probability ``p_i``, the number of remaining hits is
(if the ``p_i`` are right and the genes independent) a **Poisson-binomial** variable: its mean
``sum p_i`` is the estimate, its central interval at ``coverage`` the range.

- ``method="exact"``: the distribution by the standard convolution recursion (one Bernoulli at
  a time over the support that holds mass, ``p = 0`` / ``p = 1`` genes set aside); exact for independent
  genes. Used by ``"auto"`` when no model variance is added and the number of uncertain genes
  is at most :data:`EXACT_MAX` (an 18k-gene library takes ~0.5 s).
- ``method="normal"``: mean ``sum p``, variance ``sum p(1-p) + model_var``, rounded outward to
  whole genes. Used by ``"auto"`` when ``model_var > 0``: the planner's own uncertainty about
  the probabilities (how wrong the sum may be, e.g. the posterior variance of ``sum f_i``)
  makes the count a mixture of Poisson-binomials, and for a sum over thousands of genes plus a
  Gaussian posterior the normal is the standard, accurate choice (the Poisson-binomial part
  alone has variance ``<= sum p``, which is tiny next to model error on a real library: without
  ``model_var`` the interval is only as honest as the probabilities are calibrated).

**Calibration.** Both methods trust the ``p_i``. A planner's probabilities are learned from
the genes it chose *because* they looked likely, so their sum over the rest of the library can
be far off (the ``bo`` GP's was 0.06x-5.8x the truth on the shipped screens:
``benchmarks/results/lab_calibration.md``). :func:`remaining_from_sample` gives the number a lab
can stop on without trusting them: the genes the planner drew **uniformly at random** (``bo``'s
hedged round 1) are a random sample of the library, so the library's hit rate has the Jeffreys
posterior ``Beta(k + 1/2, n - k + 1/2)`` (``k`` hits in ``n`` sampled genes), truncated to the
rates that allow the ``found`` hits already seen, gives the interval of ``N * rate - found``;
the estimate is the design-unbiased ``N * k / n - found`` (kept inside the interval).
:func:`scaled_to` then rescales the planner's ``p`` so that their sum is that estimate (the
per-gene probabilities a batch sheet shows keep the planner's ranking).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from scipy.stats import beta, norm

__all__ = [
    "DEFAULT_COVERAGE",
    "EXACT_MAX",
    "RemainingHits",
    "poisson_binomial",
    "remaining_from_sample",
    "remaining_hits",
    "scaled_to",
]

DEFAULT_COVERAGE = 0.9
EXACT_MAX = 25_000
_METHODS = ("auto", "exact", "normal")
_TINY = 1e-300


class RemainingHits(NamedTuple):
    """``(estimate, lo, hi)``; ``coverage`` of ``[lo, hi]`` and the ``method`` used ride along."""

    estimate: float
    lo: int
    hi: int
    coverage: float = DEFAULT_COVERAGE
    method: str = "exact"

    def describe(self) -> str:
        return (
            f"about {self.estimate:.0f} hits left in the untested library "
            f"({self.coverage:.0%} interval {self.lo}-{self.hi}, {self.method})"
        )


def poisson_binomial(p: Sequence[float] | np.ndarray) -> np.ndarray:
    """``pmf[k] = P(sum of independent Bernoulli(p_i) == k)`` for ``k = 0..len(p)``."""
    q = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
    n = len(q)
    sure = int(np.sum(q >= 1.0))
    q = q[(q > 0.0) & (q < 1.0)]
    pmf = np.zeros(len(q) + 1)
    pmf[0] = 1.0
    top = 0  # highest k with mass so far: a tail below 1e-300 (an underflow anyway) is cut
    for x in q:
        top += 1
        pmf[1 : top + 1] = pmf[1 : top + 1] * (1.0 - x) + pmf[:top] * x
        pmf[0] *= 1.0 - x
        while top > 0 and pmf[top] < _TINY:
            pmf[top] = 0.0
            top -= 1
    out = np.zeros(n + 1)
    out[sure : sure + len(pmf)] = pmf
    return out


def remaining_hits(
    p_untested: Sequence[float] | np.ndarray,
    *,
    coverage: float = DEFAULT_COVERAGE,
    model_var: float = 0.0,
    method: str = "auto",
) -> RemainingHits:
    """Expected hits among the untested genes (``sum p``) and a central interval at
    ``coverage`` (see the module docstring for the two methods). ``model_var``: extra variance
    of the count from the planner's uncertainty about the ``p`` themselves."""
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    if not 0.0 < coverage < 1.0:
        raise ValueError(f"coverage must be in (0, 1), got {coverage}")
    p = np.clip(np.asarray(p_untested, dtype=float), 0.0, 1.0)
    if not np.all(np.isfinite(p)):
        raise ValueError("p_untested holds NaN or infinite values")
    est = float(p.sum())
    n_uncertain = int(np.sum((p > 0) & (p < 1)))
    if method == "auto":
        method = "exact" if model_var <= 0 and n_uncertain <= EXACT_MAX else "normal"
    alpha = (1.0 - coverage) / 2.0
    if method == "exact":
        cdf = np.cumsum(poisson_binomial(p))
        lo = int(np.searchsorted(cdf, alpha * (1 + 1e-12)))
        hi = int(np.searchsorted(cdf, (1.0 - alpha) * (1 - 1e-12)))
        return RemainingHits(est, lo, min(hi, len(p)), coverage, "exact")
    sd = math.sqrt(float(np.sum(p * (1.0 - p))) + max(model_var, 0.0))
    z = float(norm.ppf(1.0 - alpha))
    lo = max(0, math.floor(est - z * sd))
    hi = min(len(p), math.ceil(est + z * sd))
    return RemainingHits(est, lo, hi, coverage, "normal")


def remaining_from_sample(
    frame_size: int,
    sample_size: int,
    sample_hits: int,
    found_in_frame: int,
    *,
    n_untested: int | None = None,
    coverage: float = DEFAULT_COVERAGE,
) -> RemainingHits:
    """Hits left in the untested library from a uniform random sample (design-based; see the
    module docstring). The ``sample_size`` genes (``sample_hits`` of them hits) were drawn
    uniformly from a *frame* of ``frame_size`` genes that holds every untested gene (the whole
    library, or -- ``bo``'s hedged round 1 -- the library minus the genes the prior picked in the
    same round); ``found_in_frame``: hits recorded so far among the frame's genes (the sample's
    included). ``n_untested`` caps the interval (default ``frame_size - sample_size``).
    Method ``"uniform sample"``; ``ValueError`` without a sample."""
    if sample_size <= 0 or not 0 <= sample_hits <= sample_size or frame_size < sample_size:
        raise ValueError(
            f"need a uniform sample: {sample_hits} hits in {sample_size} of {frame_size} genes"
        )
    n_library, found = frame_size, found_in_frame
    if not 0.0 < coverage < 1.0:
        raise ValueError(f"coverage must be in (0, 1), got {coverage}")
    cap = n_library - sample_size if n_untested is None else n_untested
    post = beta(sample_hits + 0.5, sample_size - sample_hits + 0.5)
    floor = post.cdf(min(1.0, found / n_library))  # the rate allows the hits already found
    alpha = (1.0 - coverage) / 2.0

    at = post.ppf(floor + np.array([alpha, 1.0 - alpha]) * (1.0 - floor)) * n_library - found
    lo = min(cap, max(0, math.floor(float(at[0]))))
    hi = max(lo, min(cap, math.ceil(float(at[1]))))
    # the point estimate is the design-unbiased one (frame * k / n - found); the posterior's
    # mean or median ran 15-60 hits high in simulation (the Jeffreys prior and the truncation
    # lift rare rates); it is kept inside the interval
    est = min(max(n_library * sample_hits / sample_size - found, float(lo)), float(hi))
    return RemainingHits(est, lo, hi, coverage, "uniform sample")


def scaled_to(p: Sequence[float] | np.ndarray, total: float) -> np.ndarray:
    """``p`` (clipped to [0, 1]) rescaled so that it sums to ``total`` with no value above 1
    (mass beyond 1 is spread over the rest); all equal where ``p`` sums to 0."""
    q = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
    total = float(min(max(total, 0.0), len(q)))
    if len(q) == 0:
        return q
    if q.sum() <= 0:
        return np.full(len(q), total / len(q))
    out = q * (total / q.sum())
    for _ in range(50):  # water-filling: cap at 1, hand the excess to the uncapped genes
        over = out > 1.0
        if not over.any():
            break
        excess = float((out[over] - 1.0).sum())
        out[over] = 1.0
        free = out < 1.0
        if not free.any():
            break
        out[free] += (
            excess * out[free] / out[free].sum() if out[free].sum() > 0 else excess / free.sum()
        )
    return out
