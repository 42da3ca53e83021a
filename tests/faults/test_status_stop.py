"""`perturbo status` and `perturbo stop` on real campaigns: the CLI in subprocesses on a
sqlite store, each experiment logged as it runs.

- a live campaign shows as running with its progress; a second driver (`resume`) is refused
  while it lives; `stop` ends it cleanly (what runs is recorded, KILLED) and `resume` finishes
  it with every experiment recorded once and run once;
- a SIGKILLed driver leaves its run RUNNING, and `status` tells it is dead (its PID is gone);
  `stop` marks it KILLED.
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

from perturbo.types import Status

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def _cli(d: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(slow.cli(*args), cwd=d, env=env, capture_output=True, text=True,
                          timeout=240)  # fmt: skip


def _status(d: Path, env: dict[str, str], uri: str) -> dict[str, dict[str, object]]:
    r = _cli(d, env, "status", "--all", "--json", "--tracking-uri", uri)
    assert r.returncode == 0, r.stderr
    rows = [json.loads(x) for x in r.stdout.splitlines() if x.startswith("{")]
    return {str(x["campaign"]): x for x in rows}


def test_status_then_stop_then_resume(tmp_path: Path) -> None:
    env = slow.prepare(tmp_path, 0.3, PERTURBO_HEARTBEAT_S="1")
    uri, name, budget = f"sqlite:///{tmp_path}/mlflow.db", "stoppable", 80
    proc = slow.start(tmp_path, slow.run_args(tmp_path, uri, name, budget), env)
    try:
        slow.wait_recorded(tmp_path, uri, name, 4, proc)
        row = _status(tmp_path, env, uri)[name]
        assert row["state"] == "running" and row["pid"] == proc.pid, row
        assert f"/{budget} experiments" in str(row["progress"]), row

        second = _cli(tmp_path, env, "resume", name, "--tracking-uri", uri, "--local")
        assert second.returncode == 2 and "is running" in second.stderr, second.stderr
        assert "Traceback" not in second.stderr

        stop = _cli(tmp_path, env, "stop", name, "--tracking-uri", uri, "--wait", "120")
        assert stop.returncode == 0, stop.stdout + stop.stderr
        assert "asked stoppable to stop" in stop.stdout and "stopped (killed)" in stop.stdout
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
    assert proc.returncode == 0, out[-3000:]
    assert "stopped by `perturbo stop`" in out and f"perturbo resume {name}" in out, out[-2000:]
    before = slow.recorded(uri, name)
    assert 4 <= len(before) < budget, "stopped midway"
    assert _status(tmp_path, env, uri)[name]["state"] == "killed"
    assert len(slow.executions(tmp_path)) == len(before), "what ran was recorded, no more"

    done = _cli(tmp_path, env, "resume", name, "--tracking-uri", uri, "--local", "--no-progress")
    assert done.returncode == 0, done.stderr[-3000:]
    hist = slow.recorded(uri, name)
    ids = [o.spec.id for o in hist]  # type: ignore[attr-defined]
    assert len(ids) == len(set(ids)) == budget
    assert all(o.outcome.status is Status.COMPLETED for o in hist)  # type: ignore[attr-defined]
    runs = Counter((x1, x2) for _, x1, x2 in slow.executions(tmp_path))
    assert len(runs) == budget and set(runs.values()) == {1}, "each experiment ran once"
    assert _status(tmp_path, env, uri)[name]["state"] == "finished"


def test_a_sigkilled_driver_shows_dead_and_stop_marks_it_killed(tmp_path: Path) -> None:
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
    row = _status(tmp_path, env, uri)[name]
    assert row["state"] == "dead" and str(proc.pid) in str(row["detail"]), row
    table = _cli(tmp_path, env, "status", "--tracking-uri", uri)
    assert "dead" in table.stdout and f"perturbo resume {name}" in table.stdout, table.stdout
    stop = _cli(tmp_path, env, "stop", name, "--tracking-uri", uri)
    assert stop.returncode == 0 and "marked KILLED" in stop.stdout, stop.stdout + stop.stderr
    assert _status(tmp_path, env, uri)[name]["state"] == "killed"
    nothing = _cli(tmp_path, env, "stop", name, "--tracking-uri", uri)
    assert nothing.returncode == 0 and "not running" in nothing.stdout


def test_stop_on_a_name_nobody_ran_is_a_clear_error(tmp_path: Path) -> None:
    env = slow.prepare(tmp_path, 0.0)
    uri = f"sqlite:///{tmp_path}/none.db"
    r = _cli(tmp_path, env, "stop", "nope", "--tracking-uri", uri)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "does not exist" in r.stderr and "--tracking-uri" in r.stderr, r.stderr
