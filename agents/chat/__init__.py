"""The chat agent and its tools (``perturbo chat``, ``perturbo chat --web``, ``perturbo mcp``).

- :mod:`.facts`: what the chat says about campaigns, computed from the store (no LangChain);
- :mod:`.names`: which campaign a message means (or that it names none of the store's);
- :mod:`.figures`, :mod:`.compare`: settings, per-round figures, comparisons and rankings;
- :mod:`.tools` (:mod:`.read_tools`): the tools, plain typed functions returning a
  :class:`~.result.ToolResult`;
- :mod:`.actions`: pending actions and the launcher (nothing runs without a person's yes);
- :mod:`.guard`: every number of a reply checked against the tool results;
- :mod:`.router`: tool choice by the message's words, else one small choice by the embedded
  model (a JSON-schema grammar), slash commands; :mod:`.stated`: the settings a request states;
- :mod:`.agent`: the loop (LangChain), streaming events to the front ends.

Imported lazily so the MCP server (tools only) never loads LangChain.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ChatAgent": "agent",
    "ChatTools": "tools",
    "ToolResult": "result",
    "Launcher": "actions",
    "PendingAction": "actions",
    "NumberGuard": "guard",
    "SentenceGuard": "guard",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
