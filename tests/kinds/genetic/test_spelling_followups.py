"""A screen's own spelling of gene symbols, beyond the proposals: what the genetic agent and
the gene pool say back is in the spelling the user (or model) wrote, and a gene-pair screen
records and shows its pairs as the file spells their genes, matched ignoring case as before."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from agent_helpers import Ranker
from langchain_core.language_models import FakeListChatModel
from stores import run_parts

from perturbo.kinds.genetic.experiment import GenePool, GeneticMetrics
from perturbo.kinds.genetic.pairs import PairExecutor, PairPool, load_pair_screen
from perturbo.types import ExperimentSpec, InvalidSpec, Observation, Outcome, Status


def test_the_gene_pool_names_an_unknown_gene_as_written() -> None:
    pool = GenePool(["CD247", "CD3E"], {"CD247": "Cd247", "CD3E": "Cd3e"})
    with pytest.raises(InvalidSpec, match=r"^Cd248 is not a gene of this screen.*Cd247"):
        pool.validate({"gene": " Cd248 "})


def test_the_agent_is_told_tested_and_duplicate_genes_as_it_wrote_them(screen, knowledge) -> None:  # type: ignore[no-untyped-def]
    from perturbo.kinds.genetic.agent.genetic import GeneticAgentPlanner

    first = json.dumps({"genes": ["g01", "G05", "g05"], "rationale": "near hits"})
    p = GeneticAgentPlanner(screen.genes, screen.task, FakeListChatModel(responses=[first] * 3),
                            knowledge=knowledge, ranker=Ranker(list(reversed(screen.genes))),
                            style="genes", max_repairs=1)  # fmt: skip
    spec = ExperimentSpec({"gene": "G01"}, "genetic", id="0-G01", round=0)
    p.tell([Observation(spec, Outcome(Status.COMPLETED, {"score": 0.0, "hit": 0.0}))])
    p.ask(3, [])
    errors = p.last_trace.calls[0].errors[0]
    assert "g01 was already tested (or is running)" in errors, errors
    assert "g05 is a duplicate" in errors, errors
    assert any(e.endswith("already accepted: G05") for e in errors), errors


def _mouse_pairs(tmp_path: Path) -> Path:
    genes = ["Cd247", "Cd3e", "Ifng", "Stat1", "Jak1", "Lck"]
    rows = [f"\"('{a}', '{b}')\",{i * 0.1:.2f}" for i, (a, b) in enumerate(
        (a, b) for n, a in enumerate(genes) for b in genes[n + 1 :])]  # fmt: skip
    path = tmp_path / "mouse_pairs.csv"
    path.write_text("Gene_pairs,Score\n" + "\n".join(rows) + "\n")
    return path


def test_a_pair_screen_keeps_its_spelling_and_matches_by_key(tmp_path: Path) -> None:
    screen = load_pair_screen(_mouse_pairs(tmp_path), hit_tail="high")
    assert "CD247+CD3E" in screen.pairs  # the keys
    assert screen.spell("cd3e+CD247") == "Cd247+Cd3e" and "Cd3e,Cd247" in screen
    pool = PairPool(screen.pairs, screen.spelling)
    assert pool.validate({"pair": "('CD3E', 'cd247')"}) == {"pair": "Cd247+Cd3e"}
    assert pool.key({"pair": "Cd247+Cd3e"}) == "CD247+CD3E"
    drawn = pool.sample(__import__("numpy").random.default_rng(0), 15, set())
    assert {d["pair"] for d in drawn} == {screen.spell(p) for p in screen.pairs}
    out = PairExecutor(screen).run(ExperimentSpec({"pair": "Cd247+Cd3e"}))
    assert out.status is Status.COMPLETED


def test_a_pair_campaign_records_the_screens_spelling(tmp_path: Path) -> None:
    from perturbo.kinds.genetic.compose import build

    parts = build({"screen": str(_mouse_pairs(tmp_path)), "planner": "random", "batch": 5,
                   "rounds": 3})  # fmt: skip
    history = run_parts(parts)
    pairs = [str(o.spec.params["pair"]) for o in history if o.outcome.ok]
    assert len(set(pairs)) == 15 and all(p != p.upper() for p in pairs), pairs
    screen = load_pair_screen(_mouse_pairs(tmp_path), hit_tail="high")
    m = GeneticMetrics(screen)(list(history), list(history))
    assert m["n_tested"] == 15 and m["hits_total"] == len(screen.hits)


def test_a_pair_hits_file_warning_names_unknown_pairs_as_the_file_writes_them(
    tmp_path: Path,
) -> None:
    hits = tmp_path / "hits.txt"
    hits.write_text("Cd247_Cd3e\nFoxp3_Il2ra  # of a wider library\n('Il7r', 'Cd8a')\nil7r_cd8a\n")
    with pytest.warns(UserWarning, match=r"2 of 3 hit pairs") as caught:
        screen = load_pair_screen(_mouse_pairs(tmp_path), str(hits))
    assert screen.hits == {"CD247+CD3E"}
    assert "not in the screen (Foxp3_Il2ra, ('Il7r', 'Cd8a')) and" in str(caught[0].message)


def test_one_hit_is_singular_in_the_agent_prompt_and_the_hit_ratio_title() -> None:
    from perturbo.kinds.genetic.agent.tools import CampaignStats
    from perturbo.kinds.genetic.plots import _found

    stats = CampaignStats(1, 8, 1, 0.125, (("Cd247", 1.0),), (("Ifng", -1.0),), ("Cd247",))
    assert "1 hit (" in stats.text() and "1 hits" not in stats.text()
    assert _found(1, "") == "1 hit found" and _found(3, " of 40") == "3 of 40 hits found"
