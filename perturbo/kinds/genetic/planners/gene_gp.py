"""The gene planner's GP, in closed form (numpy): fit by exact marginal likelihood, predict.

Model: ``y = m(g) + f(g) + noise`` over the tested genes, binary labels ``y`` (1 = hit),

- kernel ``k(g, h) = share * var * kappa(cos(g, h))`` on the genes' gene-set membership
  cosines, noise ``(1 - share) * var``, ``var`` the label variance; ``kappa`` is the
  **linear** set kernel ``cos`` (length scale :data:`LINEAR`, what the gene planner uses) or
  ``exp(-(1 - cos) / l^2)`` for a length scale ``l > 0`` (the pair planner's grid);
- prior mean ``m = ybar + sum_c w_c (p_c - mean of p_c over the tested genes)``: one term per
  prior *component* ``p_c`` (a transfer source's P(hit), the text prior, ...), with a Normal
  ``(mu_c, sd^2)`` prior on each weight ``w_c >= 0``.

For every (length scale, share) of a small grid the weights are the MAP solution (the mean is
linear in ``w``, so the log posterior is quadratic: one small solve, non-negativity by an
active set), and the grid point with the highest log marginal likelihood + log weight prior
wins. One eigendecomposition per length scale serves every share and every weight vector, so a
round with 640 tested genes costs ~0.3 s. An unrelated source's weight goes to 0 as soon as the
campaign's own labels disagree with it; a useful one keeps (or gains) weight.

Shapes: ``cos_tt`` ``(t, t)``, ``cos_ut`` ``(u, t)``, ``comps`` ``(C, n_genes)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "LENGTHSCALES",
    "LINEAR",
    "SIGNAL_SHARES",
    "GPFit",
    "describe",
    "fit",
    "kernel",
    "predict",
]

LENGTHSCALES = (0.35, 0.5, 0.7, 1.0, 1.4)
LINEAR = 0.0
"""The length scale that means the linear set kernel ``k = cos``: a Bayesian linear regression
of the label on the genes' TF-IDF set memberships, ``f(g) = sum_s m_gs b_s`` with one
Normal weight ``b_s`` per gene set -- so its posterior carries *set-level* uncertainty. On the
shipped screens' campaigns the marginal likelihood preferred the most local exponential
kernel (l = 0.35: only genes with cosine > ~0.8 informed each other), and that GP ranked
round 3's genes about half as well as a plain set-enrichment score; the linear kernel shares
evidence through every set a gene is in (measured in docs/findings/genetic-equal-information.md)."""
SIGNAL_SHARES = (0.1, 0.3, 0.5, 0.7, 0.9)


def kernel(cos: np.ndarray, lengthscale: float) -> np.ndarray:
    """``kappa(cos)``, the kernel's correlation, for an array of cosines (float32 stays
    float32): linear for :data:`LINEAR`, else ``exp(-(1 - cos) / l^2)``."""
    if lengthscale == LINEAR:
        return np.array(cos, copy=True)
    out = np.array(cos, copy=True)
    out -= 1.0
    out *= out.dtype.type(1.0 / lengthscale**2)
    np.exp(out, out=out)
    return out


def describe(lengthscale: object) -> str:
    """The kernel of a fit's ``lengthscale`` in words (for notes and logs)."""
    ls = float(lengthscale)  # type: ignore[arg-type]
    return "linear set" if ls == LINEAR else f"exponential (l {ls:.2f})"


@dataclass(frozen=True)
class GPFit:
    """The chosen hyper-parameters and what prediction needs."""

    lengthscale: float
    share: float
    var: float
    weights: np.ndarray  # (C,) MAP weight of each prior component
    log_evidence: float  # log marginal likelihood + log weight prior at the optimum
    mean_all: np.ndarray  # (n_genes,) prior mean of every gene
    alpha: np.ndarray  # (t,) Sigma^-1 (y - m)
    eig_u: np.ndarray  # (t, t) eigenvectors of the tested-gene kernel matrix
    eig_e: np.ndarray  # (t,) eigenvalues of Sigma (kernel + noise)


def _map_weights(
    u0: np.ndarray, ua: np.ndarray, inv_e: np.ndarray, mu: np.ndarray, sd: float
) -> np.ndarray:
    """argmax_w -0.5 |u0 - ua w|^2_D - 0.5 |w - mu|^2 / sd^2 subject to w >= 0 (active set)."""
    c = len(mu)
    active = np.ones(c, dtype=bool)
    w = np.zeros(c)
    for _ in range(c):
        if not active.any():
            break
        a = ua[:, active]
        lhs = a.T @ (a * inv_e[:, None]) + np.eye(int(active.sum())) / sd**2
        rhs = a.T @ (u0 * inv_e) + mu[active] / sd**2
        sol = np.linalg.solve(lhs, rhs)
        w[:] = 0.0
        w[active] = sol
        if (sol >= 0).all():
            break
        active[np.flatnonzero(active)[sol < 0]] = False
        w[~active] = 0.0
    return np.clip(w, 0.0, None)


def fit(
    cos_tt: np.ndarray,
    t_idx: np.ndarray,
    y: np.ndarray,
    comps: np.ndarray,
    mu: np.ndarray,
    sd: float,
    lengthscales: tuple[float, ...] = LENGTHSCALES,
    shares: tuple[float, ...] = SIGNAL_SHARES,
) -> GPFit:
    """Choose (length scale, share, component weights) by exact marginal likelihood.
    ``comps`` is ``(C, n_genes)`` (``C = 0``: a constant mean), ``mu`` ``(C,)``."""
    n = len(y)
    ybar = float(y.mean())
    var = max(float(y.var()), 1e-4)
    centred = comps - comps[:, t_idx].mean(axis=1, keepdims=True)
    a = centred[:, t_idx].T  # (t, C)
    r0 = y - ybar
    best: tuple[float, float, float, np.ndarray, np.ndarray, np.ndarray] | None = None
    for ls in lengthscales:
        k = kernel(cos_tt.astype(np.float64), ls)
        np.fill_diagonal(k, 1.0)
        lam, u = np.linalg.eigh(k)
        lam = np.clip(lam, 0.0, None)
        u0 = u.T @ r0
        ua = u.T @ a
        for share in shares:
            e = var * (share * lam + 1.0 - share)
            inv_e = 1.0 / e
            w = _map_weights(u0, ua, inv_e, mu, sd)
            res = u0 - ua @ w
            value = -0.5 * float(res @ (res * inv_e)) - 0.5 * float(np.log(e).sum())
            value -= 0.5 * n * math.log(2 * math.pi)
            value -= 0.5 * float((((w - mu) / sd) ** 2).sum())
            if best is None or value > best[0]:
                best = (value, ls, share, w, u, e)
    assert best is not None
    value, ls, share, w, u, e = best
    mean_all = ybar + w @ centred
    resid = y - mean_all[t_idx]
    alpha = u @ ((u.T @ resid) / e)
    return GPFit(ls, share, var, w, value, mean_all, alpha, u, e)


def predict(
    f: GPFit, cos_ut: np.ndarray, same: np.ndarray | None, base: np.ndarray, need_sd: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Posterior mean and sd at ``u`` genes: ``cos_ut`` their cosines to the tested genes,
    ``same`` a boolean ``(u, t)`` mask of identical genes (``None``: none), ``base`` their prior mean."""
    scale = f.share * f.var
    k_ut = kernel(cos_ut.astype(np.float32), f.lengthscale)  # float32: ~18k x 640 per round
    k_ut *= np.float32(scale)
    if same is not None:
        k_ut[same] = scale
    mean = base + k_ut @ f.alpha.astype(np.float32)
    if not need_sd:
        return mean, np.zeros(len(mean))
    v = (k_ut @ f.eig_u.astype(np.float32)) / np.sqrt(f.eig_e).astype(np.float32)
    var = np.clip(scale - (v * v).sum(axis=1), 0.0, None)
    return mean, np.sqrt(var)
