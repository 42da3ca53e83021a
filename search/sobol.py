"""Scrambled Sobol' quasi-random search over the unit cube of a :class:`SearchSpace`."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from scipy.stats import qmc

from perturbo.search.unseen import REPLACED, Unseen
from perturbo.space import SearchSpace
from perturbo.types import ExperimentSpec, Observation


class SobolPlanner:
    """Proposes the next points of one scrambled Sobol' sequence (seeded).

    Configs that repeat a pending one, or one already told while unseen configs remain (small
    discrete spaces), are swapped for random ones (noted, as bo notes it).
    Resume-safe: after ``tell(history)`` it continues the sequence after the points already
    run (and those pending), so a resumed campaign does not replay the start of the sequence.
    """

    name = "sobol"

    def __init__(self, space: SearchSpace, kind: str = "", seed: int = 0) -> None:
        self._space, self._kind, self._seed = space, kind, seed
        self._drawn = 0
        self._n_ran = 0
        self._unseen = Unseen(space)

    def points(self, start: int, n: int) -> np.ndarray:
        """Points ``start .. start+n-1`` of the sequence, shape ``(n, dim)``."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "balance properties" of non-power-of-2 draws
            eng = qmc.Sobol(d=self._space.dim, scramble=True, seed=self._seed)
            if start:
                eng.fast_forward(start)
            return eng.random(n)

    def ask(self, n: int, pending: Sequence[ExperimentSpec]) -> list[ExperimentSpec]:
        start = max(self._drawn, self._n_ran + len(pending))
        x = self.points(start, n)
        self._drawn = start + n
        taken = {self._space.key(s.params) for s in pending}
        configs, replaced = self._unseen.fresh(
            [self._space.decode(r) for r in x], taken, np.random.default_rng([self._seed, start])
        )
        return [
            ExperimentSpec(c, self._kind, planner=self.name, note=REPLACED if r else "")
            for c, r in zip(configs, replaced, strict=True)
        ]

    def tell(self, observations: Sequence[Observation]) -> None:
        self._n_ran += len(observations)
        self._unseen.tell(observations)
