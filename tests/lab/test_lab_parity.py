"""Parity (issue 19): a lab campaign driven by a separate process through the CLI alone
proposes exactly what the in-process simulated campaign does, round by round, with the same
seed and planner; nothing is lost between processes (the planner is rebuilt from the store at
every step)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from perturbo import tracking
from perturbo.cli import main
from perturbo.kinds.genetic.screens import load_screen

HERE = Path(__file__).resolve().parent


def _files(tmp: Path, screen: str) -> tuple[Path, Path, Path, Path]:
    """The shipped screen as a user's CSV (sim/NAME.csv), its hits and task, and the same genes
    as a guide library with no measurements (lab/NAME.csv: one stem, one campaign subject)."""
    s = load_screen(screen)
    (tmp / "sim").mkdir()
    (tmp / "lab").mkdir()
    task = tmp / "task.json"
    task.write_text(json.dumps({"Task": s.task, "Measurement": s.measurement, "Study": s.study}))
    sim = tmp / "sim" / "screen.csv"
    sim.write_text(
        "Gene,Score\n"
        + "".join(f"{g},{float(v)!r}\n" for g, v in zip(s.genes, s.scores, strict=True))
    )
    hits = tmp / "hits.txt"
    hits.write_text("\n".join(sorted(s.hits)) + "\n")
    lib = tmp / "lab" / "screen.csv"
    lib.write_text("Gene,sgRNA\n" + "".join(f"{g},{g}_1\n{g},{g}_2\n" for g in s.genes))
    return sim, hits, task, lib


def _rounds(uri: str, name: str) -> list[list[tuple[str, float, float]]]:
    out: dict[int, list[tuple[str, float, float]]] = {}
    for o in tracking.open_store(uri).history(name):
        out.setdefault(o.spec.round, []).append(
            (o.spec.params["gene"], o.outcome.value("hit"), o.outcome.value("score"))
        )
    return [out[r] for r in sorted(out)]


@pytest.mark.slow
def test_a_scripted_lab_through_the_cli_matches_the_simulated_campaign(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sim, hits, task, lib = _files(tmp_path, "Scharenberg22")
    common = ["--planner", "bo", "--rounds", "5", "--batch", "128", "--seed", "0"]
    common += ["--task", str(task)]
    sim_uri, lab_uri = f"sqlite:///{tmp_path}/sim.db", f"sqlite:///{tmp_path}/lab.db"
    args = ["run", "genetic", "--screen", str(sim), "--hits", str(hits), "--local"]
    assert main([*args, "--name", "sim", "--tracking-uri", sim_uri, *common]) == 0

    start = ["--library", str(lib), "--hit-rule", "column", *common]
    lab = subprocess.run(
        [sys.executable, str(HERE / "scripted_lab.py"), "lab", str(sim), str(hits), lab_uri, *start],
        cwd=tmp_path, capture_output=True, text=True, timeout=1200,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )  # fmt: skip
    assert lab.returncode == 0, lab.stderr[-3000:]
    said = [line for line in lab.stderr.splitlines() if "warning" in line]
    assert not [w for w in said if "recorded" in w], said  # the replay proposed what was recorded

    simulated, told = _rounds(sim_uri, "sim"), _rounds(lab_uri, "lab")
    assert [len(r) for r in told] == [128] * 5
    assert told == simulated  # the same genes, in the same order, with the same answers
    n_hits = len(load_screen("Scharenberg22").hits)
    ratio = sum(h for r in told for _, h, _ in r) / n_hits
    sim_ratio = tracking.open_store(sim_uri).round_metrics("sim")[4]["hit_ratio"]
    assert ratio == pytest.approx(sim_ratio)
    assert tracking.open_store(lab_uri).summary("lab").status == "FINISHED"
