"""The chat starts without its model: ``/help``, ``/list`` and the questions the router settles
by their words never load it; a question that needs it loads it then, and a model that cannot
be made (weights missing) is said then, in the factory's own words, without ending the chat.
Fast: a fake store (tests/chat/attack_store.py), fake models."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
from attack_store import attack_store
from chat_helpers import prose

MISSING = "local model qwen2.5-coder-1.5b: chunk packages missing; or use --llm-model smollm2-135m"


@pytest.fixture
def tools(tmp_path: Path) -> Any:
    from perturbo.agents.chat.actions import Launcher
    from perturbo.agents.chat.tools import ChatTools

    store = attack_store()
    kinds = importlib.import_module("perturbo.kinds")
    return ChatTools(store, Launcher(store.uri, local=True, workdir=tmp_path), kinds=kinds)


def _factory(calls: list[int], model: Any = None) -> Any:
    from perturbo.types import PerturboError

    def make() -> Any:
        calls.append(1)
        if model is None:
            raise PerturboError(MISSING)
        return model

    return make


def _answer(agent: Any, text: str) -> tuple[list[Any], str]:
    from perturbo.agents.chat.agent import Done, Facts

    events = list(agent.respond(text))
    assert isinstance(events[-1], Done)
    return events, "\n".join(e.text for e in events if isinstance(e, Facts))


@pytest.mark.parametrize("mode", ["grammar", "tools"])
def test_slash_commands_need_no_model(tools: Any, mode: str) -> None:
    from perturbo.agents.chat.agent import ChatAgent
    from perturbo.agents.chat.lazy import LazyModel

    calls: list[int] = []
    agent = ChatAgent(LazyModel(_factory(calls), "qwen"), tools, mode)  # type: ignore[arg-type]
    _, text = _answer(agent, "/help")
    assert "/list" in text
    _, text = _answer(agent, "/list")
    assert "atk-casc" in text
    _, text = _answer(agent, "/show atk-casc")
    assert "worst_case_robust_accuracy = 0.3" in text
    assert calls == []  # the model was never made


def test_a_question_that_needs_the_model_says_why_it_cannot_load(tools: Any) -> None:
    from perturbo.agents.chat.agent import ChatAgent, Facts
    from perturbo.agents.chat.lazy import LazyModel

    calls: list[int] = []
    agent = ChatAgent(LazyModel(_factory(calls), "qwen"), tools, "grammar", prose_tokens=0)
    _, text = _answer(agent, "summarise atk-casc")  # settled by its words: no model
    assert "atk-casc" in text and calls == []
    agent.last_campaign = None  # not a follow-up about atk-casc
    events, text = _answer(agent, "hello, what can you do for me?")  # the model must choose
    assert MISSING in text and calls == [1]
    assert any(isinstance(e, Facts) and not e.ok for e in events)
    _, text = _answer(agent, "/list")  # the chat goes on
    assert "atk-casc" in text
    agent.prose_tokens = 8  # prose asked for: the facts stand, the prose is said missing
    events, text = _answer(agent, "summarise atk-casc")
    assert "worst_case_robust_accuracy = 0.3" in text and MISSING in text and calls == [1, 1]


def test_the_model_is_made_once_on_first_need(tools: Any) -> None:
    from perturbo.agents.chat.agent import ChatAgent, Token
    from perturbo.agents.chat.lazy import LazyModel

    calls: list[int] = []
    agent = ChatAgent(LazyModel(_factory(calls, prose("It is a linf attack.", "Again.")), "fake"),
                      tools, "grammar", prose_tokens=8)  # fmt: skip
    events, _ = _answer(agent, "/list")
    assert calls == []
    events, _ = _answer(agent, "summarise atk-casc")  # its prose needs the model
    assert calls == [1] and any(isinstance(e, Token) for e in events)
    _answer(agent, "summarise atk-lin2")
    assert calls == [1]


def test_the_front_ends_agent_makes_no_model_to_start(tools: Any) -> None:
    """``lazy_agent`` (what ``perturbo chat`` builds): the embedded model's settings, no model
    made until a question needs one; /list answers meanwhile."""
    from perturbo.agents.chat.start import lazy_agent

    agent = lazy_agent(tools, {"llm": "local", "llm_model": "smollm2-135m"})
    assert agent.mode == "grammar" and "smollm2" in agent.model_name
    _, text = _answer(agent, "/list")
    assert "atk-casc" in text and not agent._llm.loaded
