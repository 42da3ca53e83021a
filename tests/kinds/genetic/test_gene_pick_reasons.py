"""Each gene of a ``bo`` batch names the mechanism that chose it (``pick_reasons``), so the batch
sheet's ``Why`` says which genes set-level Thompson drew, not only how many."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from synthetic_sets import GENES, N, library

from perturbo.kinds.genetic import GeneticExecutor, Screen
from perturbo.kinds.genetic.genesets import GeneKnowledge
from perturbo.kinds.genetic.lab.sheet import UNIFORM_WHY, gene_reasons
from perturbo.kinds.genetic.planners import gene_why as why
from perturbo.kinds.genetic.planners.gene_bo import GeneBOPlanner
from perturbo.types import ExperimentSpec, Observation


@pytest.fixture(scope="module")
def know(tmp_path_factory: pytest.TempPathFactory) -> GeneKnowledge:
    return GeneKnowledge.for_genes(GENES, library(tmp_path_factory.mktemp("lib")), cache_dir=None)


def _rounds(know: GeneKnowledge, config: dict[str, Any], seed: int = 1) -> list[list[str]]:
    """Four rounds of 24 on the rare-hit synthetic screen (one hit set of 10 in 400): each
    round's Why per gene."""
    hits = frozenset(GENES[50:60])
    screen = Screen(
        "Syn", GENES, np.array([float(g in hits) for g in GENES]), hits, "t", "s", "SynStudy"
    )
    rng = np.random.default_rng(7)
    prior = {"a": rng.uniform(0.01, 0.2, N), "b": rng.uniform(0.01, 0.2, N)}
    planner = GeneBOPlanner(
        screen, seed=seed, knowledge=know, cache_dir=None, prior_scores=prior, **config
    )
    ex, out = GeneticExecutor(screen), []
    for r in range(4):
        specs = planner.ask(24, [])
        out.append(gene_reasons(planner, specs))
        planner.tell(
            [Observation(s.stamped(f"{r}-{i}", r), ex.run(s)) for i, s in enumerate(specs)]
        )
    return out


def test_set_level_thompson_picks_are_named_gene_by_gene(know: GeneKnowledge) -> None:
    rounds = _rounds(know, {"hedge": True})  # 6 set-level picks over the campaign
    assert sum(w.count(UNIFORM_WHY) for w in rounds[:1]) == 12  # round 1's uniform half
    assert all(w.startswith(why.PRIOR) for w in rounds[0] if w != UNIFORM_WHY)
    later = [w for ws in rounds[1:] for w in ws]
    drawn = [w for w in later if w.startswith(why.SET_THOMPSON)]
    assert len(drawn) == 6, later
    assert all("by set-level Thompson" in w for w in drawn)  # the round's note follows
    assert all(w.startswith((why.MEAN, why.SET_THOMPSON)) for w in later), later


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ({"acquisition": "ucb", "hedge": True}, why.UCB),
        ({"acquisition": "thompson", "hedge": True}, why.THOMPSON),
        ({"liar": True, "hedge": True}, why.MEAN_LIAR),
        ({"acquisition": "rwr", "hedge": True}, why.RWR),
    ],
)
def test_each_acquisition_names_itself(know: GeneKnowledge, config, words: str) -> None:
    later = [w for ws in _rounds(know, config)[1:] for w in ws]
    assert all(w.startswith(words + "; GP ") for w in later), later


def test_a_pinned_gene_keeps_its_note() -> None:
    planner = type("P", (), {"pick_reasons": {"TP53": why.MEAN}})()
    spec = ExperimentSpec({"gene": "TP53"}, "genetic", planner="user", note="pinned by you")
    assert gene_reasons(planner, [spec]) == ["pinned by you"]
