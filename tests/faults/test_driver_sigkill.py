"""A driver SIGKILLed mid-campaign, then ``perturbo resume``: the real CLI in subprocesses.

The objective is a slow user function (0.1 s) that logs every execution, so the test knows
what ran before the kill and what ran after. After the resume the store must hold exactly
the budget, each experiment once: none of the recorded ones ran again, and the round that
was in flight when the driver died is run (once) by the resumed campaign instead.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from perturbo.types import Status

pytestmark = pytest.mark.slow

OBJECTIVE = textwrap.dedent(
    """
    import math, os, time

    def branin(params):
        x1, x2 = params["x1"], params["x2"]
        with open(os.environ["SLOW_BRANIN_LOG"], "a") as f:
            f.write(f"{os.getpid()} {x1!r} {x2!r}\\n")
        time.sleep(0.1)
        b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
        return -((x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10)
    """
)
SPACE = (
    '[x1]\ntype = "float"\nlow = -5.0\nhigh = 10.0\n[x2]\ntype = "float"\nlow = 0.0\nhigh = 15.0\n'
)
BUDGET, BATCH = 24, 4


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "perturbo.cli", *args]


def _recorded(uri: str, name: str) -> list[object]:
    from perturbo.tracking import load_history

    try:
        return list(load_history(uri, name)[1])
    except Exception:  # noqa: BLE001 - not created yet
        return []


def test_sigkilled_driver_resumes_without_rerunning_or_losing_experiments(tmp_path: Path) -> None:
    (tmp_path / "slow_branin.py").write_text(OBJECTIVE)
    (tmp_path / "space.toml").write_text(SPACE)
    log = tmp_path / "executions.log"
    uri, name = f"sqlite:///{tmp_path}/mlflow.db", "sigkill-resume"
    env = {
        **os.environ,
        "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        "SLOW_BRANIN_LOG": str(log),
        "MLFLOW_TRACKING_URI": uri,
    }
    run_args = [
        "run", "hyperparameter", "--task", "slow_branin:branin", "--allow-user-code",
        "--space", str(tmp_path / "space.toml"), "--objective", "value", "--direction", "min",
        "--planner", "random",
        "--trials", str(BUDGET), "--batch", str(BATCH), "--local", "--workers", "1",
        "--tracking-uri", uri,
        "--name", name, "--no-progress",
    ]  # fmt: skip
    driver = subprocess.Popen(_cli(*run_args), cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        # one pool worker: an experiment starts only once the ones before it are recorded,
        # so a 9th execution means two rounds (8 experiments) are in the store
        while not log.exists() or len(log.read_text().splitlines()) <= 2 * BATCH:
            assert driver.poll() is None, f"the campaign ended early:\n{driver.stdout.read()}"  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "two rounds not recorded in 120 s"
            time.sleep(0.02)
        os.kill(driver.pid, signal.SIGKILL)
    finally:
        driver.kill()
        driver.wait(timeout=30)
    assert driver.returncode == -signal.SIGKILL
    before = _recorded(uri, name)
    assert 2 * BATCH <= len(before) < BUDGET, "killed mid-campaign"
    ran_before = log.read_text().splitlines()
    first_pid = ran_before[0].split()[0]

    resumed = subprocess.run(_cli("resume", name, "--tracking-uri", uri, "--no-progress"),
                             cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)  # fmt: skip
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr

    hist = _recorded(uri, name)
    ids = [o.spec.id for o in hist]  # type: ignore[attr-defined]
    assert len(ids) == len(set(ids)) == BUDGET, f"{len(ids)} recorded, {len(set(ids))} unique"
    assert all(o.outcome.status is Status.COMPLETED for o in hist)  # type: ignore[attr-defined]
    assert hist[: len(before)] == before, "the recorded rounds are kept as they were"
    configs = [(repr(o.spec.params["x1"]), repr(o.spec.params["x2"])) for o in hist]  # type: ignore[attr-defined]
    assert len(set(configs)) == BUDGET, "an experiment was recorded twice"
    runs = [tuple(line.split()) for line in log.read_text().splitlines()]
    count: dict[tuple[str, str], int] = {}
    for _, x1, x2 in runs:
        count[(x1, x2)] = count.get((x1, x2), 0) + 1
    recorded_before = configs[: len(before)]
    assert all(count[c] == 1 for c in recorded_before), "a completed experiment ran again"
    in_flight = {(x1, x2) for pid, x1, x2 in runs if pid == first_pid} - set(recorded_before)
    assert len(in_flight) <= BATCH
    after = [(x1, x2) for pid, x1, x2 in runs if pid != first_pid]
    assert len(after) == len(set(after)) == BUDGET - len(before), "each new experiment ran once"
    assert all(c in configs for c in after)
