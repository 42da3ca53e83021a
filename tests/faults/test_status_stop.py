"""`perturbo status` and `perturbo stop` on real campaigns: the driver is the CLI in a
subprocess on a sqlite store, each experiment logged as it runs; status, stop and the refused
second driver go through ``perturbo.cli.main`` in this process (what a second terminal runs).

- a live campaign shows as running with its progress; a second driver (`resume`) is refused
  while it lives; `stop` ends it cleanly (what runs is recorded, KILLED) and `resume` finishes
  it with every experiment recorded once and run once;
- a SIGKILLed driver leaves its run RUNNING, and `status` tells it is dead (its PID is gone);
  `stop` marks it KILLED (exit 0); a second `stop` stops nothing (exit 1).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections import Counter
from pathlib import Path

import pytest
import slow_campaign as slow

from perturbo.cli import main
from perturbo.types import Status

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


def _status(capsys: pytest.CaptureFixture[str], uri: str) -> dict[str, dict[str, object]]:
    rc, out, err = _cli(capsys, "status", "--all", "--json", "--tracking-uri", uri)
    assert rc == 0, err
    rows = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
    return {str(x["campaign"]): x for x in rows}


def test_status_then_stop_then_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = slow.prepare(tmp_path, 0.2, PERTURBO_HEARTBEAT_S="1")
    uri, name, budget = f"sqlite:///{tmp_path}/mlflow.db", "stoppable", 60
    proc = slow.start(tmp_path, slow.run_args(tmp_path, uri, name, budget), env)
    try:
        slow.wait_recorded(tmp_path, uri, name, 4, proc)
        row = _status(capsys, uri)[name]
        assert row["state"] == "running" and row["pid"] == proc.pid, row
        assert f"/{budget} experiments" in str(row["progress"]), row

        rc, _, err = _cli(capsys, "resume", name, "--tracking-uri", uri, "--local")
        assert rc == 2 and "is running" in err and "perturbo stop" in err, err

        rc, out, err = _cli(capsys, "stop", name, "--tracking-uri", uri, "--wait", "120")
        assert rc == 0, out + err
        assert "asked stoppable to stop" in out and "stopped: KILLED" in out, out
        log, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
    assert proc.returncode == 0, log[-3000:]
    assert "stopped by `perturbo stop`" in log and f"perturbo resume {name}" in log, log[-2000:]
    before = slow.recorded(uri, name)
    assert 4 <= len(before) < budget, "stopped midway"
    assert _status(capsys, uri)[name]["state"] == "killed"
    assert len(slow.executions(tmp_path)) == len(before), "what ran was recorded, no more"

    done = subprocess.run(
        slow.cli("resume", name, "--tracking-uri", uri, "--local", "--no-progress"),
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    hist = slow.recorded(uri, name)
    ids = [o.spec.id for o in hist]  # type: ignore[attr-defined]
    assert len(ids) == len(set(ids)) == budget
    assert all(o.outcome.status is Status.COMPLETED for o in hist)  # type: ignore[attr-defined]
    runs = Counter((x1, x2) for _, x1, x2 in slow.executions(tmp_path))
    assert len(runs) == budget and set(runs.values()) == {1}, "each experiment ran once"
    assert _status(capsys, uri)[name]["state"] == "finished"


def test_a_sigkilled_driver_shows_dead_and_stop_marks_it_killed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = slow.prepare(tmp_path, 0.3, PERTURBO_HEARTBEAT_S="1")
    uri, name = f"sqlite:///{tmp_path}/mlflow.db", "killed-hard"
    proc = slow.start(tmp_path, slow.run_args(tmp_path, uri, name, 200), env)
    try:
        slow.wait_recorded(tmp_path, uri, name, 2, proc)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    row = _status(capsys, uri)[name]
    assert row["state"] == "dead" and str(proc.pid) in str(row["detail"]), row
    rc, out, _ = _cli(capsys, "status", "--tracking-uri", uri)
    assert rc == 0 and "dead" in out and f"perturbo resume {name}" in out, out
    rc, out, err = _cli(capsys, "stop", name, "--tracking-uri", uri)
    assert rc == 0 and "marked KILLED" in out, out + err
    assert _status(capsys, uri)[name]["state"] == "killed"
    rc, out, err = _cli(capsys, "stop", name, "--tracking-uri", uri)
    assert rc == 1 and "not running" in err and "KILLED" in err, out + err  # nothing stopped


def test_stop_on_a_store_nobody_wrote_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, _, err = _cli(capsys, "stop", "nope", "--tracking-uri", f"sqlite:///{tmp_path}/none.db")
    assert rc == 2 and "Traceback" not in err
    assert "does not exist" in err and "--tracking-uri" in err, err
