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
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from scipy.stats import norm

__all__ = ["DEFAULT_COVERAGE", "EXACT_MAX", "RemainingHits", "poisson_binomial", "remaining_hits"]

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
