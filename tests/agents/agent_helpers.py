"""Helpers shared by the agent tests (imported by name: pytest puts this folder on sys.path)."""

from __future__ import annotations

from collections.abc import Sequence

from perturbo.types import Observation


class Ranker:
    """A fixed stand-in for bo's ranking (``GeneBOPlanner.rank``), so fast tests need no GP."""

    name = "bo"

    def __init__(self, order: Sequence[str]) -> None:
        self.order = list(order)
        self.told: list[Observation] = []

    def rank(self, n: int, exclude: set[str]) -> list[tuple[str, float]]:
        return [(g, 1.0) for g in self.order if g not in exclude][:n]

    def ask(self, n, pending):  # type: ignore[no-untyped-def]
        raise AssertionError("the agent must use rank(), which has no side effects")

    def tell(self, observations: Sequence[Observation]) -> None:
        self.told.extend(observations)
