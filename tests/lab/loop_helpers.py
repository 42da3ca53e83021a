"""Shared by the lab loop's tests: a small library, a lab that answers from a formula, and
the CLI run in a child process (as a lab's computer would run it)."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

from perturbo import tracking

GENES = [f"G{i:03d}" for i in range(40)]


def score(gene: str) -> float:
    """A measured score: a hit when >= 2."""
    return (int(gene[1:]) * 7 % 13) / 3.0


def library(tmp: Path, genes: list[str] = GENES) -> Path:
    p = tmp / "lib.csv"
    with p.open("w") as f:
        f.write("Gene,sgRNA\n")
        for g in genes:
            f.write(f"{g},{g}_1\n{g},{g}_2\n")
    return p


def start_args(tmp: Path, uri: str, name: str = "L", rounds: int = 3, batch: int = 8) -> list[str]:
    return [
        "run", "genetic", "--lab", "--library", str(library(tmp)), "--hit-rule", "score>=2",
        "--task", "find genes", "--planner", "random", "--rounds", str(rounds),
        "--batch", str(batch), "--name", name, "--tracking-uri", uri,
    ]  # fmt: skip


TRIALS_SPACE = '[x]\ntype = "float"\nlow = 0.0\nhigh = 1.0\n'


def trials_start_args(tmp: Path, uri: str, name: str, trials: int, *extra: str) -> list[str]:
    """``perturbo run hyperparameter --lab`` on a one-float space, one trial a batch."""
    space = tmp / "space.toml"
    space.write_text(TRIALS_SPACE)
    return ["run", "hyperparameter", "--lab", "--space", str(space), "--objective", "a",
            "--direction", "min", "--planner", "random", "--batch", "1", "--trials", str(trials),
            "--name", name, "--tracking-uri", uri, *extra]  # fmt: skip


def sheet_genes(path: Path) -> list[str]:
    with path.open() as f:
        return [r["Gene"] for r in csv.DictReader(f) if r["Rank"]]


def results(path: Path, genes: list[str]) -> Path:
    with path.open("w") as f:
        f.write("Gene,Score\n")
        for g in genes:
            f.write(f"{g},{score(g)!r}\n")
    return path


def cli(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``perturbo ARGS`` in a child process."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "perturbo.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def recorded(uri: str, name: str = "L") -> list[tuple[int, str]]:
    """(round, gene) of every recorded observation."""
    return [(o.spec.round, o.spec.params["gene"]) for o in tracking.open_store(uri).history(name)]
