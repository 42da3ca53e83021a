"""Bookkeeping shared by the space-based planners: what they were told, as cube points."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from perturbo.objective import Objective
from perturbo.space import SearchSpace
from perturbo.types import ExperimentSpec, InvalidSpec, Observation, Status


class Told:
    """Observations told so far, split into usable points ``(X, Y)`` and the rest.

    ``X``: ``(n, dim)`` unit-cube points; ``Y``: ``(n, m)`` objective values signed so larger is
    better. Failed/rejected/NaN outcomes and params outside the space are counted in
    ``n_failed`` and kept out of ``X``; their keys still count as seen.
    """

    def __init__(self, space: SearchSpace, objective: Objective) -> None:
        self.space, self.objective = space, objective
        self._x: list[np.ndarray] = []
        self._y: list[np.ndarray] = []
        self.keys: set[str] = set()
        self.failed_x: list[np.ndarray] = []
        self.n_told = 0

    def add(
        self, observations: Sequence[Observation]
    ) -> list[tuple[np.ndarray, np.ndarray | None]]:
        """Add observations; return ``(x, y or None)`` for each one that ran with valid params."""
        added = []
        for o in observations:
            self.n_told += 1
            if o.outcome.status is Status.REJECTED:
                continue
            try:
                params = self.space.validate(o.spec.params)
            except InvalidSpec:
                continue
            x = self.space.encode(params)
            self.keys.add(self.space.key(params))
            y = self.objective.signed(o)
            if y is None:
                self.failed_x.append(x)
            else:
                self._x.append(x)
                self._y.append(y)
            added.append((x, y))
        return added

    @property
    def X(self) -> np.ndarray:
        return np.array(self._x).reshape(len(self._x), self.space.dim)

    @property
    def Y(self) -> np.ndarray:
        return np.array(self._y).reshape(len(self._y), len(self.objective.names))

    def __len__(self) -> int:
        return len(self._x)

    def pending_x(self, pending: Sequence[ExperimentSpec]) -> np.ndarray:
        """Cube points of in-flight experiments (invalid ones skipped), shape ``(k, dim)``."""
        rows = []
        for s in pending:
            try:
                rows.append(self.space.encode(self.space.validate(s.params)))
            except InvalidSpec:
                continue
        return np.array(rows).reshape(len(rows), self.space.dim)

    def pending_keys(self, pending: Sequence[ExperimentSpec]) -> set[str]:
        return pending_keys(self.space, pending)


def pending_keys(space: SearchSpace, pending: Sequence[ExperimentSpec]) -> set[str]:
    """Keys of in-flight experiments in ``space`` (invalid ones skipped)."""
    out = set()
    for s in pending:
        try:
            out.add(space.key(space.validate(s.params)))
        except InvalidSpec:
            continue
    return out


def fresh(
    space: SearchSpace, configs: Sequence[dict], taken: set[str], rng: np.random.Generator
) -> tuple[list[dict], list[bool]]:
    """Replace configs whose key is in ``taken`` (or repeats one earlier in ``configs``) by
    random ones; returns the configs and which were replaced. ``taken`` is updated."""
    out, replaced = [], []
    for c in configs:
        k = space.key(c)
        swap = k in taken
        if swap:
            c = space.sample(rng, 1, taken)[0]
            k = space.key(c)
        taken.add(k)
        out.append(c)
        replaced.append(swap)
    return out, replaced
