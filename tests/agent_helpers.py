"""Helpers shared by the agent and genetic-kind tests: a tiny screen with hand-made gene sets
(the ``screen`` / ``knowledge`` fixtures, re-exported by those folders' conftest) and a fixed
ranker. Imported by name: tests/ is on sys.path (its conftest)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
import scipy.sparse as sp

from perturbo.kinds.genetic.genesets import GeneKnowledge
from perturbo.kinds.genetic.screens import Screen
from perturbo.types import Observation

GENES = tuple(f"G{i:02d}" for i in range(60))
# Sets: S0 = G00..G09 (holds every hit), S1 = G10..G19, ... S5 = G50..G59; M = every 3rd gene.
SETS = {f"LIB: SET{j}": GENES[10 * j : 10 * j + 10] for j in range(6)}
SETS["LIB: EVERY_THIRD"] = GENES[::3]
HITS = frozenset({"G01", "G03", "G05", "G07", "G09", "G12"})


@pytest.fixture()
def screen() -> Screen:
    scores = np.array([3.0 if g in HITS else 0.1 * (i % 7) for i, g in enumerate(GENES)])
    return Screen(
        "tiny",
        GENES,
        scores,
        HITS,
        "find genes whose knockout blocks toy signalling",
        "toy score",
        "toy",
    )


@pytest.fixture()
def knowledge() -> GeneKnowledge:
    names = tuple(SETS)
    idx = {g: i for i, g in enumerate(GENES)}
    rows = [idx[g] for n in names for g in SETS[n]]
    cols = [j for j, n in enumerate(names) for _ in SETS[n]]
    binary = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(GENES), len(names)))
    return GeneKnowledge(GENES, names, binary)


def run_on_screen(planner, screen: Screen, batch: int, rounds: int, on_round=None):  # type: ignore[no-untyped-def]
    """A genetic campaign of ``planner`` on ``screen`` in this process (local pool, no
    store): the history; ``on_round`` gets each round's report."""
    from perturbo import StopRule, run
    from perturbo.actors.local_pool import LocalExecutorPool
    from perturbo.kinds.genetic import GenePool, GeneticExecutor, GeneticMetrics

    return run(
        planner=planner,
        pool=LocalExecutorPool(lambda: GeneticExecutor(screen)),
        space=GenePool(screen.genes),
        batch=batch,
        stop=StopRule(rounds=rounds),
        metrics=GeneticMetrics(screen),
        on_round=on_round,
    )


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
