"""The chat agent on a backend a front end names, with its model made on first need (see
:mod:`perturbo.agents.chat.lazy`): ``perturbo chat`` starts, and answers ``/help`` and
``/list``, without loading the 1.1 GB embedded model or asking for an API key."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from perturbo.agents.chat.lazy import LazyModel

__all__ = ["lazy_agent"]


def lazy_agent(
    tools: Any,
    llm_config: Mapping[str, Any],
    mode: str = "auto",
    prose_tokens: int = 0,
    say: Callable[[str], None] | None = None,
    *,
    lazy: bool = True,
) -> Any:
    """A :class:`~perturbo.agents.chat.agent.ChatAgent` over ``tools`` on the backend
    ``llm_config`` names (``llm``, ``llm_model``... as a campaign's config has them); the
    model is made on the first question that needs it. ``mode`` auto: the grammar router on
    the local model, ``bind_tools`` on the others (known from the settings, no model made).
    ``say``: told "loading the model ..." and "ready in N s" around the load, so the first
    question that needs it does not look like a hang. ``lazy=False``: the model is made now
    (the web chat loads it before it serves)."""
    from perturbo.agents.chat.agent import ChatAgent
    from perturbo.agents.llm import llm_settings, make_chat_model

    settings = llm_settings(dict(llm_config))
    if mode == "auto":
        mode = "grammar" if settings.backend == "local" else "tools"

    def make() -> Any:
        if say is None:
            return make_chat_model(settings)
        say(f"loading the model ({settings.model_name}) for this question ...")
        t = time.perf_counter()
        made = make_chat_model(settings)
        say(f"model ready in {time.perf_counter() - t:.0f}s")
        return made

    model = LazyModel(make, settings.model_name) if lazy else make()
    return ChatAgent(model, tools, mode, prose_tokens=prose_tokens)  # type: ignore[arg-type]
