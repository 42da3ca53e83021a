"""Results that say what was found, with one round numbering (issue 16, item 3).

A real genetic campaign (a 90-gene screen of real symbols with 20 hits, random planner, 3 rounds
of 16) is recorded in a real MLflow sqlite store and read back: ``perturbo show`` headlines "N
of 20 hits found (x%) in 48 experiments", ``--hits`` lists the store's hits by round, the
parent run holds ``hits.csv``, the MLflow descriptions say the same, and every surface numbers
rounds 1..3 (nested run names, round tags, metric steps, round files, results.csv). A tuning
campaign (no hits) headlines its own metric. A store written before (rounds from 0, frozen in
``tests/data/old_round0_store.tar.gz`` by the code of the time) still reads and resumes right.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import sqlite3
import tarfile
from pathlib import Path
from typing import Any

import pytest
from stores import *  # noqa: F403
from stores import copy_store, real_genes_csv

from perturbo.cli import main

OLD_STORE = Path(__file__).parent / "data" / "old_round0_store.tar.gz"
OLD_ROOT = "/tmp/perturbo-old-store"  # where the frozen store was written (paths inside it)
N_HITS = 20


def _screen(folder: Path) -> tuple[Path, Path]:
    genes = real_genes_csv(folder / "screen90.csv", n=90)
    names = [ln.split(",")[0] for ln in genes.read_text().splitlines()[1:]]
    hits = folder / "hits20.txt"
    hits.write_text("\n".join(names[::3][:N_HITS]) + "\n")
    return genes, hits


def _run(argv: list[str]) -> str:
    """Run ``perturbo run ...``; returns the campaign's name from its done line."""
    lines: list[str] = []
    mp = pytest.MonkeyPatch()
    mp.setattr("perturbo.launch.say", lines.append)
    try:
        assert main(argv) == 0
    finally:
        mp.undo()
    done = next(ln for ln in lines if ln.startswith("done:"))
    return re.search(r"`perturbo show (\S+)", done).group(1)  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def campaigns(tmp_path_factory: pytest.TempPathFactory, mlflow_template: Path) -> Any:
    """(uri, genetic name, tuning name) in one real store."""
    folder = tmp_path_factory.mktemp("numbering")
    uri = copy_store(mlflow_template, folder)
    genes, hits = _screen(folder)
    common = ["--local", "--no-progress", "--tracking-uri", uri, "--planner", "random"]
    genetic = _run(
        ["run", "genetic", "--screen", str(genes), "--hits", str(hits), "--rounds", "3"]
        + ["--batch", "16", "--seed", "3", *common]
    )
    tuning = _run(["run", "hyperparameter", "--task", "branin", "--trials", "8"] + common)
    return uri, genetic, tuning


def _show(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    rc = main(["show", *argv])
    cap = capsys.readouterr()
    return rc, cap.out + cap.err


def _client(uri: str) -> Any:
    from mlflow import MlflowClient

    return MlflowClient(uri)


def _parent(uri: str, name: str) -> Any:
    from perturbo.tracking import open_store

    store = open_store(uri)
    return store, store.client.get_run(store.parent_run_id(name))


def _recorded_hits(uri: str, name: str) -> list[tuple[str, int, float]]:
    """(gene, round as people count it, score) of every hit in the store's round files."""
    from perturbo.tracking import open_store

    return [
        (str(o.spec.params["gene"]), o.spec.round + 1, o.outcome.metrics["score"])
        for o in open_store(uri).history(name)
        if o.outcome.ok and o.outcome.metrics.get("hit") == 1.0
    ]


def _fetch(client: Any, run_id: str, path: str, dst: Path) -> Path:
    dst.mkdir(parents=True, exist_ok=True)
    return Path(client.download_artifacts(run_id, path, str(dst)))


# --------------------------------------------------------------------------- what was found


def test_show_headlines_hits_found_of_the_screens_hits(
    campaigns: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    uri, name, _ = campaigns
    hits = _recorded_hits(uri, name)
    assert 0 < len(hits) < N_HITS, "the campaign should find some of the 20 hits in 48 genes"
    n = len(hits)
    pct = 100 * n / N_HITS
    text = f"{n} of {N_HITS} hits found ({pct:.0f}%) in 48 experiments"
    rc, out = _show(capsys, name, "--tracking-uri", uri)
    assert rc == 0 and text in out, out
    store, parent = _parent(uri, name)
    assert parent.data.metrics["hits_total"] == n  # the store's own count agrees
    rc, listing = _show(capsys, "--tracking-uri", uri)  # the list's cell wraps: its start
    assert rc == 0 and f"{n} of {N_HITS} hits found" in listing, listing


def test_show_hits_lists_the_stores_hits_by_round(
    campaigns: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    uri, name, _ = campaigns
    rc, out = _show(capsys, name, "--hits", "--tracking-uri", uri)
    assert rc == 0, out
    listed: dict[int, list[str]] = {}
    for m in re.finditer(r"^\s+round (\d+) \((\d+)\): (.+)$", out, re.M):
        genes = [item.split()[0] for item in m.group(3).split(", ")]
        assert len(genes) == int(m.group(2))
        listed[int(m.group(1))] = genes
    want: dict[int, list[str]] = {}
    for gene, rnd, _ in _recorded_hits(uri, name):
        want.setdefault(rnd, []).append(gene)
    assert listed == want and set(listed) <= {1, 2, 3}, (listed, want)


def test_hits_csv_on_the_parent_run_matches_the_store(campaigns: Any, tmp_path: Path) -> None:
    uri, name, _ = campaigns
    store, parent = _parent(uri, name)
    text = _fetch(store.client, parent.info.run_id, "hits.csv", tmp_path).read_text()
    rows = list(csv.DictReader(io.StringIO(text)))
    got = [(r["gene"], int(r["round"]), float(r["score"])) for r in rows]
    assert got == _recorded_hits(uri, name)


def test_mlflow_descriptions_say_what_was_found(campaigns: Any) -> None:
    from perturbo.tracking.layout import HEADLINE_TAG, NOTE_TAG

    uri, name, _ = campaigns
    store, parent = _parent(uri, name)
    n = len(_recorded_hits(uri, name))
    text = f"{n} of {N_HITS} hits found"
    exp = store.client.get_experiment_by_name(name)
    assert text in exp.tags[NOTE_TAG] and text in parent.data.tags[NOTE_TAG]
    assert parent.data.tags[HEADLINE_TAG].startswith(text)
    assert "Hits by round" in parent.data.tags[NOTE_TAG]


def test_a_kind_without_hits_headlines_its_own_metric(
    campaigns: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from perturbo.tracking.layout import HEADLINE_TAG

    uri, _, tuning = campaigns
    store, parent = _parent(uri, tuning)
    assert "hits" not in parent.data.tags.get(HEADLINE_TAG, "hits?")
    assert parent.data.tags[HEADLINE_TAG].startswith("best_value = ")
    rc, listing = _show(capsys, "--tracking-uri", uri)
    row = next(ln for ln in listing.splitlines() if tuning[:20] in ln)
    assert "best_value=" in row and "hits" not in row, row
    rc, out = _show(capsys, tuning, "--hits", "--tracking-uri", uri)
    assert rc == 2 and "--hits" in out and "Traceback" not in out
    assert len(out.strip().splitlines()) == 1, out


# --------------------------------------------------------------------------- one numbering


def test_every_surface_numbers_rounds_1_to_n(campaigns: Any, tmp_path: Path) -> None:
    from perturbo.tracking.layout import ROUND_BASE_TAG
    from perturbo.tracking.reader import nested_runs

    uri, name, _ = campaigns
    store, parent = _parent(uri, name)
    c, pid = store.client, parent.info.run_id
    assert parent.data.tags[ROUND_BASE_TAG] == "1"
    runs = nested_runs(c, parent.info.experiment_id, pid, role="round")
    names = sorted((r.info.run_name or "").removesuffix(" (best)") for r in runs)
    assert names == ["round-001", "round-002", "round-003"]
    for r in runs:
        rnd = int(r.data.tags["perturbo.round"])
        assert (r.info.run_name or "").startswith(f"round-{rnd:03d}")
        assert r.data.params["round"] == str(rnd)
        table = _fetch(c, r.info.run_id, "results.csv", tmp_path / str(rnd)).read_text()
        rows = list(csv.DictReader(io.StringIO(table)))
        assert {row["round"] for row in rows} == {str(rnd)}
        assert {row["id"][:5] for row in rows} == {f"r{rnd:03d}-"}
        steps = {m.step for m in c.get_metric_history(r.info.run_id, "hits_round")}
        assert steps == {rnd}
    for key in ("hits_round", "hits_total", "hit_ratio"):
        assert sorted(m.step for m in c.get_metric_history(pid, key)) == [1, 2, 3]
    files = sorted(Path(f.path).name for f in c.list_artifacts(pid, "rounds"))
    assert files == ["round-001.json", "round-002.json", "round-003.json"]
    for f in files:
        data = json.loads(_fetch(c, pid, f"rounds/{f}", tmp_path / "r" / f).read_text())
        rnd = int(f[6:9])
        assert data["round"] == rnd
        assert {o["spec"]["round"] for o in data["observations"]} == {rnd}
    # read back in the loop's numbering, as every reader expects
    assert sorted({o.spec.round for o in store.history(name)}) == [0, 1, 2]
    assert sorted(store.round_metrics(name)) == [0, 1, 2]
    best = parent.data.tags["perturbo.best.round"]
    marked = [r for r in runs if r.data.tags.get("perturbo.best") == "true"]
    assert len(marked) == 1 and marked[0].data.tags["perturbo.round"] == best


def test_show_best_round_is_the_best_run_in_mlflow(
    campaigns: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    uri, name, _ = campaigns
    store, parent = _parent(uri, name)
    rc, out = _show(capsys, name, "--tracking-uri", uri)
    shown = re.search(r"best round: (\d+)", out)
    assert shown is not None, out
    from perturbo.tracking.reader import nested_runs

    best = [
        r
        for r in nested_runs(store.client, parent.info.experiment_id, parent.info.run_id, "round")
        if (r.info.run_name or "").endswith(" (best)")
    ]
    assert [r.info.run_name for r in best] == [f"round-{int(shown.group(1)):03d} (best)"]


def test_trial_nesting_numbers_rounds_from_1(campaigns: Any) -> None:
    from perturbo.tracking.reader import nested_runs

    uri, _, tuning = campaigns
    store, parent = _parent(uri, tuning)
    trials = nested_runs(store.client, parent.info.experiment_id, parent.info.run_id, "trial")
    rounds = {int(r.data.tags["perturbo.round"]) for r in trials}
    assert len(trials) == 8 and min(rounds) == 1
    for r in trials:  # the id in a trial's name counts rounds as its tag does
        assert (r.info.run_name or "").startswith(
            f"trial-r{int(r.data.tags['perturbo.round']):03d}-"
        )
    files = [Path(f.path).name for f in store.client.list_artifacts(parent.info.run_id, "rounds")]
    assert sorted(files) == [f"round-{r:03d}.json" for r in sorted(rounds)]
    steps = {m.step for m in store.client.get_metric_history(parent.info.run_id, "best_value")}
    assert steps == rounds, steps


# --------------------------------------------------------------------------- an old store


@pytest.fixture
def old_store(tmp_path: Path) -> str:
    """The frozen store (written with rounds numbered from 0), moved to ``tmp_path``: its
    absolute artifact paths (in the database and the campaign's config) rewritten."""
    with tarfile.open(OLD_STORE) as tar:
        # extractall's filter= came in Python 3.11.4; Debian 12's python3 is 3.11.2 (the
        # archive is our own, shipped beside this test)
        if hasattr(tarfile, "data_filter"):
            tar.extractall(tmp_path, filter="data")
        else:
            tar.extractall(tmp_path)  # noqa: S202
    root = tmp_path / "perturbo-old-store"
    db = root / "mlflow.db"
    with sqlite3.connect(db) as con:
        con.execute(
            "UPDATE experiments SET artifact_location = replace(artifact_location, ?, ?)",
            (OLD_ROOT, str(root)),
        )
        con.execute(
            "UPDATE runs SET artifact_uri = replace(artifact_uri, ?, ?)", (OLD_ROOT, str(root))
        )
    for f in root.rglob("config.json"):
        f.write_text(f.read_text().replace(OLD_ROOT, str(root)))
    return f"sqlite:///{db}"


def test_an_old_store_reads_with_rounds_1_to_n(
    old_store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from perturbo.tracking import open_store

    store = open_store(old_store)
    c, pid = store.client, store.parent_run_id("old-genetic")
    parent = c.get_run(pid)
    assert "perturbo.round_base" not in parent.data.tags  # written by the code of the time
    files = sorted(Path(f.path).name for f in c.list_artifacts(pid, "rounds"))
    assert files == ["round-000.json", "round-001.json"]
    assert sorted({o.spec.round for o in store.history("old-genetic")}) == [0, 1]
    assert sorted(store.round_metrics("old-genetic")) == [0, 1]
    rc, out = _show(capsys, "old-genetic", "--tracking-uri", old_store)
    assert rc == 0, out
    stored_best = int(parent.data.tags["perturbo.best.round"])  # 0-based in this store
    assert f"best round: {stored_best + 1} " in out, out
    rows = re.findall(r"^\s*│?\s*(\d+)\s+│", out, re.M) or re.findall(r"^\s+(\d) ", out, re.M)
    assert "1" in rows and "2" in rows and "0" not in rows, out
    n = len(_recorded_hits(old_store, "old-genetic"))
    ratio = parent.data.metrics["hit_ratio"]
    total = round(n / ratio) if ratio else None
    head = f"{n} of {total} hits found" if total else f"{n} hits in 16 experiments"
    assert head in out, out
    rc, out = _show(capsys, "old-genetic", "--hits", "--tracking-uri", old_store)
    got = {int(m) for m in re.findall(r"^\s+round (\d+) \(", out, re.M)}
    assert got == {r for _, r, _ in _recorded_hits(old_store, "old-genetic")}, out


def test_an_old_campaign_resumes_in_its_own_numbering(
    old_store: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from perturbo.tracking import open_store
    from perturbo.tracking.reader import nested_runs

    argv = ["resume", "old-genetic", "--rounds", "3", "--tracking-uri", old_store]
    assert main([*argv, "--local", "--no-progress"]) == 0
    store = open_store(old_store)
    c, pid = store.client, store.parent_run_id("old-genetic")
    files = sorted(Path(f.path).name for f in c.list_artifacts(pid, "rounds"))
    assert files == ["round-000.json", "round-001.json", "round-002.json"]
    runs = nested_runs(c, c.get_run(pid).info.experiment_id, pid, role="round")
    assert sorted((r.info.run_name or "")[:9] for r in runs) == [
        "round-000",
        "round-001",
        "round-002",
    ]
    assert sorted(m.step for m in c.get_metric_history(pid, "hits_total")) == [0, 1, 2]
    history = store.history("old-genetic")
    assert sorted({o.spec.round for o in history}) == [0, 1, 2]
    assert len({o.spec.params["gene"] for o in history}) == 24  # nothing ran twice
    rc, out = _show(capsys, "old-genetic", "--tracking-uri", old_store)
    assert rc == 0 and "3 rounds recorded" in out and "in 24 experiments" in out, out
    text = _fetch(c, pid, "hits.csv", tmp_path).read_text()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["gene"], int(r["round"])) for r in rows] == [
        (g, r) for g, r, _ in _recorded_hits(old_store, "old-genetic")
    ]
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_an_attack_campaign_is_not_listed_by_hits(store: str) -> None:
    """An attack campaign of two objectives whose trials all load the model once
    (``model_loads`` 0/1 on every trial) is not read as "0 hits": the attack kind finds
    nothing (``KindSpec.findings`` is None), so the chat and ``show`` say its own metrics."""
    from perturbo import kinds
    from perturbo.agents.chat.facts import campaign_facts
    from perturbo.tracking import MlflowRecorder, open_store
    from perturbo.types import ExperimentSpec, Observation, Outcome, Status

    obs = [
        Observation(
            ExperimentSpec({"method": "pgd", "steps": 5 * (i + 1)}, "attack", id=f"t{i}", round=0),
            Outcome(
                Status.COMPLETED,
                {"robust_accuracy": 0.5 - 0.1 * i, "queries": 10.0 * (i + 1), "model_loads": 0.0},
            ),
        )
        for i in range(3)
    ]
    rec = MlflowRecorder(
        store,
        "attack-pareto",
        "attack",
        {"kind": "attack"},
        params={
            "planner": "random",
            "objective": "robust_accuracy,queries",
            "direction": "min,min",
        },
        objectives=("robust_accuracy", "queries"),
        directions=("min", "min"),
    )
    rec.start()
    rec.record_round(0, obs, {"worst_case_robust_accuracy": 0.3}, {})
    rec.finish(obs, {})
    facts = campaign_facts(open_store(store), "attack-pareto", kinds=kinds)
    assert facts.hit_metric is None and "hits" not in facts.result_line(), facts.result_line()
    assert "hits" not in facts.list_line(), facts.list_line()
