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
        self._seed = seed
        self._rng: np.random.Generator | None = None
        self._seen: set[str] = set()

    def ask(self, n: int, pending: Sequence[ExperimentSpec]) -> list[ExperimentSpec]:
        if self._rng is None:
            # A resumed campaign (told its history before the first ask) draws a stream of its
            # own: replaying the fresh one would redraw what already ran.
            told = len(self._seen)
            self._rng = np.random.default_rng(self._seed if not told else [self._seed, told])
        busy = {self._space.key(s.params) for s in pending}
        drawn = self._space.sample(self._rng, n, self._seen | busy)
        if not getattr(self._space, "unique", False):
            # A small space may run out of untold configs: a told one may run again, a pending
            # one (or one already in this batch) not. Redrawn only where that happened.
            for i, p in enumerate(drawn):
                if self._space.key(p) in busy:
                    drawn[i] = self._space.sample(self._rng, 1, busy)[0]
                busy.add(self._space.key(drawn[i]))
        return [ExperimentSpec(p, self._kind, planner=self.name) for p in drawn]

    def tell(self, observations: Sequence[Observation]) -> None:
        for o in observations:
            if o.outcome.status is not Status.REJECTED:
                self._seen.add(self._space.key(o.spec.params))
