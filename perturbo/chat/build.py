"""Assemble the chat from settings: the store, the launcher, the tools, the model, the agent.

The chat's composition lives with its front ends (terminal, web, MCP): it hands the agent what
the agents may not import themselves (the kind registry, the composition root's settings check)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from perturbo.agents.chat.actions import Launcher
from perturbo.agents.chat.catalog import KindCatalog
from perturbo.agents.chat.tools import ChatTools, KindSettings

__all__ = ["make_agent", "make_tools"]


def make_tools(
    tracking_uri: str,
    *,
    local: bool = False,
    address: str | None = None,
    workdir: str | Path | None = None,
    settings: KindSettings | None = None,
    kinds: KindCatalog | None = None,
    lab: bool = True,
) -> ChatTools:
    """The tools over the store at ``tracking_uri`` (read through ``StoreReader`` only).
    ``settings``: the launcher's settings check the front end passes in
    (:func:`perturbo.launch.settings`; default: :func:`~perturbo.agents.chat.tools.kind_settings`).
    ``kinds``: the kinds the chat knows (default: this install's registry, :mod:`perturbo.kinds`).
    ``lab``: offer the lab tools (the pending batch, telling results) over the same store."""
    import importlib

    from perturbo import tracking
    from perturbo.chat.lab_port import StoreLab

    kinds = kinds if kinds is not None else importlib.import_module("perturbo.kinds")

    store = tracking.open_store(tracking_uri)
    launcher = Launcher(tracking_uri, local=local, address=address, workdir=workdir)
    port = StoreLab(tracking_uri) if lab else None
    return ChatTools(store, launcher, settings=settings, kinds=kinds, lab=port)


def make_agent(
    tools: ChatTools,
    llm_config: dict[str, Any],
    mode: str = "auto",
    prose_tokens: int = 0,
    say: Any = None,
) -> Any:
    """The agent on the backend ``llm_config`` names (``llm``, ``llm_model``... as a campaign's
    config has them). ``mode`` auto: the grammar router on the local model, ``bind_tools``
    on the others. ``say`` (a print function): the model is made on the first question that
    needs it, and ``say`` is told when (the terminal chat: ``/help`` and ``/list`` need no
    model); without it the model is made now (the web chat loads it before it serves)."""
    from perturbo.agents.chat.start import lazy_agent

    return lazy_agent(tools, llm_config, mode, prose_tokens, say=say, lazy=say is not None)
