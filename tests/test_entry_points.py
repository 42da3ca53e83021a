"""Every way to run a campaign goes through one composition root (:mod:`perturbo.launch`):
the CLI, ``perturbo.api.run_campaign``, ``perturbo.Campaign``, ``attack_campaign`` and the
chat's launcher. For each, a campaign fails or is killed mid-run, the store then shows it
ended (FAILED or KILLED: never RUNNING, which ``resume`` would refuse as a live driver's), and
a resume runs it to its end (FINISHED, the whole budget, nothing run twice).

The failure is a real pool raising in the middle of the loop (in this process), or, for the
chat, SIGINT from its stop action to the ``perturbo run`` process it started."""

from __future__ import annotations

import signal
import stat
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from stores import *  # noqa: F403

import perturbo.actors
from perturbo import tracking
from perturbo.actors.local_pool import LocalExecutorPool

BRANIN = ["--task", "branin", "--planner", "random", "--trials", "6", "--batch", "2"]


def _breaking(error: type[BaseException], at: int = 3) -> type[LocalExecutorPool]:
    """A local pool that raises ``error`` once ``at`` submissions were made (mid-run)."""

    class Breaks(LocalExecutorPool):
        def __init__(self, *a: Any, **kw: Any) -> None:
            super().__init__(*a, **kw)
            self.submits = 0

        def submit(self, specs: Any) -> None:
            self.submits += 1
            super().submit(specs)

        def wait(self, timeout_s: float) -> Any:
            if self.submits >= at:
                raise error("the pool broke mid-run")
            return super().wait(timeout_s)

    return Breaks


def _state(uri: str, name: str) -> tuple[str, list[str]]:
    """(the campaign's recorded status, the ids of its recorded experiments)."""
    store = tracking.open_store(uri)
    return store.summary(name).status, [o.spec.id for o in store.history(name)]


def _ended_midway(uri: str, name: str, status: str, budget: int) -> list[str]:
    got, ids = _state(uri, name)
    assert got == status  # not RUNNING: the root ended the record
    assert 0 < len(ids) < budget  # some experiments recorded, not all
    return ids


def _finished(uri: str, name: str, before: list[str], budget: int) -> None:
    got, ids = _state(uri, name)
    assert got == "FINISHED"
    assert len(ids) == len(set(ids)) == budget and ids[: len(before)] == before


def test_cli_killed_midway_then_resumed(store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from perturbo.cli import main

    monkeypatch.setattr(perturbo.actors, "LocalExecutorPool", _breaking(KeyboardInterrupt))
    run = ["run", "hyperparameter", *BRANIN, "--local", "--no-progress", "--tracking-uri", store]
    assert main([*run, "--name", "cli"]) == 130
    before = _ended_midway(store, "cli", "KILLED", 6)
    monkeypatch.undo()
    assert main(["resume", "cli", "--tracking-uri", store, "--local", "--no-progress"]) == 0
    _finished(store, "cli", before, 6)


def test_run_campaign_fails_midway_then_resume_campaign(
    store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from perturbo.api import resume_campaign, run_campaign

    monkeypatch.setattr(perturbo.actors, "LocalExecutorPool", _breaking(RuntimeError))
    kw = {"task": "branin", "planner": "random", "trials": 6, "batch": 2}
    with pytest.raises(RuntimeError, match="broke mid-run"):
        run_campaign("hyperparameter", name="api", tracking_uri=store, local=True, **kw)
    before = _ended_midway(store, "api", "FAILED", 6)
    monkeypatch.undo()
    resume_campaign("api", tracking_uri=store, local=True)
    _finished(store, "api", before, 6)


def bowl(params: dict[str, float]) -> float:
    return (params["x"] - 0.3) ** 2


def test_campaign_fails_midway_then_resumes(store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from perturbo import Campaign
    from perturbo.space import Float, SearchSpace

    def campaign() -> Any:
        space = SearchSpace([Float("x", 0.0, 1.0)])
        return Campaign(
            bowl, space=space, objective="loss", direction="min", planner="random", trials=6,
            batch=2, tracking_uri=store, name="py",
        )  # fmt: skip

    monkeypatch.setattr(perturbo.actors, "LocalExecutorPool", _breaking(RuntimeError))
    with pytest.raises(RuntimeError, match="broke mid-run"):
        campaign().run()
    before = _ended_midway(store, "py", "FAILED", 6)
    monkeypatch.undo()
    result = campaign().resume()
    _finished(store, "py", before, 6)
    assert len(result.history) == 6 and result.best is not None


def test_attack_campaign_fails_midway_then_resumes(
    store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from perturbo.kinds.attack import attack_campaign

    kw = {"tracking_uri": store, "name": "atk"}
    settings = {
        "cache_dir": str(tmp_path / "cache"), "train_epochs": 2, "eps": 0.02, "samples": 20,
        "planner": "random", "trials": 4, "batch": 2, "methods": "fgsm,pgd",
        "stop_when_done": False,
    }  # fmt: skip
    monkeypatch.setattr(perturbo.actors, "LocalExecutorPool", _breaking(RuntimeError, at=2))
    with pytest.raises(RuntimeError, match="broke mid-run"):
        attack_campaign("digits-cnn", **kw, **settings)
    before = _ended_midway(store, "atk", "FAILED", 4)
    monkeypatch.undo()
    history, worst = attack_campaign(resume=True, **kw)
    _finished(store, "atk", before, 4)
    assert len(history) == 4 and worst.attacked.all()


SLOW_CLI = """
import os, sys, time

import perturbo.actors
from perturbo.actors.local_pool import LocalExecutorPool

HOLD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hold")


class Slow(LocalExecutorPool):  # time for the test to stop the campaign mid-run
    done = 0

    def wait(self, timeout_s):
        # Once 2 experiments are back (and recorded by the loop), hold while the test's HOLD
        # file exists: the campaign cannot finish before the test has seen them and stops it.
        while Slow.done >= 2 and os.path.exists(HOLD):
            time.sleep(0.1)
        time.sleep(0.4)
        got = super().wait(timeout_s)
        Slow.done += len(got)
        return got


perturbo.actors.LocalExecutorPool = Slow
assert sys.argv[1:3] == ["-m", "perturbo.cli"], sys.argv
from perturbo.cli import main

sys.exit(main(sys.argv[3:]))
"""


def _slow_python(folder: Path) -> str:
    """An interpreter for the launcher: this Python running the real CLI on a slowed pool."""
    (folder / "slow_cli.py").write_text(SLOW_CLI)
    exe = folder / "python"
    exe.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{folder / "slow_cli.py"}" "$@"\n')
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    return str(exe)


def _confirm(tools: Any, proposed: Any) -> str:
    assert proposed.ok and proposed.pending is not None, proposed.text
    return str(tools.launcher.confirm(proposed.pending.token))


@pytest.mark.parametrize("chat_ignores_sigint", [False, True])
def test_chat_launch_stopped_midway_then_resumed(
    store: str, tmp_path: Path, chat_ignores_sigint: bool
) -> None:
    """Also where the chat's process ignores SIGINT (started with ``&`` from a script, as some
    test workers are): its campaigns inherit that, and must still honour its stop."""
    from perturbo import kinds
    from perturbo import tracking as tr
    from perturbo.agents.chat.actions import Launcher
    from perturbo.agents.chat.tools import ChatTools
    from perturbo.launch import settings

    launcher = Launcher(store, local=True, workdir=tmp_path / "work", python=_slow_python(tmp_path))
    tools = ChatTools(tr.open_store(store), launcher, settings=settings, kinds=kinds)
    previous = signal.getsignal(signal.SIGINT)
    if chat_ignores_sigint:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # what the campaign's process inherits
    try:
        values = {"task": "branin", "planner": "random", "trials": 8, "batch": 2}
        (tmp_path / "hold").touch()  # the slowed pool holds after 2 experiments (SLOW_CLI)
        _confirm(tools, tools.launch_campaign("hyperparameter", values, name="chat"))
        deadline = time.time() + 120
        while time.time() < deadline:  # stop it once a few experiments are recorded
            job = launcher.jobs["chat"]
            assert job.process.poll() is None, job.log.read_text()
            try:
                if len(_state(store, "chat")[1]) >= 2:
                    break
            except Exception:  # noqa: BLE001 - not in the store yet
                pass
            time.sleep(0.2)
        proposed = tools.stop_campaign("chat")
        # The SIGINT must land while the pool holds, and the hold must then go: a stop lets the
        # round in flight finish, which a held pool never does. Released before the SIGINT (as
        # this test once did), the last three rounds could finish first on a loaded box
        # (FINISHED, not KILLED); kept held, the stop waited out its 60 s. So the hold is
        # released 1 s after the confirmation starts, long after its SIGINT is sent.
        release = threading.Timer(1.0, (tmp_path / "hold").unlink)
        release.start()
        try:
            assert "stopped 'chat'" in _confirm(tools, proposed)
        finally:
            release.join()
        before = _ended_midway(store, "chat", "KILLED", 8)
        _confirm(tools, tools.resume_campaign("chat"))
        job = launcher.jobs["chat"]
        assert job.process.wait(timeout=120) == 0, job.log.read_text()
        _finished(store, "chat", before, 8)
    finally:
        launcher.close(stop=True)
        signal.signal(signal.SIGINT, previous)
