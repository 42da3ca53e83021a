"""What a lab campaign leaves in MLflow as its rounds are recorded, read back from a real sqlite
store: the parent run's ``plots/hit_ratio.png`` (drawn at each recorded round, as the README
says), and under a z hit rule each round's ``hit_call.csv`` / ``hit_call.json`` on the round's
run: the controls' mean and sd, every gene's replicate values and the z the call computed; under a
score rule the same record, the controls' columns left empty."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from loop_helpers import library, results, sheet_genes, start_args

from perturbo import tracking
from perturbo.cli import main

PNG = b"\x89PNG\r\n\x1a\n"


def _png(uri: str, tmp: Path) -> bytes:
    store = tracking.open_store(uri)
    run = store.parent_run_id("L")
    names = [f.path for f in store.client.list_artifacts(run, "plots")]
    assert "plots/hit_ratio.png" in names, names
    return Path(store.client.download_artifacts(run, "plots/hit_ratio.png", str(tmp))).read_bytes()


def test_each_recorded_round_draws_the_hit_ratio_plot(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path}/lab.db"
    args = start_args(tmp_path, uri, rounds=3, batch=8)
    args[args.index("--planner") + 1] = "bo"
    assert main(args) == 0
    genes = sheet_genes(tmp_path / "L-round1.csv")
    assert main(["tell", "L", str(results(tmp_path / "r1.csv", genes)), "--tracking-uri", uri]) == 0
    (tmp_path / "d1").mkdir()
    first = _png(uri, tmp_path / "d1")
    assert first.startswith(PNG) and len(first) > 1000
    genes = sheet_genes(tmp_path / "L-round2.csv")
    assert main(["tell", "L", str(results(tmp_path / "r2.csv", genes)), "--tracking-uri", uri]) == 0
    (tmp_path / "d2").mkdir()
    second = _png(uri, tmp_path / "d2")
    assert second.startswith(PNG) and second != first  # redrawn with round 2


CONTROLS = ("NTC1", "NTC2", "NTC3")


def _z_start(tmp: Path, uri: str) -> list[str]:
    (tmp / "controls.txt").write_text("\n".join(CONTROLS) + "\n")
    args = start_args(tmp, uri, rounds=3, batch=6)
    args[args.index("--hit-rule") + 1] = "z<=-2"
    return [*args, "--controls", str(tmp / "controls.txt")]


def _plate(path: Path, genes: list[str], value: dict[str, float], ctl: list[float]) -> Path:
    """Two replicates a gene (value -/+ 0.1); the controls' scores ``ctl`` once each."""
    with path.open("w") as f:
        f.write("Gene,Replicate,Score\n")
        for g in genes:
            f.write(f"{g},1,{value[g] - 0.1!r}\n{g},2,{value[g] + 0.1!r}\n")
        for c, v in zip(CONTROLS, ctl, strict=True):
            f.write(f"{c},1,{v!r}\n")
    return path


def _round_run_files(uri: str, tmp: Path) -> tuple[list[dict[str, str]], dict]:
    store = tracking.open_store(uri)
    client = store.client
    exp = client.get_experiment_by_name("L").experiment_id
    runs = client.search_runs([exp], filter_string="tags.`perturbo.role` = 'round'")
    (run,) = [r for r in runs if r.info.run_name == "round-001"]
    names = [f.path for f in client.list_artifacts(run.info.run_id)]
    assert "hit_call.csv" in names and "hit_call.json" in names, names
    path = client.download_artifacts(run.info.run_id, "hit_call.csv", str(tmp))
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    path = client.download_artifacts(run.info.run_id, "hit_call.json", str(tmp))
    return rows, json.loads(Path(path).read_text())


def test_a_z_rule_keeps_what_each_rounds_hit_call_stood_on(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path}/lab.db"
    library(tmp_path)
    assert main(_z_start(tmp_path, uri)) == 0
    genes = sheet_genes(tmp_path / "L-round1.csv")
    value = {g: (-3.0 if i % 2 else 0.5) for i, g in enumerate(genes)}
    # told in two files, each with its own controls (mean 0, sd 1; then mean 1, sd 2)
    one = _plate(tmp_path / "p1.csv", genes[:3], value, [-1.0, 0.0, 1.0])
    two = _plate(tmp_path / "p2.csv", genes[3:], value, [-1.0, 1.0, 3.0])
    assert main(["tell", "L", str(one), "--tracking-uri", uri]) == 0
    assert main(["tell", "L", str(two), "--tracking-uri", uri]) == 0
    rows, summary = _round_run_files(uri, tmp_path)

    told = [r for r in rows if r["control"] == "0"]
    assert sorted({r["gene"] for r in told}) == sorted(genes)
    assert len(told) == 2 * len(genes)  # every replicate, as read
    for r in told:
        mean, sd = (0.0, 1.0) if r["gene"] in genes[:3] else (1.0, 2.0)
        assert float(r["control_mean"]) == pytest.approx(mean)
        assert float(r["control_sd"]) == pytest.approx(sd)
        assert r["n_controls"] == "3" and r["rule"] == "z<=-2"
        assert float(r["score"]) == pytest.approx(value[r["gene"]])
        assert float(r["value"]) == pytest.approx(
            value[r["gene"]] + (0.1 if r["replicate"] == "2" else -0.1)
        )
        z = (value[r["gene"]] - mean) / sd
        assert float(r["z"]) == pytest.approx(z)
        assert r["hit"] == ("1" if z <= -2 else "0")
    assert {r["gene"] for r in rows if r["control"] == "1"} == set(CONTROLS)
    hits = {
        o.spec.params["gene"]
        for o in tracking.open_store(uri).history("L")
        if o.outcome.metrics["hit"]
    }
    assert hits == {r["gene"] for r in told if r["hit"] == "1"}  # the record is the call made

    assert summary["rule"] == "z<=-2"
    files = {Path(f["file"]).name: f for f in summary["files"]}
    assert set(files) == {"p1.csv", "p2.csv"}
    assert (files["p1.csv"]["control_mean"], files["p1.csv"]["control_sd"]) == pytest.approx(
        (0.0, 1.0)
    )
    assert (files["p2.csv"]["control_mean"], files["p2.csv"]["control_sd"]) == pytest.approx(
        (1.0, 2.0)
    )
    assert files["p1.csv"]["genes"] == 3 and files["p2.csv"]["genes"] == len(genes) - 3


def test_a_score_rule_keeps_its_hit_call_too(tmp_path: Path, monkeypatch) -> None:
    """Under ``score<=T`` (as under every rule) the round's run keeps every replicate as read,
    with its file and line, the gene's mean and the call; the controls' columns and z are left
    empty, and the JSON says why. It kept nothing but the gene means before."""
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path}/lab.db"
    args = start_args(tmp_path, uri, rounds=3, batch=6)
    args[args.index("--hit-rule") + 1] = "score<=-1"
    assert main(args) == 0
    genes = sheet_genes(tmp_path / "L-round1.csv")
    value = {g: (-3.0 if i % 2 else 0.5) for i, g in enumerate(genes)}
    plate = tmp_path / "plate.csv"
    with plate.open("w") as f:
        f.write("gene symbol,replicate,score\n")
        for g in genes:
            f.write(f"{g},1,{value[g] - 0.1!r}\n{g},2,{value[g] + 0.1!r}\n")
    assert main(["tell", "L", str(plate), "--tracking-uri", uri]) == 0
    rows, summary = _round_run_files(uri, tmp_path)
    assert len(rows) == 2 * len(genes) and {r["gene"] for r in rows} == set(genes)
    for k, r in enumerate(rows):
        assert Path(r["file"]).name == "plate.csv" and r["line"] == str(k + 2)
        g = r["gene"]
        assert float(r["value"]) == pytest.approx(
            value[g] + (0.1 if r["replicate"] == "2" else -0.1)
        )
        assert float(r["score"]) == pytest.approx(value[g]) and r["rule"] == "score<=-1"
        assert r["hit"] == ("1" if value[g] <= -1 else "0") and r["control"] == "0"
        assert r["control_mean"] == r["control_sd"] == r["n_controls"] == r["z"] == ""
    assert summary["rule"] == "score<=-1" and "no controls" in summary["empty"]
    (f,) = summary["files"]
    assert f["genes"] == len(genes) and f["hits"] == sorted(g for g in genes if value[g] <= -1)
