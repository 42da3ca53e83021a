"""What the gene planner's GP regresses: the 0/1 hit label, the measured score, or a blend --
chosen every round from the campaign's own data.

Every experiment returns the gene's measured score as well as its hit label (BioDiscoveryAgent's
agent is shown both: "all tested genes and their measured log fold change"). The label throws
information away: a gene just short of the hit threshold says its neighbourhood matters, and a
round with no hit says nothing at all. The score keeps it, but whether the score of non-hits
follows gene-set structure is a property of the screen, not of the method: over whole
campaigns (text prior, hedged round 1; ``benchmarks/results/genetic.md``) regressing the score
alone moved Scharenberg22 (a one-tailed count phenotype) 0.324 -> 0.391, but IFNG 0.101 ->
0.087 and Carnevale22 0.051 -> 0.044 (``docs/findings/genetic-equal-information.md``). So
each round the planner fits one GP per blend in :data:`MIXES` and keeps the one whose
**leave-one-out** predictions rank the tested
genes' hits best (AUC of the closed-form GP LOO means, Rasmussen & Williams sec. 5.4.2) --
selection by cross-validation on the campaign's own labels, not by a constant -- if it beats
the labels alone by one paired standard error (DeLong): the labels stay the default until the
campaign's data say otherwise. Without that guard a synthetic screen whose non-hit scores are
noise lost 13% of its hits (a variant measured while building this; the guarded choice is
``tests/search/test_gene_target.py``); with it Scharenberg22 gains less (0.324 -> 0.333 on the
benchmark's 30 seeds, 0.349 on 100; unguarded ~0.375), IFNG / IL2 / Carnevale22 are unchanged.

The score target is the tail the screen's hits come from (:attr:`ScreenView.hit_tail`:
``high``, ``low`` or ``both`` = distance from the median of the uniformly sampled genes),
Gaussianised by rank among the tested genes and put on the label's scale (its mean and sd), so
the prior-mean weights and the posterior mean keep the meaning of an estimated P(hit).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy.special import ndtri
from scipy.stats import rankdata

from perturbo.kinds.genetic.planners import gene_gp

__all__ = [
    "MIN_HITS",
    "MIXES",
    "TARGETS",
    "auc_diff_se",
    "choose",
    "loo_auc",
    "loo_means",
    "score_target",
]

TARGETS = ("auto", "hits", "scores")
"""``hits``: the 0/1 label only (the planner before this module); ``scores``: the score only;
``auto``: chosen each round among :data:`MIXES` by leave-one-out hit ranking."""
MIXES = (0.0, 0.5, 1.0)
"""Share of the score target in the regressed value (0 = label only). Three points: a finer
grid is chosen by the same noisy AUC, so it would mostly add selection noise."""


def score_target(
    scores: np.ndarray, labels: np.ndarray, tail: str, centre: float, floor_var: float
) -> np.ndarray:
    """The tail of ``scores`` the hits come from, Gaussianised by rank and put on the scale of
    ``labels`` (their mean; their sd, at least ``sqrt(floor_var)`` so a round without a hit
    still carries the scores' information)."""
    a = {"both": np.abs(scores - centre), "high": scores, "low": -scores}[tail]
    z = ndtri(rankdata(a) / (len(a) + 1.0))
    return float(labels.mean()) + math.sqrt(max(float(labels.var()), floor_var)) * z


def loo_means(f: gene_gp.GPFit, y: np.ndarray) -> np.ndarray:
    """The fit's leave-one-out means at its tested genes, in closed form:
    ``mu_-i = y_i - alpha_i / [Sigma^-1]_ii`` (hyper-parameters and mean function held fixed)."""
    dinv = (f.eig_u**2 / f.eig_e).sum(axis=1)
    return y - f.alpha / dinv


def loo_auc(f: gene_gp.GPFit, y: np.ndarray, labels: np.ndarray) -> float:
    """AUC of the fit's leave-one-out means against the 0/1 ``labels`` (0.5 = chance)."""
    return _auc(loo_means(f, y), labels)


def _auc(x: np.ndarray, labels: np.ndarray) -> float:
    pos = labels > 0.5
    n1 = int(pos.sum())
    n0 = len(labels) - n1
    if n1 == 0 or n0 == 0:
        return 0.5
    r = rankdata(x)
    return float((r[pos].sum() - n1 * (n1 + 1) / 2.0) / (n1 * n0))


def auc_diff_se(a: np.ndarray, b: np.ndarray, labels: np.ndarray) -> float:
    """Standard error of AUC(a) - AUC(b) for two scorings of the same genes (DeLong et al.
    1988: the paired variance from each positive's and each negative's placement values)."""
    pos = labels > 0.5

    def placements(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        d = x[pos][:, None] - x[~pos][None, :]
        psi = (d > 0) + 0.5 * (d == 0)
        return psi.mean(axis=1), psi.mean(axis=0)

    (a10, a01), (b10, b01) = placements(a), placements(b)
    n1, n0 = len(a10), len(a01)
    v = np.var(a10 - b10, ddof=1) / n1 if n1 > 1 else 0.0
    v += np.var(a01 - b01, ddof=1) / n0 if n0 > 1 else 0.0
    return math.sqrt(max(float(v), 0.0))


MIN_HITS = 2
"""Below two hits the choice is not made (labels only): leaving out the only hit leaves the
label model nothing to predict it from, so its LOO AUC is chance by construction."""


def choose(
    mode: str,
    labels: np.ndarray,
    scores: np.ndarray | None,
    tail: str,
    centre: float,
    floor_var: float,
    fit: Callable[[np.ndarray], gene_gp.GPFit],
) -> tuple[gene_gp.GPFit, float, dict[float, float]]:
    """The GP to rank with: ``(fit, score share, {share: LOO AUC})``; ``fit(y)`` fits a GP to
    a target ``y``. ``auto`` keeps the labels (share 0) without scores (an executor or store
    that did not record them), below :data:`MIN_HITS` hits, or unless the best blend's LOO
    AUC beats the labels' by one paired standard error (:func:`auc_diff_se`)."""
    if mode == "hits" or scores is None:
        return fit(labels), 0.0, {}
    st = score_target(scores, labels, tail, centre, floor_var)
    if mode == "scores":
        return fit(st), 1.0, {}
    if labels.sum() < MIN_HITS or labels.sum() == len(labels):
        return fit(labels), 0.0, {}
    tried: dict[float, tuple[float, np.ndarray, gene_gp.GPFit]] = {}
    for w in MIXES:
        y = (1.0 - w) * labels + w * st
        f = fit(y)
        loo = loo_means(f, y)
        tried[w] = (_auc(loo, labels), loo, f)
    aucs = {w: round(t[0], 3) for w, t in tried.items()}
    best = max(tried, key=lambda w: (tried[w][0], -w))  # ties: the smaller score share
    gain = tried[best][0] - tried[0.0][0]
    if best == 0.0 or gain < auc_diff_se(tried[best][1], tried[0.0][1], labels):
        return tried[0.0][2], 0.0, aucs  # not one paired standard error better: the labels
    return tried[best][2], best, aucs
