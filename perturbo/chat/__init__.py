"""The chat's front ends: the terminal (``perturbo chat``), the browser (``perturbo chat
--web``) and the MCP server (``perturbo mcp``). The agent and its tools live in
:mod:`perturbo.agents.chat`; :mod:`.commands` (argparse only) plugs the commands into the CLI."""

from __future__ import annotations

__all__: list[str] = []
