"""Running the real ``perturbo`` CLI in a subprocess, and reading what a store holds."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CAMPAIGN = [
    "run",
    "hyperparameter",
    "--task",
    "branin",
    "--planner",
    "random",
    "--trials",
    "8",
    "--batch",
    "4",
    "--no-progress",
]


def perturbo(
    *argv: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    base = {
        k: v for k, v in os.environ.items() if not k.startswith(("RAY_ADDRESS", "MLFLOW_TRACKING"))
    }
    base.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "perturbo.cli", *argv],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=base,
        timeout=timeout,
    )
