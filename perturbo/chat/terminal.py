"""``perturbo chat``: the agent in a terminal. Replies stream; tool calls show as steps (name,
arguments, seconds); an action the agent proposes runs only after ``y`` here, in this loop
(the model cannot answer for the user); plots print their path and show inline on kitty/iTerm."""

from __future__ import annotations

import base64
import json
import sys
from typing import Any

__all__ = ["confirm_pending", "inline_image", "render", "run_terminal"]

DIM, BOLD, RED, GREEN, RESET = "\033[2m", "\033[1m", "\033[31m", "\033[32m", "\033[0m"


def _c(code: str, text: str) -> str:
    return f"{code}{text}{RESET}" if sys.stdout.isatty() else text


def inline_image(path: str) -> str:
    """The escape sequence that shows a PNG inline (kitty, iTerm2), or "" elsewhere."""
    from perturbo.config import environment

    env = environment()
    data = base64.b64encode(open(path, "rb").read()).decode()
    if "kitty" in env.term:
        chunks = [data[i : i + 4096] for i in range(0, len(data), 4096)]
        out = ""
        for i, c in enumerate(chunks):
            head = "f=100,a=T," if i == 0 else ""
            out += f"\033_G{head}m={1 if i < len(chunks) - 1 else 0};{c}\033\\"
        return out + "\n"
    if env.term_program == "iTerm.app":
        return f"\033]1337;File=inline=1;width=60%:{data}\a\n"
    return ""


def render(event: Any, out: Any = sys.stdout) -> None:
    """Print one agent event."""
    from perturbo.agents.chat.agent import Done, Facts, Image, Pending, Step, Token

    if isinstance(event, Step):
        mark = _c(GREEN, "ok") if event.ok else _c(RED, "error")
        args = json.dumps(event.args, default=str)
        out.write(_c(DIM, f"  -> {event.name}({args}) {event.seconds:.1f}s ") + mark + "\n")
    elif isinstance(event, Facts):
        out.write((event.text if event.ok else _c(RED, event.text)) + "\n")
    elif isinstance(event, Token):
        out.write(event.text)
    elif isinstance(event, Image):
        out.write(f"plot: {event.path}\n")
        try:
            out.write(inline_image(event.path))
        except OSError:
            pass
    elif isinstance(event, Pending):
        out.write(_c(BOLD, f"proposed: {event.description}") + f"\n  {event.command}\n")
    elif isinstance(event, Done):
        out.write("\n" + _c(DIM, f"({event.seconds:.1f}s)") + "\n")
    out.flush()


def confirm_pending(tools: Any, pending: list[Any], ask: Any = input) -> None:
    """The confirm step: each pending action runs only on an explicit ``y``."""
    for p in pending:
        try:
            answer = ask(f"Run this? `{p.command}` [y/N] ").strip().lower()
        except (EOFError, KeyboardInterrupt):
            answer = ""
        if answer in ("y", "yes"):
            try:
                print(tools.launcher.confirm(p.token))
            except Exception as e:  # PerturboError or a failed start: said, never a crash
                print(_c(RED, f"not started: {e}"))
        else:
            tools.launcher.decline(p.token)
            print("declined: nothing was started")


def run_terminal(
    tools: Any, llm_config: dict[str, Any], mode: str = "auto", prose_tokens: int = 0
) -> int:
    from perturbo.agents.chat.agent import Pending
    from perturbo.agents.chat.router import SLASH_HELP
    from perturbo.chat.build import make_agent
    from perturbo.tracking.uri import shown_uri

    agent = make_agent(tools, llm_config, mode, prose_tokens, say=lambda m: print(m, flush=True))
    print(
        f"perturbo chat on {shown_uri(tools.store.uri)}: model {agent.model_name} loads on the first question "
        "that needs it (/help, /list and the slash commands need none). Ask about your "
        "campaigns; /help, /quit.",
        flush=True,
    )
    while True:
        try:
            line = input("you> ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            break
        if not line:
            continue
        if line.split()[0].lower() in ("/quit", "/exit", "/q"):
            break
        if line.split()[0].lower() == "/help":
            print(
                SLASH_HELP
                + "\nOr ask in words: 'list the campaigns', 'summarise the branin campaign'."
            )
            continue
        pending: list[Any] = []
        try:
            for ev in agent.respond(line):
                render(ev)
                if isinstance(ev, Pending):
                    pending.append(ev)
        except KeyboardInterrupt:
            print("\n(interrupted)")
        confirm_pending(tools, pending)
    running = tools.launcher.running()
    if running:
        names = ", ".join(f"{j.campaign} (pid {j.process.pid})" for j in running)
        print(f"still running, recording to the store: {names}")
    return 0
