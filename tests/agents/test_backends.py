"""Backend selection and its errors: missing keys and packages are one clear PerturboError;
an unreachable endpoint ends in a marked fallback, never a crash or a lost round; keys never
appear in what may be logged."""

from __future__ import annotations

import importlib.util
import socket

import pytest

from perturbo.agents.llm import LLMSettings, make_chat_model
from perturbo.kinds.genetic.agent.genetic import GeneticAgentPlanner
from perturbo.types import PerturboError


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unknown_backend_names_the_choices() -> None:
    with pytest.raises(PerturboError, match="local, openai, anthropic, ollama"):
        LLMSettings(backend="gpt")


def test_openai_without_key_is_a_clear_error() -> None:
    with pytest.raises(PerturboError, match="OPENAI_API_KEY"):
        make_chat_model(LLMSettings(backend="openai"))


def test_anthropic_without_key_is_a_clear_error() -> None:
    with pytest.raises(PerturboError, match="ANTHROPIC_API_KEY"):
        make_chat_model(LLMSettings(backend="anthropic"))


@pytest.mark.skipif(importlib.util.find_spec("langchain_anthropic") is not None, reason="installed")
def test_anthropic_missing_package_names_the_install() -> None:
    with pytest.raises(PerturboError, match="pip install"):
        make_chat_model(LLMSettings(backend="anthropic", api_key="sk-test"))


@pytest.mark.skipif(importlib.util.find_spec("langchain_ollama") is not None, reason="installed")
def test_ollama_missing_package_names_the_install() -> None:
    with pytest.raises(PerturboError, match="langchain-ollama"):
        make_chat_model(LLMSettings(backend="ollama"))


def test_key_never_in_repr_or_public_params() -> None:
    s = LLMSettings(backend="openai", api_key="sk-secret-123", base_url="http://127.0.0.1:1/v1")
    assert "sk-secret-123" not in repr(s)
    pub = s.public()
    assert "sk-secret-123" not in str(pub) and pub["api_key_set"] is True
    llm = make_chat_model(s)
    assert "sk-secret-123" not in repr(llm) and "sk-secret-123" not in str(llm)


def test_unreachable_endpoint_falls_back_marked(screen, knowledge) -> None:
    url = f"http://127.0.0.1:{_free_port()}/v1"  # nothing listens there
    llm = make_chat_model(
        LLMSettings(backend="openai", base_url=url, model="m", timeout_s=3, max_retries=0)
    )
    p = GeneticAgentPlanner(screen.genes, screen.task, llm, knowledge=knowledge)
    specs = p.ask(6, [])
    assert len(specs) == 6 and len({s.params["gene"] for s in specs}) == 6
    assert all(s.planner == "fallback" for s in specs)
    t = p.last_trace
    assert t.failed and "Connection" in t.calls[0].failure and t.repairs == 0
