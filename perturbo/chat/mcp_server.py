"""``perturbo mcp``: the chat's tools as a Model Context Protocol server on stdio.

Read-only tools by default (``pending_batch`` among them: what a lab campaign waits for).
``--allow-launch`` adds launch/resume/stop/pin and ``tell_results`` (a lab's results, previewed;
recorded once on confirmation), and even then
each only *proposes*: it returns a confirmation token, and nothing runs until a second call,
``confirm_action(token)``, echoes it (so no single model call launches anything); a token runs
exactly what was proposed, and no tool can allow user code or name a ``module:function``
(user code is launched from the command line only). The tools
are :class:`~perturbo.agents.chat.tools.ChatTools` (no LangChain, no model here: the MCP
client's model does the talking). Logs go to stderr; stdout is the protocol's.
"""

from __future__ import annotations

import functools
import inspect
from pathlib import Path
from typing import Any

__all__ = ["build_server", "serve_stdio"]

INSTRUCTIONS = (
    "perturbo's campaign store: list_campaigns first, then summarize_campaign, explain_round, "
    "compare_campaigns, propose_experiments, show_plot; pending_batch: what a lab campaign "
    "waits for (what to test next). Quote numbers from the tool results. "
    "Launching tools and tell_results (a lab's results: a CSV path or its text; when offered) "
    "return a confirmation token: show the user the command (and tell_results' preview) "
    "and call confirm_action(token) only after the user says yes. User code (module:function, "
    "allow_user_code) is never launched from here: the user runs it from the command line."
)


def _fail(text: str) -> Exception:
    """A tool's clear error: the SDK returns it to the client as an error result."""
    from mcp.server.mcpserver.exceptions import ToolError

    return ToolError(text)


def _wrap(tools: Any, name: str) -> Any:
    fn = getattr(tools, name)

    @functools.wraps(fn)
    def tool(**kwargs: Any) -> str:
        res = tools.call(name, kwargs)
        if not res.ok:
            raise _fail(res.text)
        return res.text

    sig = inspect.signature(fn, eval_str=True)
    tool.__signature__ = sig.replace(return_annotation=str)  # type: ignore[attr-defined]
    tool.__annotations__ = {p.name: p.annotation for p in sig.parameters.values()} | {"return": str}
    del tool.__wrapped__  # type: ignore[attr-defined]
    return tool


def build_server(tools: Any, allow_launch: bool = False) -> Any:
    """The MCP server over ``tools``."""
    from mcp.server.mcpserver import MCPServer

    server = MCPServer("perturbo", instructions=INSTRUCTIONS)
    for name in tools.names(allow_actions=allow_launch):
        doc = inspect.getdoc(getattr(tools, name)) or name
        server.add_tool(_wrap(tools, name), name=name, description=doc, structured_output=False)
    if allow_launch:

        def confirm_action(token: str) -> str:
            """Run the action a launching tool proposed, once the user said yes: echo its
            confirmation token."""
            from perturbo.types import PerturboError

            try:
                return str(tools.launcher.confirm(token))
            except PerturboError as e:
                raise _fail(str(e)) from None

        def decline_action(token: str) -> str:
            """Drop a proposed action (nothing runs)."""
            gone = tools.launcher.decline(token)
            return "declined: nothing was started" if gone else f"no pending action {token!r}"

        server.add_tool(confirm_action, structured_output=False)
        server.add_tool(decline_action, structured_output=False)
    return server


def serve_stdio(
    tracking_uri: str,
    *,
    allow_launch: bool = False,
    local: bool = False,
    address: str | None = None,
    workdir: str | Path | None = None,
) -> int:
    from perturbo.chat.build import make_tools
    from perturbo.launch import settings

    tools = make_tools(
        tracking_uri, local=local, address=address, workdir=workdir, settings=settings
    )
    build_server(tools, allow_launch).run("stdio")
    return 0
