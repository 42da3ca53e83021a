"""A confirmed launch is said started only once it is under way (:mod:`perturbo.agents.chat.ended`):
one refused in its first seconds answers its log's error line, and the resume of a lab
campaign (one step, no process left) answers what it did."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lab"))

from loop_helpers import results, sheet_genes, start_args  # noqa: E402

from perturbo.agents.chat import ended  # noqa: E402
from perturbo.agents.chat.actions import Launcher  # noqa: E402
from perturbo.cli import main  # noqa: E402
from perturbo.types import PerturboError  # noqa: E402


def _resume(launcher: Launcher, name: str, *flags: str) -> str:
    argv = ["resume", name, *launcher.run_options(), *flags]
    return launcher.propose("resume", name, argv, f"resume {name}").token


def test_a_refused_resume_is_not_said_started_and_a_lab_resume_says_what_it_did(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path}/lab.db"
    assert main(start_args(tmp_path, uri, rounds=1)) == 0
    genes = sheet_genes(tmp_path / "L-round1.csv")
    assert main(["tell", "L", str(results(tmp_path / "r1.csv", genes)), "--tracking-uri", uri]) == 0
    capsys.readouterr()
    launcher = Launcher(uri, workdir=tmp_path / "chat", root=tmp_path)

    with pytest.raises(PerturboError) as e:  # refused at once: its error line, not "started"
        launcher.confirm(_resume(launcher, "L", "--rounds", "1"))
    said = str(e.value)
    assert "'L' did not start" in said and "exited with code 2" in said, said
    assert "already has 1 round recorded" in said and "started" not in said.split(":")[0]

    said = launcher.confirm(_resume(launcher, "L", "--rounds", "2"))
    assert said.startswith("ran `perturbo resume L") and "(pid" not in said, said
    assert "budget raised to 2 rounds" in said and "batch sheet: L-round2.csv" in said, said
    assert len(sheet_genes(tmp_path / "L-round2.csv")) == 8


def test_a_launch_under_way_is_said_started_without_waiting_it_out(tmp_path):
    fake = tmp_path / "python"
    fake.write_text(f'#!/bin/sh\necho "  {ended.UNDER_WAY} (in this process) ..."\nexec sleep 60\n')
    fake.chmod(0o755)
    launcher = Launcher("sqlite:///unused.db", workdir=tmp_path / "chat", python=str(fake))
    token = launcher.propose("resume", "x", ["resume", "x"], "resume x").token
    t0 = time.monotonic()
    try:
        said = launcher.confirm(token)
        assert said.startswith("started 'x' (pid"), said
        assert time.monotonic() - t0 < ended.EARLY_EXIT_S
    finally:
        launcher.close(stop=True)


def test_the_line_the_chat_waits_for_is_the_one_a_launch_logs():
    from perturbo import launch

    assert ended.UNDER_WAY in Path(launch.__file__).read_text()
