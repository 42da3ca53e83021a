"""The chat agent on fake models and a real store: made-up numbers never reach the user, bad
tool calls and nonsense go back as messages, unknown campaigns and unreachable stores get
clear answers, and nothing launches without the user's confirmation."""

from __future__ import annotations

import stat
import time
from pathlib import Path

import pytest
from chat_helpers import GEN, HPO, ToolCallingFake, call, prose

pytestmark = pytest.mark.slow  # the session store: two real campaigns (~1 min once)


def _tools(uri: str, workdir: Path, python: str | None = None):  # type: ignore[no-untyped-def]
    from perturbo.chat.build import make_tools

    tools = make_tools(uri, local=True, workdir=workdir)
    if python:
        tools.launcher.python = python
    return tools


def _run(agent, text: str):  # type: ignore[no-untyped-def]
    from perturbo.agents.chat.agent import Done

    events = list(agent.respond(text))
    assert isinstance(events[-1], Done)
    return events


def _kinds(events, cls):  # type: ignore[no-untyped-def]
    return [e for e in events if isinstance(e, cls)]


def test_a_made_up_number_in_the_prose_is_dropped(chat_store: str, tmp_path: Path) -> None:
    from perturbo.agents.chat.agent import ChatAgent, Facts, Token
    from perturbo.agents.chat.facts import fmt
    from perturbo.tracking import open_store

    best = fmt(open_store(chat_store).summary(HPO).metrics["best_value"])
    llm = prose(
        f"The search did well, reaching {best} at best. The best value was 3.14159 in round 7."
    )
    agent = ChatAgent(llm, _tools(chat_store, tmp_path), "grammar")
    events = _run(agent, "summarise the branin campaign")
    said = "".join(e.text for e in _kinds(events, Token))
    assert "3.14159" not in said and "round 7" not in said  # the guard removed the made-up sentence
    assert best in said  # the supported sentence stays
    assert any(f"value = {best}" in f.text for f in _kinds(events, Facts))
    assert "3.14159" in events[-1].dropped[0]


def test_the_guard_would_fail_without_it() -> None:
    """The bar bites: the number the fake states is not supported by the tool's text."""
    from perturbo.agents.chat.guard import NumberGuard

    g = NumberGuard(["best value = 10.87 (min); 6 hits in 32 experiments; hit_ratio = 0.1132"])
    assert g.unsupported("best 10.87, 6 hits of 32, 11.3% hit ratio, 0.11") == []
    assert g.unsupported("best 10.9 and 7 hits") == ["7"]
    assert g.unsupported("value 3.14") == ["3.14"]
    assert g.unsupported("campaign hyperparameter-branin-random-s0-20261201 r001-0002") == []


def test_remote_mode_wrong_args_and_unknown_tool_go_back_to_the_model(
    chat_store: str, tmp_path: Path
) -> None:
    from perturbo.agents.chat.agent import ChatAgent, Facts, Step, Token
    from perturbo.agents.chat.facts import fmt
    from perturbo.tracking import open_store

    best = fmt(open_store(chat_store).summary(HPO).metrics["best_value"])
    llm = ToolCallingFake(
        messages=iter([
            call("summarize_campaign", {"nam": "branin"}, "a"),  # wrong argument name
            call("no_such_tool", {}, "b"),
            call("summarize_campaign", {"name": "branin"}, "c"),
            "Its best value is 99.5, found in round 2.",  # a made-up number
        ])
    )  # fmt: skip
    llm.seen = []
    agent = ChatAgent(llm, _tools(chat_store, tmp_path), "tools")
    events = _run(agent, "how did the branin campaign do?")
    steps = _kinds(events, Step)
    assert [s.ok for s in steps] == [False, False, True]
    fed_back = [m.content for m in llm.seen[1] if m.type == "tool"]
    assert "invalid arguments" in fed_back[0] and "usage: summarize_campaign" in fed_back[0]
    assert "unknown tool 'no_such_tool'" in llm.seen[2][-1].content
    assert "99.5" not in "".join(t.text for t in _kinds(events, Token))
    assert any(
        f"value = {best}" in f.text for f in _kinds(events, Facts)
    )  # the tool's own text instead


def test_nonsense_route_and_a_failing_backend_are_answered(chat_store: str, tmp_path: Path) -> None:
    from perturbo.agents.chat.agent import ChatAgent, Facts

    agent = ChatAgent(prose("%%% not json {"), _tools(chat_store, tmp_path), "grammar")
    events = _run(agent, "blorp zzz")
    assert "could not tell which tool" in _kinds(events, Facts)[0].text

    failing = ToolCallingFake(messages=iter([ConnectionError("connection refused")]))
    agent = ChatAgent(failing, _tools(chat_store, tmp_path), "tools")
    events = _run(agent, "list the campaigns")
    assert "the model failed (ConnectionError: connection refused)" in _kinds(events, Facts)[0].text
    assert len(agent.history) == 2  # the turn is kept; the conversation goes on


def test_unknown_campaign_and_unreachable_store(chat_store: str, tmp_path: Path) -> None:
    from perturbo.agents.chat.agent import ChatAgent, Facts

    agent = ChatAgent(None, _tools(chat_store, tmp_path))
    facts = _kinds(_run(agent, "/show no-such-campaign"), Facts)
    assert not facts[0].ok and "no campaign named 'no-such-campaign'" in facts[0].text
    facts = _kinds(_run(agent, "/why chat-genetic 9"), Facts)
    assert "has no round 9: its recorded rounds are 1 to 2" in facts[0].text

    missing = _tools(f"sqlite:///{tmp_path}/nowhere/mlflow.db", tmp_path)
    res = missing.call("list_campaigns")
    assert res.ok and "does not exist yet" in res.text
    res = missing.call("summarize_campaign", {"name": "x"})
    assert not res.ok and "no campaign named 'x'" in res.text

    t0 = time.perf_counter()
    res = _tools("http://127.0.0.1:9", tmp_path).call("list_campaigns")
    assert not res.ok and "127.0.0.1:9" in res.text, res.text
    assert time.perf_counter() - t0 < 120


def _fake_python(tmp_path: Path) -> tuple[str, Path]:
    """An interpreter stand-in that records the command it was given."""
    record = tmp_path / "argv.txt"
    script = tmp_path / "fake-python"
    script.write_text(f'#!/bin/sh\necho "$@" >> {record}\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script), record


def test_nothing_launches_without_confirmation(chat_store: str, tmp_path: Path) -> None:
    from perturbo.agents.chat.agent import ChatAgent, Pending
    from perturbo.chat.terminal import confirm_pending
    from perturbo.tracking import open_store

    python, record = _fake_python(tmp_path)
    tools = _tools(chat_store, tmp_path, python)
    # the model calls the launch tool itself, then claims it ran
    llm = ToolCallingFake(
        messages=iter([
            call("launch_campaign", {"kind": "hyperparameter", "settings": {"task": "branin", "planner": "random", "trials": 2}}),
            "Done: the campaign is running.",
        ])
    )  # fmt: skip
    llm.seen = []
    agent = ChatAgent(llm, tools, "tools")
    events = _run(agent, "start a branin campaign")
    pending = _kinds(events, Pending)
    assert len(pending) == 1 and "perturbo run hyperparameter" in pending[0].command
    assert not record.exists() and not tools.launcher.jobs  # proposed only

    confirm_pending(tools, pending, ask=lambda _: "n")
    assert not record.exists() and not tools.launcher.pending
    assert len(open_store(chat_store).list_campaigns()) == 2

    # a bad launch is refused with the reason, nothing pending
    res = tools.call("launch_campaign", {"kind": "hyperparameter", "settings": {"trials": 0}})
    assert not res.ok and "trials" in res.text and not tools.launcher.pending
    res = tools.call("launch_campaign", {"kind": "no-such-kind"})
    assert not res.ok and "unknown kind 'no-such-kind'" in res.text
    res = tools.call("resume_campaign", {"name": HPO, "rounds": 3})
    assert not res.ok and "cannot be extended by rounds" in res.text

    # yes runs exactly the proposed command, once
    events = _run(ChatAgent(None, tools), f"/pin {GEN} " + '{"gene": "IFNG"}')
    (p,) = _kinds(events, Pending)
    confirm_pending(tools, [p], ask=lambda _: "y")
    tools.launcher.jobs[GEN].process.wait(timeout=30)
    argv = record.read_text()
    assert (
        f"-m perturbo.cli resume {GEN}" in argv
        and '--pin {"gene":"IFNG"}' in argv
        and "--rounds 3" in argv
    )
    with pytest.raises(Exception, match="no pending action"):
        tools.launcher.confirm(p.token)  # a token runs once
