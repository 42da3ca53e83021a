"""A campaign slow enough to act on while it runs: the real CLI in a subprocess, running a
user objective that sleeps ``SLOW_S`` seconds per experiment and logs each execution (so a
test knows what ran, and how often)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

OBJECTIVE = textwrap.dedent(
    """
    import math, os, time

    def branin(params):
        x1, x2 = params["x1"], params["x2"]
        with open(os.environ["SLOW_BRANIN_LOG"], "a") as f:
            f.write(f"{os.getpid()} {x1!r} {x2!r}\\n")
        time.sleep(float(os.environ.get("SLOW_S", "0.1")))
        b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
        return -((x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10)
    """
)
SPACE = (
    '[x1]\ntype = "float"\nlow = -5.0\nhigh = 10.0\n[x2]\ntype = "float"\nlow = 0.0\nhigh = 15.0\n'
)


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "perturbo.cli", *args]


def prepare(d: Path, slow_s: float, **env: str) -> dict[str, str]:
    """Write the objective and space into ``d``; the environment to run the CLI with."""
    (d / "slow_branin.py").write_text(OBJECTIVE)
    (d / "space.toml").write_text(SPACE)
    return {
        **os.environ,
        "PYTHONPATH": f"{d}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        "SLOW_BRANIN_LOG": str(d / "executions.log"),
        "SLOW_S": str(slow_s),
        **env,
    }


def run_args(d: Path, uri: str, name: str, trials: int, batch: int = 2) -> list[str]:
    return [
        "run", "hyperparameter", "--task", "slow_branin:branin", "--allow-user-code",
        "--space", str(d / "space.toml"), "--objective", "value", "--direction", "min",
        "--planner", "random",
        "--trials", str(trials), "--batch", str(batch), "--local", "--tracking-uri", uri,
        "--name", name, "--no-progress",
    ]  # fmt: skip


def start(d: Path, args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        cli(*args), cwd=d, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def executions(d: Path) -> list[tuple[str, str, str]]:
    log = d / "executions.log"
    return [tuple(x.split()) for x in log.read_text().splitlines()] if log.exists() else []  # type: ignore[misc]


def recorded(uri: str, name: str) -> list[object]:
    """What the store holds of campaign ``name``. Call it only once the campaign runs (an
    execution is logged): a reader opening a sqlite store the driver is still creating would
    race it through MLflow's schema migrations."""
    from perturbo.tracking import load_history

    try:
        return list(load_history(uri, name)[1])
    except Exception:  # noqa: BLE001 - not created yet
        return []


def wait_recorded(d: Path, uri: str, name: str, n: int, proc: subprocess.Popen[str]) -> None:
    """Until ``n`` experiments of ``name`` are in the store (first: until one ran)."""
    wait_for("an experiment ran", lambda: bool(executions(d)), proc, 180)
    wait_for(f"{n} recorded", lambda: len(recorded(uri, name)) >= n, proc, 180)


def wait_for(
    what: str, ok: Callable[[], bool], proc: subprocess.Popen[str] | None, timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    while not ok():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the campaign ended before {what}:\n{proc.stdout.read()}")  # type: ignore[union-attr]
        if time.monotonic() > deadline:
            raise AssertionError(f"not {what} after {timeout_s:.0f} s")
        time.sleep(0.2)
