"""The genetic agent and hybrid planners with fake chat models on a tiny screen.

Each bad answer ends in a repair or a fallback that is *marked* (planner="fallback"); the
batch is always full, valid and new; a campaign never loses a round."""

from __future__ import annotations

import json

import pytest
from agent_helpers import Ranker, run_on_screen
from langchain_core.language_models import FakeListChatModel

from perturbo.kinds.genetic.agent.genetic import GeneticAgentPlanner
from perturbo.types import ExperimentSpec, Observation, Outcome, Status


def _choices(*ids: int, why: str = "test") -> str:
    return json.dumps({"ids": list(ids), "rationale": why})


def _planner(screen, knowledge, responses, **kw) -> GeneticAgentPlanner:  # type: ignore[no-untyped-def]
    ranker = kw.pop("ranker", Ranker(list(reversed(screen.genes))))
    return GeneticAgentPlanner(
        screen.genes,
        screen.task,
        FakeListChatModel(responses=responses),
        knowledge=knowledge,
        ranker=ranker,
        **kw,
    )


def _tell_round(p: GeneticAgentPlanner, screen, genes: list[str], round: int = 0) -> None:  # type: ignore[no-untyped-def]
    obs = [
        Observation(
            ExperimentSpec({"gene": g}, "genetic", id=f"{round}-{g}", round=round),
            Outcome(Status.COMPLETED, {"score": screen.score(g), "hit": float(screen.is_hit(g))}),
        )
        for g in genes
    ]
    p.tell(obs)


def _check_batch(specs: list[ExperimentSpec], n: int, tested: set[str], screen) -> None:  # type: ignore[no-untyped-def]
    genes = [s.params["gene"] for s in specs]
    assert len(genes) == n and len(set(genes)) == n
    assert not set(genes) & tested and all(g in screen for g in genes)
    assert all(s.planner in ("agent", "bo", "fallback") and s.note for s in specs)


def test_agent_draws_the_batch_from_the_chosen_enriched_set(screen, knowledge) -> None:
    p = _planner(screen, knowledge, [_choices(1)])
    tested = ["G01", "G03", "G02", "G04", "G30", "G31"]
    _tell_round(p, screen, tested)
    specs = p.ask(4, [])
    _check_batch(specs, 4, set(tested), screen)
    hyp_listing = p.last_trace.calls[0].prompt
    assert "1. SET0 |" in hyp_listing  # enriched among the hits: listed first
    assert {s.params["gene"] for s in specs} <= set(knowledge.genes_in_set("LIB: SET0"))
    assert all(s.planner == "agent" and "SET0" in s.note for s in specs)
    assert p.last_trace.validity == 1.0 and p.last_trace.repairs == 0


def test_garbage_then_valid_answer_is_one_repair(screen, knowledge) -> None:
    p = _planner(screen, knowledge, ["no idea, sorry", _choices(2, 1)])
    specs = p.ask(6, [])
    _check_batch(specs, 6, set(), screen)
    t = p.last_trace
    assert t.repairs == 1 and t.by_source.get("agent") == 6 and t.validity_first == 0.0


def test_hallucinated_ids_are_fed_back_and_repaired(screen, knowledge) -> None:
    p = _planner(screen, knowledge, [_choices(42, 1, 1), _choices(1)])
    p.ask(3, [])
    call = p.last_trace.calls[0]
    assert any("42 is not in the list" in e for e in call.errors[0])
    assert call.repairs == 1 and not any("1" in e for e in call.errors[0][1:])  # repeats: no repair
    assert call.ok and p.last_trace.validity_first == pytest.approx(
        1 / 3
    )  # one valid distinct id of 3


@pytest.mark.parametrize("bad", ["", "{}", '{"choices": "all of them"}', "[1, 2, 3]"])
def test_persistently_bad_output_falls_back_marked_never_crashes(screen, knowledge, bad) -> None:
    p = _planner(screen, knowledge, [bad] * 5, max_repairs=2)
    specs = p.ask(8, [])
    _check_batch(specs, 8, set(), screen)
    assert all(s.planner == "fallback" and s.note.startswith("fallback") for s in specs)
    assert p.last_trace.repairs == 2 and p.last_trace.by_source == {"fallback": 8}


def test_set_exhausted_rest_is_fallback_from_bo_ranking(screen, knowledge) -> None:
    ranker = Ranker(list(reversed(screen.genes)))
    p = _planner(screen, knowledge, [_choices(1)], ranker=ranker)
    tested = ["G01", "G03"]
    _tell_round(p, screen, tested)
    specs = p.ask(12, [])
    _check_batch(specs, 12, set(tested), screen)
    from_agent = [s for s in specs if s.planner == "agent"]
    rest = [s.params["gene"] for s in specs if s.planner == "fallback"]
    assert len(from_agent) == 8  # SET0 has 8 untested genes
    assert (
        rest
        == [
            g
            for g in reversed(screen.genes)
            if g not in tested and g not in {s.params["gene"] for s in from_agent}
        ][:4]
    )  # bo's order
    assert ranker.told  # the ranker learns from what the agent tells


def test_hybrid_gives_a_share_to_the_agent_and_the_rest_to_bo(screen, knowledge) -> None:
    ranker = Ranker(list(screen.genes[20:]) + list(screen.genes[:20]))
    p = _planner(screen, knowledge, [_choices(1)], ranker=ranker, hybrid=True, agent_share=0.5)
    _tell_round(p, screen, ["G01", "G03"])
    specs = p.ask(8, [])
    _check_batch(specs, 8, {"G01", "G03"}, screen)
    agent = [s.params["gene"] for s in specs if s.planner == "agent"]
    bo = [s.params["gene"] for s in specs if s.planner == "bo"]
    assert p.name == "hybrid" and len(agent) == 4 and len(bo) == 4
    first = p.last_trace.calls[0].prompt.split("\n1. ")[1].split(" |")[0]
    assert set(agent) <= set(knowledge.genes_in_set(f"LIB: {first}"))
    assert bo == ["G20", "G21", "G22", "G23"]


def test_pending_genes_are_never_proposed(screen, knowledge) -> None:
    p = _planner(screen, knowledge, [_choices(1, 2)])
    pending = [ExperimentSpec({"gene": g}) for g in screen.genes[:30]]
    specs = p.ask(10, pending)
    _check_batch(specs, 10, set(screen.genes[:30]), screen)


def test_critic_can_revise_the_choice(screen, knowledge) -> None:
    verdict = json.dumps({"approve": False, "ids": [2], "comment": "set 2 is better"})
    p = _planner(screen, knowledge, [_choices(1), verdict], critic=True)
    _tell_round(p, screen, ["G01", "G03", "G12"])
    specs = p.ask(3, [])
    names = [c.name for c in p.last_trace.calls]
    assert names == ["agent.sets", "agent.critic"]
    assert all("critic: set 2 is better" in s.note for s in specs if s.planner == "agent")


def test_genes_style_hallucinated_genes_repaired_then_filled(screen, knowledge) -> None:
    first = json.dumps({"genes": ["G05", "FAKE1", "G05", "g07 "], "rationale": "near hits"})
    second = json.dumps({"genes": ["G09"], "rationale": "more"})
    p = _planner(screen, knowledge, [first, second, second], style="genes", max_repairs=1)
    _tell_round(p, screen, ["G01"])
    specs = p.ask(5, [])
    _check_batch(specs, 5, {"G01"}, screen)
    call = p.last_trace.calls[0]
    assert any("'FAKE1' is not a gene" in e for e in call.errors[0])
    assert any("duplicate" in e for e in call.errors[0])
    agent = [s.params["gene"] for s in specs if s.planner == "agent"]
    assert agent == ["G05", "G07", "G09"]  # normalised, deduplicated, accumulated over turns
    assert [s.planner for s in specs].count("fallback") == 2
    assert p.last_trace.validity_first == pytest.approx(2 / 4)


def test_campaign_with_a_failing_llm_loses_no_round(screen, knowledge) -> None:
    p = _planner(
        screen, knowledge, ["garbage"] * 2 + [_choices(1)] + ["garbage"] * 20, max_repairs=1
    )
    rounds = []
    history = run_on_screen(p, screen, batch=5, rounds=3, on_round=rounds.append)
    assert [r.round for r in rounds] == [0, 1, 2] and len(history) == 15
    assert all(o.outcome.status is Status.COMPLETED for o in history)
    assert [t.by_source.get("fallback", 0) for t in p.traces] == [5, 0, 5]


def test_hybrid_marks_its_share_fallback_when_the_llm_gives_nothing(screen, knowledge) -> None:
    p = _planner(screen, knowledge, ["junk"] * 3, hybrid=True, agent_share=0.5, max_repairs=1)
    specs = p.ask(8, [])
    _check_batch(specs, 8, set(), screen)
    assert [s.planner for s in specs] == ["fallback"] * 4 + ["bo"] * 4
