"""How a gene planner turns its GP into a batch beyond plain greedy: the hedged round 1,
Thompson draws (from the posterior, or from the GP prior in round 1) and constant-liar batches.

Each function reads one ``ask``'s :class:`~perturbo.kinds.genetic.planners.gene_state.Picking`
(knowledge, tie-break, seeded RNG, prior, fitted GP) -- never the planner -- and returns
``[(gene, score)]``, best first.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from perturbo.kinds.genetic.planners import gene_gp
from perturbo.kinds.genetic.planners.gene_state import Picking

__all__ = ["LIAR_POOL", "constant_liar", "hedged", "prior_thompson", "thompson"]

BASE = 0.05
"""Prior hit rate for the GP prior's variance in round 1 (as gene_bo.BASE_RATE)."""
LIAR_POOL = 4
"""Candidate pool: the best LIAR_POOL x batch genes (by prior or posterior mean)."""


def hedged(p: Picking, n: int, free: np.ndarray) -> tuple[list[tuple[str, float]], list[int]]:
    """Round 1 with ``hedge``: half the batch by the prior, half uniformly at random among
    the rest (seeded). The prior is untested on this screen in round 1; the uniform half is
    an unbiased sample, so from round 2 on the marginal likelihood can judge the prior's
    weight without the range restriction of genes picked *because* the prior liked them (and
    :mod:`perturbo.kinds.genetic.planners.gene_explore` can tell a rare-hit screen from its hit count).
    Also returns the uniformly drawn gene indices (the planner remembers them as such)."""
    assert p.prior is not None
    k = n - n // 2
    score = np.where(free, p.prior + p.tie, -np.inf)
    top = np.argsort(-score)[:k]
    rest = np.setdiff1d(np.flatnonzero(free), top)
    extra = p.rng.choice(rest, size=min(n - k, len(rest)), replace=False)
    return [(p.genes[i], float(p.prior[i])) for i in [*top, *extra]], [int(i) for i in extra]


def prior_thompson(p: Picking, n: int, free: np.ndarray) -> list[tuple[str, float]]:
    """Round 1 with a prior: Thompson draws from the GP *prior* (mean = the prior, the set
    kernel at the grid's middle hyper-parameters) over the best ``LIAR_POOL`` x n genes by
    prior: genes of one favoured set are correlated, so the draws spread the batch over
    the favoured sets instead of exhausting the first; the seed picks the draws."""
    assert p.prior is not None
    free_idx = np.flatnonzero(free)
    m = min(len(free_idx), LIAR_POOL * n)
    cand = free_idx[np.argsort(-(p.prior[free_idx] + p.tie[free_idx]))[:m]]
    share = gene_gp.SIGNAL_SHARES[len(gene_gp.SIGNAL_SHARES) // 2]
    scale = share * BASE * (1 - BASE)
    cov = scale * gene_gp.kernel(p.knowledge.cosine(cand, cand), p.lengthscale)
    np.fill_diagonal(cov, scale)
    lam, vec = np.linalg.eigh(cov)
    root = vec * np.sqrt(np.clip(lam, 0.0, None))
    draws = p.prior[cand][None, :] + p.rng.standard_normal((n, m)) @ root.T
    return _distinct_argmax(draws, cand, p.genes)


def constant_liar(p: Picking, n: int, free: np.ndarray) -> list[tuple[str, float]]:
    """Greedy batch with a constant liar: after each pick the GP is conditioned on that
    gene being a miss (the most probable outcome of any test), so the next picks leave
    its neighbourhood unless the evidence there is strong. Candidates: the best
    ``LIAR_POOL`` x n free genes by posterior mean."""
    gp = p.fitted
    free_idx = np.flatnonzero(free)
    mean, _ = gp.predict(free_idx, need_sd=False)
    m = min(len(free_idx), LIAR_POOL * n)
    order = np.argsort(-(mean + p.tie[free_idx]))[:m]
    cand, mu = free_idx[order], mean[order].astype(float)
    f = gp.fit
    scale = f.share * f.var
    noise = (1.0 - f.share) * f.var
    k_ct = scale * gene_gp.kernel(gp.cross(cand).astype(float), f.lengthscale)
    k_cc = scale * gene_gp.kernel(p.knowledge.cosine(cand, cand), f.lengthscale)
    np.fill_diagonal(k_cc, scale)
    v = (k_ct @ f.eig_u) / np.sqrt(f.eig_e)
    cov = k_cc - v @ v.T
    chosen: list[tuple[str, float]] = []
    alive = np.ones(m, dtype=bool)
    for _ in range(min(n, m)):
        j = int(np.argmax(np.where(alive, mu, -np.inf)))
        chosen.append((p.genes[cand[j]], float(mu[j])))
        alive[j] = False
        col = cov[:, j].copy()
        denom = col[j] + noise
        mu = mu + col * (0.0 - mu[j]) / denom
        cov -= np.outer(col, col) / denom
    return chosen


def thompson(p: Picking, n: int, free: np.ndarray) -> list[tuple[str, float]]:
    """Batch Thompson sampling: ``n`` joint posterior draws over the best candidates by UCB
    (beta 2), each contributing its argmax not yet chosen."""
    gp = p.fitted
    free_idx = np.flatnonzero(free)
    mean, sd = gp.predict(free_idx, need_sd=True)
    m = min(len(free_idx), max(p.thompson_candidates, 2 * n))
    order = np.argsort(-(mean + 2.0 * sd))[:m]
    cand, mu = free_idx[order], mean[order]
    f = gp.fit
    scale = f.share * f.var
    k_ct = scale * gene_gp.kernel(gp.cross(cand).astype(float), f.lengthscale)
    k_cc = scale * gene_gp.kernel(p.knowledge.cosine(cand, cand), f.lengthscale)
    np.fill_diagonal(k_cc, scale)
    v = (k_ct @ f.eig_u) / np.sqrt(f.eig_e)
    cov = k_cc - v @ v.T
    lam, vec = np.linalg.eigh((cov + cov.T) / 2)
    root = vec * np.sqrt(np.clip(lam, 0.0, None))
    draws = mu[None, :] + p.rng.standard_normal((n, m)) @ root.T
    return _distinct_argmax(draws, cand, p.genes)


def _distinct_argmax(
    draws: np.ndarray, cand: np.ndarray, genes: Sequence[str]
) -> list[tuple[str, float]]:
    """Each draw's best candidate not taken by an earlier draw (Thompson sampling's batch)."""
    chosen: list[tuple[str, float]] = []
    taken: set[int] = set()
    for d in draws:
        for j in np.argsort(-d):
            if int(j) not in taken:
                taken.add(int(j))
                chosen.append((genes[cand[j]], float(d[j])))
                break
    return chosen
