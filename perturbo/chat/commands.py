"""``perturbo chat`` and ``perturbo mcp``: their sub-parsers (argparse only: light to import)
and handlers, which import the front ends on use."""

from __future__ import annotations

import argparse
from collections.abc import Callable

__all__ = ["add_chat_parser", "add_mcp_parser", "store_uri"]

Handler = Callable[[argparse.Namespace], int]


def store_uri(ns: argparse.Namespace) -> str:
    from perturbo import config as cfg

    return getattr(ns, "tracking_uri", None) or cfg.env_tracking_uri() or cfg.default_tracking_uri()


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--tracking-uri",
        default=argparse.SUPPRESS,
        metavar="URI",
        help="MLflow store (default: $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db)",
    )
    p.add_argument(
        "--local", action="store_true", help="campaigns launched from here run without Ray"
    )
    p.add_argument(
        "--address",
        default=None,
        metavar="ADDR",
        help="a Ray cluster: campaigns launched from here go by `ray job submit`",
    )
    p.add_argument(
        "--workdir", default=None, metavar="DIR", help="where launch settings, logs and plots go"
    )


def add_chat_parser(sub: argparse._SubParsersAction) -> Handler:
    p = sub.add_parser(
        "chat",
        help="talk to an agent about the campaigns (terminal, or --web)",
        description="A chat with a tool-calling agent over the campaign store: list, summarise, "
        "explain, compare, propose; launch, resume, stop and pin after you confirm.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  perturbo chat                          # the embedded model\n"
        "  perturbo chat --llm-model smollm2-135m # the tiny model (fast, weak prose)\n"
        "  perturbo chat --llm openai             # OPENAI_API_KEY from the environment\n"
        "  perturbo chat --web --port 8765        # in a browser on 127.0.0.1\n"
        "in the chat: /help lists the commands (/list, /show NAME, /why NAME ROUND ...)",
    )
    _common(p)
    p.add_argument("--llm", choices=("local", "openai", "anthropic", "ollama"), default="local")
    p.add_argument("--llm-model", default=None, metavar="NAME", help="model name (backend default)")
    p.add_argument("--llm-base-url", default=None, metavar="URL")
    p.add_argument("--llm-threads", type=int, default=None, metavar="N")
    p.add_argument("--llm-max-tokens", type=int, default=400, metavar="N")
    p.add_argument(
        "--prose-tokens",
        type=int,
        default=0,
        metavar="N",
        help="tokens of model prose after a tool's facts on the local model (default 0: the "
        "facts alone, in under a second; 48 adds a one-sentence summary, ~15 s an answer on a "
        "2-core CPU)",
    )
    p.add_argument(
        "--tool-mode",
        choices=("auto", "grammar", "tools"),
        default="auto",
        help="grammar: one JSON-schema-constrained choice (local default); tools: bind_tools",
    )
    p.add_argument("--web", action="store_true", help="serve the chat in a browser on 127.0.0.1")
    p.add_argument(
        "--port", type=int, default=8765, help="--web port on 127.0.0.1 (default: 8765; 0: any)"
    )
    p.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="--web: also accept this host name in Host/Origin (e.g. an SSH tunnel's alias); "
        "127.0.0.1, localhost and [::1] always are",
    )
    p.add_argument(
        "--answer-timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="--web: an answer still running after this long ends with a message (default: 60)",
    )
    return _chat


def add_mcp_parser(sub: argparse._SubParsersAction) -> Handler:
    p = sub.add_parser(
        "mcp",
        help="serve the chat's tools to MCP clients (stdio)",
        description="A Model Context Protocol server (stdio) with the chat's tools. Read-only by "
        "default; --allow-launch adds launch/resume/stop/pin, each needing a second call that "
        "echoes its confirmation token.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='Claude Desktop / Claude Code: {"command": "perturbo", "args": ["mcp", '
        '"--tracking-uri", "sqlite:////abs/path/mlflow.db"]}',
    )
    _common(p)
    p.add_argument("--allow-launch", action="store_true", help="offer the launching tools")
    return _mcp


def _llm_config(ns: argparse.Namespace) -> dict[str, object]:
    return {
        "llm": ns.llm,
        "llm_model": ns.llm_model,
        "llm_base_url": ns.llm_base_url,
        "llm_threads": ns.llm_threads,
        "llm_max_tokens": ns.llm_max_tokens,
    }


def _chat(ns: argparse.Namespace) -> int:
    from perturbo.chat.build import make_tools
    from perturbo.launch import settings

    tools = make_tools(
        store_uri(ns), local=ns.local, address=ns.address, workdir=ns.workdir, settings=settings
    )
    if ns.web:
        from perturbo.chat.web import serve

        if not ns.answer_timeout > 0:
            from perturbo.types import PerturboError

            raise PerturboError(
                f"--answer-timeout {ns.answer_timeout:g}: give a number of seconds > 0, e.g. 60"
            )
        return serve(
            tools,
            _llm_config(ns),
            ns.tool_mode,
            ns.prose_tokens,
            port=ns.port,
            hosts=ns.allow_host,
            answer_timeout=ns.answer_timeout,
        )
    from perturbo.chat.terminal import run_terminal

    return run_terminal(tools, _llm_config(ns), ns.tool_mode, ns.prose_tokens)


def _mcp(ns: argparse.Namespace) -> int:
    from perturbo.chat.mcp_server import serve_stdio

    return serve_stdio(
        store_uri(ns),
        allow_launch=ns.allow_launch,
        local=ns.local,
        address=ns.address,
        workdir=ns.workdir,
    )
