"""LLM agents that design experiments (LangChain lives only in this package).

Imported lazily: ``import perturbo.agents`` costs nothing until a name below is used, so
``perturbo --help`` stays fast and the Ray ``ModelHost`` actor can import the llama.cpp
engine without pulling in LangChain.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "SpaceAgentPlanner": "perturbo.agents.space_agent",
    "make_space_planner": "perturbo.agents.space_agent",
    "RoundTrace": "perturbo.agents.trace",
    "LLMCall": "perturbo.agents.structured",
    "ask_structured": "perturbo.agents.structured",
    "llm_settings": "perturbo.agents.llm",
    "LLMSettings": "perturbo.agents.llm",
    "make_chat_model": "perturbo.agents.llm",
    "LocalChatModel": "perturbo.agents.local_chat",
    "EngineSettings": "perturbo.agents.llama_engine",
    "LlamaEngine": "perturbo.agents.llama_engine",
    "resolve_local_model": "perturbo.agents.weights",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'perturbo.agents' has no attribute {name!r}")
