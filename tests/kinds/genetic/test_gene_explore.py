"""Set-level exploration when hits are rare, on a synthetic screen built from the shipped gene
sets: ~0.6% of genes are hits, spread over 8 pathways."""

from __future__ import annotations

import numpy as np
from shipped_pathways import knowledge as _knowledge

from perturbo.kinds.genetic import GeneticExecutor, Screen
from perturbo.kinds.genetic.planners import gene_explore
from perturbo.kinds.genetic.planners.gene_bo import GeneBOPlanner
from perturbo.types import Observation

ROUNDS, BATCH, SEEDS = 5, 128, 8


def _rare_screen(seed: int) -> tuple[Screen, list[set[int]]]:
    """10 hits in each of 8 random pathways of 20-60 genes: ~80 hits in ~13k genes (0.6%)."""
    know = _knowledge()
    rng = np.random.default_rng(seed)
    ok = np.flatnonzero((know.set_sizes >= 20) & (know.set_sizes <= 60))
    csc = know.binary.tocsc()
    groups = []
    for j in rng.choice(ok, 8, replace=False):
        members = csc.indices[csc.indptr[j] : csc.indptr[j + 1]]
        groups.append(set(rng.choice(members, 10, replace=False).tolist()))
    hits = frozenset(know.genes[i] for g in groups for i in g)
    scores = np.array([1.0 if g in hits else 0.0 for g in know.genes])
    return Screen("Rare", know.genes, scores, hits, "t", "m", "RareStudy"), groups


def _found(screen: Screen, groups: list[set[int]], tested: set[int]) -> tuple[int, int]:
    """(hits found, how many of the hit pathways have at least one found hit)."""
    hits = {i for g in groups for i in g} & tested
    return len(hits), sum(1 for g in groups if g & hits)


def _bo(screen: Screen, seed: int, set_explore: bool) -> tuple[set[int], int]:
    planner = GeneBOPlanner(
        screen,
        seed=seed,
        prior="none",
        knowledge=_knowledge(),
        cache_dir=None,
        set_explore=set_explore,
    )
    ex = GeneticExecutor(screen)
    for r in range(ROUNDS):
        specs = planner.ask(BATCH, [])
        planner.tell(
            [Observation(s.stamped(f"{r}-{i}", r), ex.run(s)) for i, s in enumerate(specs)]
        )
    return set(planner._labels), planner.set_picks[1]


def test_rare_hits_set_exploration_finds_more_hits_in_more_sets_than_greedy_and_random() -> None:
    """Measured (8 seeds, 5 x 128, 80 hits in 13,323 genes): with set-level Thompson 175 hits
    in 30 pathways (of 64), the GP's greedy batch alone 157 in 26, random 22 in 22. Fails if
    the exploration is gone (equal totals), if it found fewer hits or pathways, or for a
    planner no better than random."""
    with_sets = [0, 0]
    without = [0, 0]
    rnd = [0, 0]
    fired = 0
    for seed in range(SEEDS):
        screen, groups = _rare_screen(seed)
        tested, picks = _bo(screen, seed, set_explore=True)
        fired += picks
        for acc, found in (
            (with_sets, _found(screen, groups, tested)),
            (without, _found(screen, groups, _bo(screen, seed, set_explore=False)[0])),
        ):
            acc[0] += found[0]
            acc[1] += found[1]
        pick = np.random.default_rng(seed).choice(len(screen.genes), ROUNDS * BATCH, replace=False)
        h, s = _found(screen, groups, set(pick.tolist()))
        rnd[0] += h
        rnd[1] += s
    assert fired > 0
    assert with_sets[0] > without[0] and with_sets[1] > without[1], (with_sets, without)
    assert with_sets[0] >= 3 * rnd[0], (with_sets, rnd)  # random: 640 x 0.6% ~ 3.8 hits a run
    assert with_sets[1] > rnd[1], (with_sets, rnd)


def test_rare_probability_comes_from_the_uniform_sample() -> None:
    assert gene_explore.rare_probability(0, 128) > 0.7  # nothing in 128 random genes: rare
    assert gene_explore.rare_probability(1, 128) > 0.3
    assert gene_explore.rare_probability(6, 128) < 0.01  # a 5% screen: no set exploration
    assert gene_explore.rare_probability(0, 0) == 0.0


def test_dense_screen_gets_no_set_level_picks() -> None:
    """A screen with ~6% hits in its uniform round 1: the GP's greedy batch stays whole."""
    know = _knowledge()
    rng = np.random.default_rng(0)
    hits = frozenset(know.genes[i] for i in rng.choice(len(know.genes), 800, replace=False))
    scores = np.array([1.0 if g in hits else 0.0 for g in know.genes])
    screen = Screen("Dense", know.genes, scores, hits, "t", "m", "DenseStudy")
    planner = GeneBOPlanner(screen, seed=0, prior="none", knowledge=know, cache_dir=None)
    ex = GeneticExecutor(screen)
    for r in range(3):
        specs = planner.ask(BATCH, [])
        planner.tell(
            [Observation(s.stamped(f"{r}-{i}", r), ex.run(s)) for i, s in enumerate(specs)]
        )
    assert planner.set_picks[1] == 0
