"""An MCP client (the SDK's ``ClientSession`` over ``stdio_client``) talks to ``perturbo mcp``
against a real store: lists the tools, calls two, and shows a launch needs its token echoed."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from chat_helpers import GEN, HPO

mcp = pytest.importorskip("mcp")
pytestmark = pytest.mark.slow

PERTURBO = str(Path(sys.executable).with_name("perturbo"))


def _text(result: object) -> str:
    return "".join(getattr(c, "text", "") for c in getattr(result, "content", []))


async def _session(args: list[str], body):  # type: ignore[no-untyped-def]
    from mcp import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    env = {
        k: v for k, v in os.environ.items() if k.startswith(("OMP", "RAY", "HF_", "PATH", "HOME"))
    }
    params = StdioServerParameters(command=PERTURBO, args=["mcp", *args], env=env)
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        return await body(session)


def test_mcp_lists_tools_and_answers_from_the_store(chat_store: str, tmp_path: Path) -> None:
    from perturbo.agents.chat.facts import fmt
    from perturbo.tracking import open_store

    best = fmt(open_store(chat_store).summary(HPO).metrics["best_value"])

    async def body(session):  # type: ignore[no-untyped-def]
        names = {t.name for t in (await session.list_tools()).tools}
        listing = await session.call_tool("list_campaigns", {})
        summary = await session.call_tool("summarize_campaign", {"name": "branin"})
        missing = await session.call_tool("summarize_campaign", {"name": "no-such-campaign"})
        return names, listing, summary, missing

    names, listing, summary, missing = asyncio.run(
        _session(["--tracking-uri", chat_store, "--workdir", str(tmp_path)], body)
    )
    assert {"list_campaigns", "summarize_campaign", "explain_round", "compare_campaigns"} <= names
    assert not names & {"launch_campaign", "confirm_action"}  # read-only by default
    assert HPO in _text(listing) and GEN in _text(listing)
    assert f"value = {best}" in _text(summary)
    assert missing.is_error and "no campaign named 'no-such-campaign'" in _text(missing)


def test_mcp_launch_needs_a_second_call_with_the_token(chat_store: str, tmp_path: Path) -> None:
    from perturbo.tracking import open_store

    n_before = len(open_store(chat_store).list_campaigns())

    async def body(session):  # type: ignore[no-untyped-def]
        names = {t.name for t in (await session.list_tools()).tools}
        proposed = await session.call_tool(
            "launch_campaign",
            {
                "kind": "hyperparameter",
                "settings": {"task": "branin", "planner": "random", "trials": 2},
            },
        )
        bad = await session.call_tool(
            "launch_campaign", {"kind": "hyperparameter", "settings": {"trials": -1}}
        )
        wrong = await session.call_tool("confirm_action", {"token": "not-the-token"})
        return names, proposed, bad, wrong

    names, proposed, bad, wrong = asyncio.run(
        _session(
            ["--tracking-uri", chat_store, "--allow-launch", "--local", "--workdir", str(tmp_path)],
            body,
        )
    )
    assert {"launch_campaign", "confirm_action", "decline_action"} <= names
    assert "confirmation token" in _text(proposed) and not proposed.is_error
    assert bad.is_error and "trials" in _text(bad)
    assert wrong.is_error and "no pending action" in _text(wrong)
    assert len(open_store(chat_store).list_campaigns()) == n_before  # nothing launched
    assert not list(tmp_path.glob("*.log"))  # no process was started


def test_mcp_never_launches_user_code_nor_a_bad_name(chat_store: str, tmp_path: Path) -> None:
    """Issue 17: through MCP, as through the chat, a launch that allows user code or names a
    module:function is refused (the command line only), as are '../' and control-character
    names and files outside the working folder (one message, existing or not)."""
    attempts = {
        "user code": {"kind": "hyperparameter", "settings": {"task": "subprocess:run",
                                                             "allow_user_code": True}},
        "module:function": {"kind": "hyperparameter", "settings": {"task": "os:system"}},
        "attack factory": {"kind": "attack", "settings": {"model": "subprocess:run"}},
        "../ name": {"kind": "hyperparameter", "settings": {"task": "branin"}, "name": "../../x"},
        "control name": {"kind": "hyperparameter", "settings": {"task": "branin"},
                         "name": "x\x1b[2Jy"},
        "existing file outside": {"kind": "genetic", "settings": {"screen": "/etc/passwd"}},
        "missing file outside": {"kind": "genetic", "settings": {"screen": "/etc/nope.csv"}},
    }  # fmt: skip

    async def body(session):  # type: ignore[no-untyped-def]
        return {k: await session.call_tool("launch_campaign", v) for k, v in attempts.items()}

    work = tmp_path / "work"
    got = asyncio.run(
        _session(
            ["--tracking-uri", chat_store, "--allow-launch", "--local", "--workdir", str(work)],
            body,
        )
    )
    for what, res in got.items():
        assert res.is_error, (what, _text(res))
        assert "token" not in _text(res).lower(), (what, _text(res))
    for what in ("user code", "module:function", "attack factory"):
        assert "command line" in _text(got[what]), _text(got[what])
    for what in ("../ name", "control name"):
        assert "campaign name" in _text(got[what]), _text(got[what])
    oracle = {
        _text(got[w]).replace(p, "P")
        for w, p in (("existing file outside", "/etc/passwd"), ("missing file outside", "/etc/nope.csv"))
    }  # fmt: skip
    assert len(oracle) == 1 and "only inside" in oracle.pop()
    assert not work.exists() or not list(work.iterdir())  # nothing written
