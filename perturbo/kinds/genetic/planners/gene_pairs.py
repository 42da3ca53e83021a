"""``bo`` for gene-pair screens: a GP over pairs with a kernel built from the gene kernel.

The gene kernel is ``exp(-(1 - cos(g, h)) / l^2)`` on gene-set membership cosines
(:mod:`perturbo.kinds.genetic.planners.gene_bo`). For pairs ``p = {a, b}``, ``q = {c, d}`` the product kernel
``k(a, c) k(b, d) = exp(-((1 - cos(a, c)) + (1 - cos(b, d))) / l^2)`` is the gene kernel on the
pair "cosine" ``(cos(a, c) + cos(b, d)) / 2`` at length scale ``l / sqrt 2``; pairs are
unordered, so the better of the two matchings is taken. The same closed-form GP
(:mod:`perturbo.kinds.genetic.planners.gene_gp`: hyper-parameters by marginal likelihood, greedy posterior
mean) then ranks the untested pairs. Round 1 draws pairs at random (seeded).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from perturbo.kinds.genetic.genesets import DEFAULT_CACHE, GeneKnowledge
from perturbo.kinds.genetic.pairs import PairView, pair_key
from perturbo.kinds.genetic.planners import gene_gp
from perturbo.types import ExperimentSpec, Observation, Status

__all__ = ["PairBOPlanner", "pair_cosines"]

CHUNK = 8192


def pair_cosines(gene_cos: np.ndarray, p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``(len(p), len(q))`` pair "cosines" from a gene cosine matrix; ``p``, ``q``: ``(n, 2)``
    gene indices of the pairs."""
    a, b = p[:, 0][:, None], p[:, 1][:, None]
    c, d = q[:, 0][None, :], q[:, 1][None, :]
    straight = gene_cos[a, c] + gene_cos[b, d]
    crossed = gene_cos[a, d] + gene_cos[b, c]
    return (np.maximum(straight, crossed) / 2.0).astype(np.float32)


class PairBOPlanner:
    """GP planner over a pair screen (name ``"bo"``); see the module docstring."""

    name = "bo"

    def __init__(
        self,
        screen: PairView,
        seed: int = 0,
        knowledge: GeneKnowledge | None = None,
        cache_dir: Path | None = DEFAULT_CACHE,
    ) -> None:
        view = screen.view() if hasattr(screen, "view") else screen  # never keep the labels
        self.screen: PairView = view
        self.knowledge = knowledge or GeneKnowledge.for_genes(view.genes, cache_dir=cache_dir)
        idx = np.arange(len(view.genes))
        self._gene_cos = self.knowledge.cosine(idx, idx).astype(np.float32)
        np.fill_diagonal(self._gene_cos, 1.0)
        self._rng = np.random.default_rng(seed)
        self._tie = self._rng.random(len(view)) * 1e-9
        self._labels: dict[int, float] = {}
        self._failed: set[int] = set()
        self.deterministic = False
        self.last_fit: dict[str, object] = {}

    def ask(self, n: int, pending: Sequence[ExperimentSpec]) -> list[ExperimentSpec]:
        free = np.ones(len(self.screen), dtype=bool)
        free[list(self._labels) + list(self._failed)] = False
        for s in pending:
            if str(s.params.get("pair", "")) in self.screen:
                free[self.screen.index(str(s.params["pair"]))] = False
        free_idx = np.flatnonzero(free)
        n = min(n, len(free_idx))
        if n <= 0:
            return []
        if not self._labels:
            pick = self._rng.choice(free_idx, size=n, replace=False)
            note = "round 1: random pairs"
        else:
            mean = self._mean(free_idx)
            order = np.argsort(-(mean + self._tie[free_idx]))[:n]
            pick = free_idx[order]
            f = self.last_fit
            note = (
                f"pair GP greedy: lengthscale {f['lengthscale']:.2f}, share {f['signal_share']:.1f}"
            )
        return [
            ExperimentSpec({"pair": self.screen.pairs[i]}, "genetic", planner=self.name, note=note)
            for i in pick
        ]

    def tell(self, observations: Sequence[Observation]) -> None:
        for o in observations:
            raw = str(o.spec.params.get("pair", ""))
            if raw not in self.screen:
                continue
            i = self.screen.index(pair_key(raw))
            hit = o.outcome.value("hit")
            if o.outcome.status is Status.COMPLETED and math.isfinite(hit):
                self._labels[i] = 1.0 if hit > 0.5 else 0.0
            elif o.outcome.status is not Status.REJECTED:
                self._failed.add(i)

    def _mean(self, idx: np.ndarray) -> np.ndarray:
        t_idx = np.fromiter(self._labels, int, len(self._labels))
        y = np.fromiter(self._labels.values(), float, len(self._labels))
        members = self.screen.members
        cos_tt = pair_cosines(self._gene_cos, members[t_idx], members[t_idx])
        np.fill_diagonal(cos_tt, 1.0)
        comps = np.zeros((0, len(self.screen)))
        # the pair kernel is the gene kernel at length scale l / sqrt 2: scale the grid
        grid = tuple(ls / math.sqrt(2) for ls in gene_gp.LENGTHSCALES)
        f = gene_gp.fit(cos_tt, t_idx, y, comps, np.zeros(0), 1.0, lengthscales=grid)
        self.last_fit = {"lengthscale": f.lengthscale, "signal_share": f.share}
        out = np.empty(len(idx))
        for lo in range(0, len(idx), CHUNK):  # bounded memory on 100k-pair screens
            part = idx[lo : lo + CHUNK]
            cos_ut = pair_cosines(self._gene_cos, members[part], members[t_idx])
            out[lo : lo + CHUNK], _ = gene_gp.predict(f, cos_ut, None, f.mean_all[part], False)
        return out
