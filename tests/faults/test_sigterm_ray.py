"""SIGTERM (what `ray job stop`, `kill` and schedulers send) ends a campaign as Ctrl-C does,
on Ray too: the real CLI in a subprocess, the real MLflow sqlite store read back.

Issue 17: on Ray, ``ray.init`` replaced the driver's SIGTERM handler with Ray's
``sys.exit``: exit 1 after a stack dump, the campaign left RUNNING. Now: exit 143, one line
naming the resume command, the parent run KILLED, and ``perturbo resume`` completes the
budget with every experiment recorded once.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

OBJECTIVE = textwrap.dedent(
    """
    import os, time

    def slow(params):
        with open(os.environ["SLOW_LOG"], "a") as f:
            f.write(f"{os.getpid()} {params['x']!r}\\n")
        time.sleep(0.4)
        return -(params["x"] - 0.3) ** 2
    """
)
SPACE = '[x]\ntype = "float"\nlow = 0.0\nhigh = 1.0\n'
BUDGET, BATCH = 24, 4


@pytest.fixture
def ray_tmp() -> Iterator[Path]:
    """Short: Ray's socket paths under it must stay within AF_UNIX's 107 bytes."""
    d = Path(tempfile.mkdtemp(prefix="prs-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "perturbo.cli", *args]


def _parent_status(uri: str, name: str) -> str:
    from mlflow import MlflowClient

    client = MlflowClient(uri)
    exp = client.get_experiment_by_name(name)
    assert exp is not None, f"campaign {name} not in the store"
    (parent,) = client.search_runs([exp.experiment_id], "tags.`mlflow.parentRunId` IS NULL")
    return str(parent.info.status)


def _start(
    tmp_path: Path, ray_tmp: Path, name: str, *extra: str
) -> tuple[subprocess.Popen[str], str, dict]:
    (tmp_path / "slowobj.py").write_text(OBJECTIVE)
    (tmp_path / "space.toml").write_text(SPACE)
    (tmp_path / "store").mkdir()
    uri = f"sqlite:///{tmp_path}/store/mlflow.db"  # not the default: the hint must name it
    env = {
        **os.environ,
        "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        "SLOW_LOG": str(tmp_path / "executions.log"),
        "RAY_TMPDIR": str(ray_tmp),
    }
    env.pop("RAY_ADDRESS", None)
    args = [
        "run", "hyperparameter", "--task", "slowobj:slow", "--allow-user-code",
        "--space", str(tmp_path / "space.toml"), "--objective", "value", "--direction", "max", "--planner", "random",
        "--trials", str(BUDGET), "--batch", str(BATCH), "--schedule", "sync",
        "--tracking-uri", uri, "--name", name, "--no-progress", *extra,
    ]  # fmt: skip
    driver = subprocess.Popen(_cli(*args), cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)  # fmt: skip
    return driver, uri, env


def _sigterm_after_a_round(driver: subprocess.Popen[str], tmp_path: Path) -> tuple[str, float]:
    log = tmp_path / "executions.log"
    deadline = time.monotonic() + 240
    try:
        while not log.exists() or len(log.read_text().splitlines()) <= BATCH + 1:
            if driver.poll() is not None:
                pytest.fail(f"the campaign ended early:\n{driver.communicate()[1][-3000:]}")
            assert time.monotonic() < deadline, "no round ran in 240 s"
            time.sleep(0.05)
        t0 = time.monotonic()
        os.kill(driver.pid, signal.SIGTERM)  # only the driver, as `kill PID` does
        _, err = driver.communicate(timeout=120)
        return err, time.monotonic() - t0
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait(30)


@pytest.mark.parametrize("where", ["ray", "local"])
def test_sigterm_ends_the_campaign_like_ctrl_c(tmp_path: Path, ray_tmp: Path, where: str) -> None:
    from perturbo.tracking import load_history

    name = f"sigterm-{where}"
    extra = ("--local",) if where == "local" else ("--workers", "2")
    driver, uri, env = _start(tmp_path, ray_tmp, name, *extra)
    err, took = _sigterm_after_a_round(driver, tmp_path)
    assert driver.returncode == 143, f"exit {driver.returncode}:\n{err[-3000:]}"
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert "Traceback" not in err and "Stack" not in err, err[-3000:]
    assert lines[-1].startswith("perturbo: terminated (SIGTERM): the recorded rounds are kept"), err
    assert f"`perturbo resume {name} --tracking-uri {uri}` continues" in lines[-1]
    assert took < 90, f"took {took:.0f} s to stop"
    assert _parent_status(uri, name) == "KILLED"
    before = load_history(uri, name)[1]
    assert 0 < len(before) < BUDGET

    resumed = subprocess.run(_cli("resume", name, "--tracking-uri", uri, "--no-progress",
                                  "--local"), cwd=tmp_path, env=env, capture_output=True,
                             text=True, timeout=300)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    hist = load_history(uri, name)[1]
    ids = [o.spec.id for o in hist]
    assert len(ids) == len(set(ids)) == BUDGET, f"{len(ids)} recorded, {len(set(ids))} unique"
    assert list(hist)[: len(before)] == list(before), "the recorded rounds are kept as they were"
    assert _parent_status(uri, name) == "FINISHED"
