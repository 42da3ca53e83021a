"""Gene-pair screens: the CSV format, the pool/executor, and a pair GP that beats random by
>= 2x on a synthetic screen whose interactions follow gene-set structure."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from stores import run_parts

from perturbo.kinds.genetic.experiment import GeneticMetrics
from perturbo.kinds.genetic.genesets import GeneKnowledge, LibrarySource
from perturbo.kinds.genetic.pairs import (
    PairExecutor,
    PairPool,
    is_pair_csv,
    load_pair_screen,
    pair_key,
)
from perturbo.kinds.genetic.planners.gene_pairs import PairBOPlanner
from perturbo.search.random import RandomPlanner
from perturbo.types import ExperimentSpec, InvalidSpec, Observation

N_GENES = 120
GENES = [f"G{i}" for i in range(N_GENES)]
INTERACTING = {(0, 1), (2, 5), (3, 3), (7, 9)}  # complex pairs whose gene pairs are hits


def _library(tmp_path: Path) -> list[LibrarySource]:
    """12 disjoint complexes of 10 genes, plus 12 random 'pathways'."""
    rng = np.random.default_rng(3)
    lines = [f"C{k}\tx\t" + "\t".join(GENES[10 * k : 10 * k + 10]) for k in range(12)]
    lines += [f"P{k}\tx\t" + "\t".join(rng.choice(GENES, 12, replace=False)) for k in range(12)]
    p = tmp_path / "syn.gmt"
    p.write_text("\n".join(lines) + "\n")
    return [LibrarySource("Syn", p)]


def _pair_csv(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    rows = []
    for a, b in itertools.combinations(range(N_GENES), 2):
        ca, cb = sorted((a // 10, b // 10))
        score = (3.0 if (ca, cb) in INTERACTING else 0.0) + rng.normal(0, 0.3)
        rows.append(f"\"('{GENES[a]}', '{GENES[b]}')\",{score:.4f}")
    path = tmp_path / "pairs.csv"
    path.write_text("Gene_pairs,Score\n" + "\n".join(rows) + "\n")
    return path


def _run(planner, screen, rounds: int, batch: int) -> int:  # type: ignore[no-untyped-def]
    ex, seen = PairExecutor(screen), []
    for r in range(rounds):
        specs = planner.ask(batch, [])
        obs = [Observation(s.stamped(f"{r}-{i}", r), ex.run(s)) for i, s in enumerate(specs)]
        planner.tell(obs)
        seen += obs
    assert len({o.spec.params["pair"] for o in seen}) == rounds * batch  # no pair twice
    return int(GeneticMetrics(screen)([], seen)["hits_total"])


def test_pair_csv_format_pool_and_executor(tmp_path: Path) -> None:
    path = _pair_csv(tmp_path)
    assert is_pair_csv(path)
    screen = load_pair_screen(path, hit_tail="high")
    assert len(screen) == N_GENES * (N_GENES - 1) // 2
    assert pair_key("('G5', 'g1')") == "G1+G5" == pair_key("G5,G1")
    pool = PairPool(screen.pairs)
    assert pool.validate({"pair": "('G5', 'G1')"}) == {"pair": "G1+G5"}
    with pytest.raises(InvalidSpec):
        pool.validate({"pair": "G1+G1"})
    out = PairExecutor(screen).run(ExperimentSpec({"pair": "G0+G15"}))  # complexes 0 and 1
    assert out.metrics["hit"] == 1.0
    assert not hasattr(screen.view(), "hits") and len(screen.view().genes) == N_GENES


def test_pair_gp_beats_random_by_2x_at_equal_budget(tmp_path: Path) -> None:
    screen = load_pair_screen(_pair_csv(tmp_path), hit_tail="high")
    assert 0.02 < len(screen.hits) / len(screen) <= 0.05
    know = GeneKnowledge.for_genes(screen.view().genes, _library(tmp_path), cache_dir=None)
    bo, rnd = [], []
    for seed in range(3):
        bo.append(_run(PairBOPlanner(screen, seed=seed, knowledge=know), screen, 4, 50))
        rnd.append(_run(RandomPlanner(PairPool(screen.pairs), "genetic", seed), screen, 4, 50))
    assert np.mean(bo) >= 2 * np.mean(rnd), (bo, rnd)


def test_build_runs_a_pair_campaign_from_the_csv(tmp_path: Path) -> None:
    from perturbo.kinds.genetic.compose import build

    parts = build(
        {"screen": str(_pair_csv(tmp_path)), "planner": "random", "batch": 20, "rounds": 2}
    )
    assert isinstance(parts.space, PairPool) and parts.params["pairs"] == 7140
    history = run_parts(parts)
    assert len([o for o in history if o.outcome.ok]) == 40
