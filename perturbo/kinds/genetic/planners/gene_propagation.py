"""Network propagation over the gene x gene-set graph: a random walk with restart (RWR) from
the hits found so far, the classic "guilt by association" ranker, measured beside the GP.

One step walks gene -> one of its sets (uniformly) -> one of that set's genes (uniformly); with
probability ``restart`` the walker jumps back to a hit. The stationary visit frequencies rank
the untested genes. Sparse mat-vecs only: ~20 ms for 18k genes.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["RESTART", "rwr"]

RESTART = 0.5
"""Restart probability: the walk's expected length is 1/RESTART = 2 gene -> set -> gene hops,
i.e. genes two sets away from a hit still count (one global value)."""


def rwr(
    binary: sp.csr_matrix, seeds: np.ndarray, restart: float = RESTART, iters: int = 30
) -> np.ndarray:
    """Visit frequency of every gene for a walk restarting at ``seeds`` (gene indices)."""
    n = binary.shape[0]
    p0 = np.zeros(n)
    if len(seeds) == 0:
        return p0
    p0[np.asarray(seeds, int)] = 1.0 / len(seeds)
    deg = np.asarray(binary.sum(axis=1)).ravel()
    size = np.asarray(binary.sum(axis=0)).ravel()
    inv_deg = np.where(deg > 0, 1.0 / np.maximum(deg, 1), 0.0)
    inv_size = 1.0 / np.maximum(size, 1)
    bt = binary.T.tocsr()
    p = p0.copy()
    for _ in range(iters):
        s = bt @ (p * inv_deg)
        p = (1 - restart) * (binary @ (s * inv_size)) + restart * p0
    return p
