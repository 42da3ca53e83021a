"""The chat on the real embedded model (SmolLM2-135M, always installed), on the real store.

llama.cpp is native code: built for the wrong CPU it dies with a signal instead of raising.
The model is therefore loaded only in a child process (``run_in_child``), so a crash fails
this test with the signal's name instead of killing the test run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from chat_helpers import GEN

pytestmark = pytest.mark.slow

QUESTIONS = (
    "hello! what can you do?",  # nothing named, no intent word: the model routes (grammar)
    "how many hits did the screen campaign find?",  # the words decide: no model call
)


def chat_in_child(uri: str, workdir: str) -> list[dict[str, Any]]:
    """Run in the child: the agent on SmolLM2 answers :data:`QUESTIONS`; plain data back."""
    from perturbo.agents.chat.agent import Done, Facts, Step, Token
    from perturbo.chat.build import make_agent, make_tools

    tools = make_tools(uri, local=True, workdir=workdir)
    cfg = {"llm": "local", "llm_model": "smollm2-135m", "llm_threads": 1}
    agent = make_agent(tools, cfg, "auto", prose_tokens=12)
    out = []
    for q in QUESTIONS:
        events = list(agent.respond(q))
        done = events[-1]
        assert isinstance(done, Done)
        out.append(
            {
                "steps": [(e.name, e.how, e.ok) for e in events if isinstance(e, Step)],
                "facts": [e.text for e in events if isinstance(e, Facts)],
                "prose": "".join(e.text for e in events if isinstance(e, Token)),
                "sources": [r.text for r in done.results] + [q],
                "reply": done.text,
            }
        )
    return out


def test_the_embedded_model_routes_and_states_no_unsupported_number(
    chat_store: str, tmp_path: Path
) -> None:
    from perturbo.agents.chat.guard import NumberGuard
    from perturbo.agents.chat.tools import ACTION_TOOLS, READ_TOOLS
    from perturbo.agents.llm_check import run_in_child

    hello, hits = run_in_child(chat_in_child, chat_store, str(tmp_path), timeout_s=600)
    assert hello["reply"].strip()  # an answer, whichever way the model routed
    for name, how, _ in hello["steps"]:
        assert how == "grammar" and name in READ_TOOLS  # no action without an action word
        assert name not in ACTION_TOOLS
    assert hits["steps"] == [("summarize_campaign", "fixed", True)]
    assert hits["facts"][0].startswith(f"{GEN} (genetic")
    for turn in (hello, hits):  # every number the model wrote is one a tool returned
        assert NumberGuard(turn["sources"]).unsupported(turn["prose"]) == []
