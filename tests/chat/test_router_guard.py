"""The pieces without a store or a model: the number guard, the router's hints and grammar
schema, slash commands. Fast (no MLflow, no LLM)."""

from __future__ import annotations

import pytest

from perturbo.agents.chat.guard import NumberGuard, SentenceGuard, numbers
from perturbo.agents.chat.router import Hints, Route, choice_schema, hints, parse_slash

CAMPAIGNS = ["bench-screen-bo", "bench-screen-random", "bench-branin-random", "bench-branin-sobol"]
KINDS = ["genetic", "hyperparameter", "attack"]


def test_numbers_skip_digits_inside_names() -> None:
    assert numbers("best 10.87 in r001-0002 of x-s0-20261201, 11% and -3") == ["10.87", "11%", "-3"]


def test_sentence_guard_streams_only_supported_sentences() -> None:
    g = SentenceGuard(NumberGuard(["best value = 10.87; 6 hits in 32 experiments"]))
    out = []
    for chunk in [
        "The best is 10.",
        "87 overall. It found 7",
        " hits. Six hits in 32 ",
        "experiments",
    ]:
        out += g.feed(chunk)
    out += g.flush()
    assert out == ["The best is 10.87 overall.", "Six hits in 32 experiments ..."]
    assert g.dropped == ["It found 7 hits."]


@pytest.mark.parametrize(
    ("text", "tool", "args"),
    [
        ("how many campaigns are there?", "list_campaigns", {}),
        ("list the genetic campaigns", "list_campaigns", {"kind": "genetic"}),
        ("summarise the sobol branin campaign", "summarize_campaign", {"name": "bench-branin-sobol"}),
        ("why was round 2 of bench-screen-bo chosen?", "explain_round", {"name": "bench-screen-bo", "round": 2}),
        ("compare the two screen campaigns", "compare_campaigns", {"first": "bench-screen-bo", "second": "bench-screen-random"}),
        ("resume bench-branin-random to 12 trials", "resume_campaign", {"name": "bench-branin-random", "trials": 12}),
        ("summarise campaign bench-nope-xyz", "summarize_campaign", {"name": "bench-nope-xyz"}),
        (
            "launch a genetic campaign on screen IFNG with the bo planner, 3 rounds, batch 8",
            "launch_campaign",
            {"kind": "genetic", "settings": {"planner": "bo", "rounds": 3, "batch": 8, "screen": "IFNG"}},
        ),
        (
            "kick off a random search on the branin task with 12 trials and batch size 4",
            "launch_campaign",
            {"kind": "hyperparameter", "settings": {"planner": "random", "trials": 12, "batch": 4, "task": "branin"}},
        ),
        ("which campaign found the most hits?", "rank_campaigns", {"by": "hits"}),
        ("how many hits did the two screen campaigns find together?", "compare_campaigns", {"first": "bench-screen-bo", "second": "bench-screen-random"}),
        ("what seed did the optuna screen campaign use?", "summarize_campaign", {"name": "the optuna screen campaign"}),
        ("list the screen campaigns", "list_campaigns", {"kind": "genetic"}),
    ],
)  # fmt: skip
def test_hints_fix_the_route_where_the_words_leave_one(text: str, tool: str, args: dict) -> None:
    route = hints(text, CAMPAIGNS, KINDS).fixed()
    assert route is not None and route.tool == tool and route.args == args


def test_where_the_words_leave_a_choice_the_model_gets_a_tiny_one() -> None:
    h = hints("hello, what can you do for me?", CAMPAIGNS, KINDS)
    assert h.fixed() is None  # nothing named, no intent word: the model chooses
    assert choice_schema(["list_campaigns", "answer"]) == {
        "type": "object",
        "properties": {"choice": {"enum": ["list_campaigns", "answer"]}},
        "required": ["choice"],
    }
    h = Hints(tools=("summarize_campaign",), names=())
    assert h.fixed() is None and h.missing("summarize_campaign") == "name"
    route = h.route("summarize_campaign", ["bench-screen-bo"], "grammar")
    assert route == Route("summarize_campaign", {"name": "bench-screen-bo"}, "grammar")
    h = Hints(tools=("compare_campaigns",), names=("bench-screen-bo",))
    assert h.missing("compare_campaigns") == "second"
    assert h.route("compare_campaigns", ["bench-branin-sobol"]).args == {
        "first": "bench-screen-bo",
        "second": "bench-branin-sobol",
    }


def test_slash_commands() -> None:
    assert parse_slash("/show bench").args == {"name": "bench"}
    assert parse_slash("/why bench-screen-bo 2").args == {"name": "bench-screen-bo", "round": 2}
    r = parse_slash('/pin bench-screen-bo {"gene": "IFNG"} {"gene": "CD274"}')
    assert r.args["experiments"] == [{"gene": "IFNG"}, {"gene": "CD274"}]
    assert parse_slash("/launch hyperparameter task=branin trials=8").args == {
        "kind": "hyperparameter",
        "settings": {"task": "branin", "trials": 8},
    }
    with pytest.raises(ValueError, match="unknown command"):
        parse_slash("/frobnicate")
    with pytest.raises(ValueError, match="usage: /compare"):
        parse_slash("/compare only-one")
