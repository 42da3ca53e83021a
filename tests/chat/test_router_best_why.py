"""Routing of "best ... and why" and "why did it fail": the summary (its best config, what did
not complete and why the campaign stopped) answers them, not the last round's rationale; a
question about a round's choice still goes to that round. Fast: no store, no model."""

from __future__ import annotations

import pytest

from perturbo.agents.chat.router import hints

CAMPAIGNS = ["atk1", "atk-fail", "bench-screen-bo"]
KINDS = ["genetic", "hyperparameter", "attack"]


@pytest.mark.parametrize(
    ("text", "tool", "args"),
    [
        ("which config was best in atk1 and why?", "summarize_campaign", {"name": "atk1"}),
        ("why was that config the best one in atk1?", "summarize_campaign", {"name": "atk1"}),
        ("why did atk-fail fail?", "summarize_campaign", {"name": "atk-fail"}),
        ("why was round 2 of bench-screen-bo chosen?", "explain_round", {"name": "bench-screen-bo", "round": 2}),
        ("why were the genes of bench-screen-bo chosen?", "explain_round", {"name": "bench-screen-bo"}),
        ("what was the best config in round 2 of atk1 and why?", "explain_round", {"name": "atk1", "round": 2}),
    ],
)  # fmt: skip
def test_best_and_failure_questions_go_to_the_summary(text: str, tool: str, args: dict) -> None:
    route = hints(text, CAMPAIGNS, KINDS).fixed()
    assert route is not None and (route.tool, route.args) == (tool, args), route
