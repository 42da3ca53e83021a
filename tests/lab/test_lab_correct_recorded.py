"""``perturbo tell CAMPAIGN FILE --correct`` of a recorded round's results: recorded as a
dated, append-only correction (old -> new kept), used by the planner's next proposal while
the recorded rounds still replay from the values they were proposed from; genes never
measured are refused in one line."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from loop_helpers import library

from perturbo import kinds, tracking
from perturbo.cli import main
from perturbo.kinds.genetic.screens import normalize_gene
from perturbo.lab.corrections import CORRECTIONS_DIR, CORRECTIONS_TAG, read_corrections


def _start(tmp: Path, uri: str, planner: str = "random") -> None:
    assert main([
        "run", "genetic", "--lab", "--library", str(library(tmp)), "--hit-rule", "score>=2",
        "--task", "find genes", "--planner", planner, "--rounds", "4", "--batch", "4",
        "--name", "L", "--tracking-uri", uri,
    ]) == 0  # fmt: skip


def _batch(path: Path) -> list[str]:
    with path.open() as f:
        return [r["Gene"] for r in csv.DictReader(f) if r["Rank"]]


def _tell(tmp: Path, uri: str, name: str, rows: str, *extra: str) -> int:
    (tmp / name).write_text("Gene,Score\n" + rows)
    return main(["tell", "L", str(tmp / name), "--tracking-uri", uri, *extra])


def _score(uri: str, gene: str, fixed: bool = True) -> float:
    store = tracking.open_store(uri)
    history = store.history("L", raw=not fixed)  # readers get the corrected values
    return next(o.outcome.metrics["score"] for o in history if o.spec.params["gene"] == gene)


def test_a_recorded_value_is_corrected_dated_and_kept(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path}/lab.db"
    _start(tmp_path, uri)
    one = _batch(tmp_path / "L-round1.csv")
    assert _tell(tmp_path, uri, "r1.csv", "".join(f"{g},0.5\n" for g in one)) == 0
    capsys.readouterr()
    g = one[1]
    assert _tell(tmp_path, uri, "fix.csv", f"{g},3.5\n", "--correct", "--reason", "typo") == 0
    out = "".join(capsys.readouterr())
    assert f"corrected 1 recorded result(s) of round 1 ({g}: 0.5 -> 3.5)" in out, out
    assert "round 2 was proposed from the old value(s) and is not proposed again" in out
    assert _score(uri, g, fixed=False) == 0.5  # the round's record is never rewritten
    assert _score(uri, g) == 3.5  # readers take the correction
    store = tracking.open_store(uri)
    run_id = store.parent_run_id("L")
    [entry] = read_corrections(store.client, run_id)
    assert entry["round"] == 1 and entry["name"] == g and entry["reason"] == "typo"
    assert entry["old"]["metrics"]["score"] == 0.5 and entry["new"]["metrics"]["hit"] == 1.0
    assert entry["who"] and entry["when"]
    assert store.client.get_run(run_id).data.tags[CORRECTIONS_TAG] == "1"
    files = [f.path for f in store.client.list_artifacts(run_id, "lab")]
    [sheet] = [f for f in files if f.startswith("lab/correction-r001-")]
    text = Path(store.client.download_artifacts(run_id, sheet, str(tmp_path))).read_text()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["recorded"] == "0.5" and rows[0]["corrected"] == "3.5", rows
    assert any(f.startswith("lab/hit-call-r001-correction-") for f in files), files

    # the same value again: nothing new; a second correction appends, the first stays
    assert _tell(tmp_path, uri, "fix.csv", f"{g},3.5\n", "--correct") == 0
    assert "already these; nothing corrected" in "".join(capsys.readouterr())
    assert _tell(tmp_path, uri, "fix2.csv", f"{g},1.5\n", "--correct") == 0
    assert f"({g}: 3.5 -> 1.5)" in "".join(capsys.readouterr())
    entries = read_corrections(store.client, run_id)
    assert [e["new"]["metrics"]["score"] for e in entries] == [3.5, 1.5]
    assert _score(uri, g) == 1.5
    folder = [f.path for f in store.client.list_artifacts(run_id, CORRECTIONS_DIR)]
    assert len(folder) == 2 and all(p.endswith(".json") for p in folder)


def test_without_correct_a_recorded_round_is_still_refused(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path}/lab.db"
    _start(tmp_path, uri)
    one = _batch(tmp_path / "L-round1.csv")
    assert _tell(tmp_path, uri, "r1.csv", "".join(f"{g},0.5\n" for g in one)) == 0
    capsys.readouterr()
    assert _tell(tmp_path, uri, "fix.csv", f"{one[0]},3.5\n") == 2
    assert "--correct" in capsys.readouterr().err
    store = tracking.open_store(uri)
    assert read_corrections(store.client, store.parent_run_id("L")) == []


def test_a_gene_never_measured_is_refused_in_one_line(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path}/lab.db"
    _start(tmp_path, uri)
    one = _batch(tmp_path / "L-round1.csv")
    assert _tell(tmp_path, uri, "r1.csv", "".join(f"{g},0.5\n" for g in one)) == 0
    two = _batch(tmp_path / "L-round2.csv")
    capsys.readouterr()
    never = next(g for g in (f"G{i:03d}" for i in range(40)) if g not in one + two)
    assert _tell(tmp_path, uri, "fix.csv", f"{never},3.5\n", "--correct") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and never in err and "not proposed" in err, err
    assert "Traceback" not in err
    store = tracking.open_store(uri)
    assert read_corrections(store.client, store.parent_run_id("L")) == []


def test_the_planner_learns_the_correction_and_recorded_rounds_still_replay(
    tmp_path: Path, monkeypatch, capsys
):
    from perturbo.lab.loop import _rebuilt
    from perturbo.lab.stored import as_at_start

    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path}/lab.db"
    _start(tmp_path, uri, planner="bo")
    one = _batch(tmp_path / "L-round1.csv")
    assert _tell(tmp_path, uri, "r1.csv", "".join(f"{g},0.5\n" for g in one)) == 0
    fixed = one[0]
    assert _tell(tmp_path, uri, "fix.csv", f"{fixed},3.5\n", "--correct") == 0
    two = _batch(tmp_path / "L-round2.csv")
    capsys.readouterr()
    assert _tell(tmp_path, uri, "r2.csv", "".join(f"{g},0.5\n" for g in two)) == 0
    out = "".join(capsys.readouterr())
    assert "does not propose what was recorded" not in out, out  # round 2 replays as proposed
    assert "recorded round 2" in out, out

    store = tracking.open_store(uri)
    config = store.config("L")
    spec = kinds.get(str(config["kind"]))
    parts, diverged, history, rest = _rebuilt(
        spec, config, as_at_start(uri, "L"), "L", store.history("L")
    )
    assert diverged == [] and rest == []
    model = parts.planner._model  # noqa: SLF001 - what the planner learnt
    assert model.labels[model.screen.index(normalize_gene(fixed))] == 1.0
    assert next(o for o in history if o.spec.params["gene"] == fixed).outcome.value("hit") == 1.0


def test_a_correction_is_told_after_the_rounds_proposed_before_it(
    tmp_path: Path, monkeypatch, capsys
):
    """Round 2 was proposed from round 1's old value: its replay asks before the correction
    is told, and the correction is told before round 3 is asked."""
    from perturbo.kinds.genetic.planners.gene_bo import GeneBOPlanner

    events: list[tuple[str, object]] = []
    ask, tell = GeneBOPlanner.ask, GeneBOPlanner.tell

    def spy_ask(self, n, pending=()):
        events.append(("ask", n))
        return ask(self, n, pending=pending)

    def spy_tell(self, obs):
        events.append(("tell", [(o.spec.params["gene"], o.outcome.value("score")) for o in obs]))
        return tell(self, obs)

    monkeypatch.setattr(GeneBOPlanner, "ask", spy_ask)
    monkeypatch.setattr(GeneBOPlanner, "tell", spy_tell)
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path}/lab.db"
    _start(tmp_path, uri, planner="bo")
    one = _batch(tmp_path / "L-round1.csv")
    assert _tell(tmp_path, uri, "r1.csv", "".join(f"{g},0.5\n" for g in one)) == 0
    assert _tell(tmp_path, uri, "fix.csv", f"{one[0]},3.5\n", "--correct") == 0
    two = _batch(tmp_path / "L-round2.csv")
    events.clear()
    assert _tell(tmp_path, uri, "r2.csv", "".join(f"{g},0.5\n" for g in two)) == 0
    asks = [i for i, (what, _) in enumerate(events) if what == "ask"]
    fixes = [i for i, (what, got) in enumerate(events) if what == "tell" and (one[0], 3.5) in got]
    assert len(asks) == 3 and len(fixes) == 1, events  # round 1, 2 replayed; round 3 asked
    assert asks[1] < fixes[0] < asks[2], events


def test_a_correction_waits_for_another_step_that_holds_the_campaign(
    tmp_path: Path, monkeypatch, capsys
):
    from loop_helpers import cli

    from perturbo.lab.hold import claim_step

    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path}/lab.db"
    _start(tmp_path, uri)
    one = _batch(tmp_path / "L-round1.csv")
    assert _tell(tmp_path, uri, "r1.csv", "".join(f"{g},0.5\n" for g in one)) == 0
    (tmp_path / "fix.csv").write_text(f"Gene,Score\n{one[0]},3.5\n")
    store = tracking.open_store(uri)
    claim = claim_step(store, "L")  # another step, alive, holds it
    try:
        p = cli("tell", "L", "fix.csv", "--correct", "--tracking-uri", uri, "--wait", "1",
                cwd=tmp_path)  # fmt: skip
        assert p.returncode == 2, p.stderr
        assert "another `perturbo ask`/`tell` holds it" in p.stderr
        assert read_corrections(store.client, store.parent_run_id("L")) == []
    finally:
        claim.release()
    assert _tell(tmp_path, uri, "fix.csv", f"{one[0]},3.5\n", "--correct") == 0
    assert len(read_corrections(store.client, store.parent_run_id("L"))) == 1


def test_correct_on_a_trials_campaign_is_refused_in_one_line(tmp_path: Path, monkeypatch, capsys):
    from loop_helpers import trials_start_args

    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path}/lab.db"
    assert main(trials_start_args(tmp_path, uri, "H", 3)) == 0
    capsys.readouterr()
    assert main(["tell", "H", "t0001", "0.5", "--correct", "--tracking-uri", uri]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--correct" in err and "nothing recorded" in err, err


def test_show_and_export_read_the_corrected_value(tmp_path: Path, monkeypatch, capsys) -> None:
    """Every reader of what a campaign found takes the correction: ``export``'s rows and
    ``show --hits`` (the store's history); the lab loop alone replays the recorded values."""
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path}/lab.db"
    _start(tmp_path, uri)
    one = _batch(tmp_path / "L-round1.csv")
    assert _tell(tmp_path, uri, "r1.csv", "".join(f"{g},0.5\n" for g in one)) == 0
    g = one[2]
    assert _tell(tmp_path, uri, "fix.csv", f"{g},3.5\n", "--correct") == 0
    capsys.readouterr()
    assert main(["export", "L", "--format", "jsonl", "--tracking-uri", uri]) == 0
    import json

    rows = {r["gene"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert (rows[g]["score"], rows[g]["hit"]) == (3.5, 1), rows[g]
    assert all(rows[x]["score"] == 0.5 for x in one if x != g)
    assert main(["show", "L", "--hits", "--tracking-uri", uri]) == 0
    out = capsys.readouterr().out
    assert "1 hit" in out and g in out, out


def test_a_reason_without_correct_is_refused_not_dropped(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path}/lab.db"
    _start(tmp_path, uri)
    one = _batch(tmp_path / "L-round1.csv")
    capsys.readouterr()
    assert _tell(tmp_path, uri, "r1.csv", "".join(f"{g},0.5\n" for g in one), "--reason", "x") == 2
    err = capsys.readouterr().err
    assert "--reason goes with --correct" in err and "Traceback" not in err, err
    assert _tell(tmp_path, uri, "r1.csv", "".join(f"{g},0.5\n" for g in one)) == 0  # nothing kept
