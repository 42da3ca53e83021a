"""Keeping planners off configs already told while a finite space still has unseen ones.

``sobol``, ``evolution``, the Optuna adapter and ``bo``'s Sobol' stage draw candidates that,
in a small discrete space, often repeat a config already run. A repeat adds little while an
unseen config remains, so they swap it for a random unseen one (and say so in the proposal's
note, :data:`REPLACED`). Once every config has run, repeats are allowed again (never of a
pending config, which the planners avoided before).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from perturbo.space import SearchSpace
from perturbo.types import InvalidSpec, Observation, Status

REPLACED = "duplicate candidate replaced by a random config"
"""The note of a proposal that replaced a repeat (bo's wording)."""

_GRID_CAP = 10_000  # conditional spaces up to this size are counted exactly (their grid)


class Unseen:
    """The keys of the configs told so far (``told``, shared where a set is passed), and
    whether the space has configs outside them."""

    def __init__(self, space: SearchSpace, told: set[str] | None = None) -> None:
        self.space = space
        self.told: set[str] = told if told is not None else set()
        self._n: float | None = None
        self._grid: list[dict[str, Any]] | None = None

    def tell(self, observations: Sequence[Observation]) -> None:
        """Record the configs of ``observations`` that ran (rejected and invalid ones skipped)."""
        for o in observations:
            if o.outcome.status is not Status.REJECTED:
                self.add(o.spec.params)

    def add(self, params: Mapping[str, Any]) -> None:
        try:
            self.told.add(self.space.key(self.space.validate(params)))
        except InvalidSpec:
            pass

    @property
    def n_configs(self) -> float:
        """The number of distinct configs (``inf`` with a Float range)."""
        if self._n is None:
            sp = self.space
            self._n = sp.size()
            if sp.is_discrete and sp.is_conditional and self._n <= _GRID_CAP:
                self._grid = sp.grid()  # size() counts inactive children: an upper bound
                self._n = float(len(self._grid))
        return self._n

    def left(self, taken: set[str]) -> bool:
        """True where some config is neither told nor in ``taken`` (pending or this batch)."""
        return len(self.told | taken) < self.n_configs

    def avoid(self, taken: set[str]) -> set[str]:
        """What a proposal must not repeat: ``taken``, plus the told configs while unseen remain."""
        return self.told | taken if self.left(taken) else set(taken)

    def pick(self, rng: np.random.Generator, avoid: set[str]) -> dict[str, Any]:
        """A random config outside ``avoid`` where one is found (the space's own redraws, then,
        in a finite space, its list of configs)."""
        c = self.space.sample(rng, 1, avoid)[0]
        if self.space.key(c) not in avoid or not self.n_configs <= _GRID_CAP:
            return c
        if self._grid is None:
            self._grid = self.space.grid()
        rest = [g for g in self._grid if self.space.key(g) not in avoid]
        return rest[int(rng.integers(len(rest)))] if rest else c

    def fresh(
        self, configs: Sequence[dict[str, Any]], taken: set[str], rng: np.random.Generator
    ) -> tuple[list[dict[str, Any]], list[bool]]:
        """Replace each config repeating one in ``taken`` (pending, or earlier in ``configs``)
        or, while unseen configs remain, one told, by a random config avoiding them; returns
        the configs and which were replaced. ``taken`` is updated."""
        out, replaced = [], []
        for c in configs:
            avoid = self.avoid(taken)
            swap = self.space.key(c) in avoid
            if swap:
                c = self.pick(rng, avoid)
            taken.add(self.space.key(c))
            out.append(c)
            replaced.append(swap)
        return out, replaced


__all__ = ["REPLACED", "Unseen"]
