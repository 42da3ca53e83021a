"""What a gene planner has been told and the GP it fits on it: each tested gene's hit label
and measured score, the genes that failed, the genes it sampled uniformly, the cosine block to
the tested genes (grown by one sparse product per round) and the fit, refitted only when labels
were added. :class:`~perturbo.kinds.genetic.planners.gene_bo.GeneBOPlanner` holds one; the
fitted GP goes to the batch builders as a frozen :class:`~.gene_state.Fitted`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from perturbo.kinds.genetic.genesets import GeneKnowledge
from perturbo.kinds.genetic.planners import gene_gp, gene_target
from perturbo.kinds.genetic.planners.gene_state import Fitted
from perturbo.kinds.genetic.screens import ScreenView, normalize_gene
from perturbo.types import Observation, Status

__all__ = ["PRIOR_WEIGHT_SD", "GeneModel", "weights_text"]

PRIOR_WEIGHT_SD = 0.5
"""Sd of the Normal prior on each component weight: a calibrated prior is trusted (w = mu)
until the labels argue otherwise. Tested genes were picked *because* the prior ranked them
high, so among them the prior looks flat (range restriction); without this term marginal
likelihood dropped the prior after one unlucky round where hits are rare."""


class GeneModel:
    """The told results over ``screen``'s genes and the GP fitted on them.

    ``comp_names``/``comps``/``mu``: the prior mean's components (P(hit) per gene), and their
    weights' prior means; ``target``: what the GP regresses (:data:`gene_target.TARGETS`);
    ``kernel_grid``: the length scales marginal likelihood may choose from; ``floor_var``: the
    label variance assumed where the target needs one."""

    def __init__(
        self,
        screen: ScreenView,
        knowledge: GeneKnowledge,
        comp_names: Sequence[str],
        comps: np.ndarray,
        mu: np.ndarray,
        target: str,
        kernel_grid: Sequence[float],
        floor_var: float,
    ) -> None:
        self.screen = screen
        self.knowledge = knowledge
        self.comp_names = tuple(comp_names)
        self.comps = comps
        self.mu = mu
        self.target = target
        self.kernel_grid = tuple(kernel_grid)
        self.floor_var = floor_var
        self.labels: dict[int, float] = {}  # gene index -> 1.0 hit / 0.0 not
        self.scores: dict[int, float] = {}  # gene index -> measured score (when reported)
        self.failed: set[int] = set()
        self.uniform: set[int] = set()  # genes sampled uniformly (round 1 / its random half)
        self._cols: dict[int, int] = {}  # gene index -> column of self._cos
        self._cos = np.zeros((len(screen.genes), 0), dtype=np.float32)
        self._fit: gene_gp.GPFit | None = None
        self._fitted_on = -1
        self.last_fit: dict[str, object] = {}

    # -- telling -------------------------------------------------------------------------------
    def observe(self, observations: Sequence[Observation]) -> None:
        """Record each completed gene's label (and score); a gene that ran and failed is not
        repeated but teaches nothing; a rejected one may be proposed again."""
        for o in observations:
            gene = normalize_gene(str(o.spec.params.get("gene", "")))
            if gene not in self.screen:
                continue
            i = self.screen.index(gene)
            hit = o.outcome.value("hit")
            if o.outcome.status is Status.COMPLETED and math.isfinite(hit):
                self.labels[i] = 1.0 if hit > 0.5 else 0.0
                self.failed.discard(i)
                if math.isfinite(score := o.outcome.value("score")):
                    self.scores[i] = score
            elif o.outcome.status is not Status.REJECTED:
                self.failed.add(i)  # ran and failed: do not repeat, but no label to learn

    def free_mask(self, exclude: Sequence[str] | set[str]) -> np.ndarray:
        """Genes that may still be proposed: untested, not failed, not in ``exclude``."""
        free = np.ones(len(self.screen.genes), dtype=bool)
        free[list(self.labels)] = False
        free[list(self.failed)] = False
        for g in exclude:
            g = normalize_gene(g)
            if g in self.screen:
                free[self.screen.index(g)] = False
        return free

    # -- the GP ----------------------------------------------------------------------------------
    def _grow_cosines(self) -> None:
        new = [i for i in self.labels if i not in self._cols]
        if not new:
            return
        m = self.knowledge.membership
        block = (m @ m[new].T).toarray().astype(np.float32)
        for k, i in enumerate(new):
            self._cols[i] = self._cos.shape[1] + k
        self._cos = np.hstack([self._cos, block])

    def fit(self) -> gene_gp.GPFit:
        """The GP on the tested genes, hyper-parameters and prior weights by marginal
        likelihood (refit only when labels were added)."""
        if self._fit is not None and self._fitted_on == len(self.labels):
            return self._fit
        self._grow_cosines()
        t_idx = np.fromiter(self.labels, int, len(self.labels))
        y = np.fromiter(self.labels.values(), float, len(self.labels))
        cols = np.array([self._cols[i] for i in t_idx])
        cos_tt = self._cos[np.ix_(t_idx, cols)]

        def fit_to(target: np.ndarray) -> gene_gp.GPFit:
            return gene_gp.fit(
                cos_tt,
                t_idx,
                target,
                self.comps,
                self.mu,
                PRIOR_WEIGHT_SD,
                lengthscales=self.kernel_grid,
            )

        scores = None
        if all(i in self.scores for i in t_idx):
            scores = np.array([self.scores[i] for i in t_idx])
        uniform = [self.scores[i] for i in self.uniform if i in self.scores]
        centre = float(np.median(uniform if uniform else scores)) if scores is not None else 0.0
        f, share, aucs = gene_target.choose(
            self.target, y, scores, self.screen.hit_tail, centre, self.floor_var, fit_to
        )
        self._fit, self._fitted_on = f, len(self.labels)
        weights = dict(zip(self.comp_names, f.weights.round(3).tolist(), strict=True))
        self.last_fit = {
            "lengthscale": f.lengthscale,
            "signal_share": f.share,
            "mll": f.log_evidence,
            "weights": weights,
            "weights_text": weights_text(list(weights.items())),
            "prior_weight": float(f.weights.sum()),
            "score_share": share,
            "loo_auc": aucs,
        }
        return f

    def fitted(self) -> Fitted:
        """The fitted GP as the batch builders read it (fits first if labels were added)."""
        f = self.fit()
        t_idx = np.fromiter(self.labels, int, len(self.labels))
        cols = np.array([self._cols[i] for i in t_idx])
        y = np.fromiter(self.labels.values(), float, len(self.labels))
        return Fitted(f, self._cos, cols, t_idx, y)

    def predict(self, idx: np.ndarray, need_sd: bool) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and sd of the label at gene indices ``idx``."""
        return self.fitted().predict(idx, need_sd)


def weights_text(items: Sequence[tuple[str, float]] | Mapping[str, float]) -> str:
    """``"name w, name w"`` (``"none"`` without components)."""
    pairs = list(items.items()) if isinstance(items, Mapping) else items
    return ", ".join(f"{k} {v:.2f}" for k, v in pairs) or "none"
