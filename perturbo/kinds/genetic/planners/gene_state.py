"""What the gene planner's batch builders and explorer read of it: two small frozen records
the planner builds each ``ask`` (:class:`Picking`, and :class:`Fitted` once the GP is fitted),
so :mod:`~perturbo.kinds.genetic.planners.gene_batch` and
:mod:`~perturbo.kinds.genetic.planners.gene_explore` never hold the planner itself.

The arrays are the planner's own (not copies): a builder reads them and returns its picks; what
the planner should remember of a pick (uniform draws, set-level picks) comes back in the return
value, and the planner records it. ``rng`` is the planner's seeded generator, shared on purpose:
the draws a builder makes advance the campaign's one random stream, as before the split.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from perturbo.kinds.genetic.genesets import GeneKnowledge
from perturbo.kinds.genetic.planners import gene_gp

__all__ = ["Fitted", "Picking"]


@dataclass(frozen=True)
class Fitted:
    """The GP fitted on the tested genes.

    ``cos`` ``(n_genes, n_cols)``: every gene's cosine to the tested genes, ``cols`` the column
    of each tested gene (in ``tested`` order), ``y`` their 0/1 labels."""

    fit: gene_gp.GPFit
    cos: np.ndarray
    cols: np.ndarray
    tested: np.ndarray
    y: np.ndarray

    def cross(self, idx: np.ndarray) -> np.ndarray:
        """Cosines of the genes ``idx`` to the tested genes, columns in ``tested`` order."""
        if np.array_equal(self.cols, np.arange(len(self.cols))):
            return self.cos[idx]
        return self.cos[np.ix_(idx, self.cols)]  # columns out of label order (never in practice)

    def predict(self, idx: np.ndarray, need_sd: bool) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and sd of the label at gene indices ``idx`` (one eigendecomposition
        per fit, dense cross-cosines to the tested genes: ~0.1 s for 18k genes)."""
        same = idx[:, None] == self.tested[None, :] if np.isin(idx, self.tested).any() else None
        return gene_gp.predict(self.fit, self.cross(idx), same, self.fit.mean_all[idx], need_sd)


@dataclass(frozen=True)
class Picking:
    """One ``ask``'s view of a gene planner: the screen's genes (index order), gene-set
    knowledge, the seeded tie-break and generator, round 1's prior P(hit) (``None``: no
    prior), the kernel of round 1's prior draws, how many candidates batch Thompson sampling
    draws over, and the fitted GP (``None`` before the first label)."""

    genes: Sequence[str]
    knowledge: GeneKnowledge
    tie: np.ndarray
    rng: np.random.Generator
    prior: np.ndarray | None = None
    lengthscale: float = gene_gp.LINEAR
    thompson_candidates: int = 2000
    gp: Fitted | None = None

    @property
    def fitted(self) -> Fitted:
        """The fitted GP (a builder that needs it is only called once labels exist)."""
        if self.gp is None:
            raise ValueError("this batch needs the fitted GP: no gene has a label yet")
        return self.gp
