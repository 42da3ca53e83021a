"""Seeded uniform random search: the baseline every planner must beat."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from perturbo.protocols import Space
from perturbo.types import ExperimentSpec, Observation, Status


class RandomPlanner:
    """Draws each proposal uniformly from the space; never repeats a run or pending experiment
    in a ``unique`` space (genes). Reproducible for a given ``seed`` and history."""

    name = "random"

    def __init__(self, space: Space, kind: str, seed: int = 0) -> None:
        self._space = space
        self._kind = kind
        self._rng = np.random.default_rng(seed)
        self._seen: set[str] = set()

    def ask(self, n: int, pending: Sequence[ExperimentSpec]) -> list[ExperimentSpec]:
        exclude = self._seen | {self._space.key(s.params) for s in pending}
        drawn = self._space.sample(self._rng, n, exclude)
        return [ExperimentSpec(p, self._kind, planner=self.name) for p in drawn]

    def tell(self, observations: Sequence[Observation]) -> None:
        for o in observations:
            if o.outcome.status is not Status.REJECTED:
                self._seen.add(self._space.key(o.spec.params))
