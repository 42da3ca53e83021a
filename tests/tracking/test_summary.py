"""What the MLflow UI shows a person: the experiment opens in the runs view with a
description, the parent run carries a markdown summary, the best nested run is marked (and
re-marked when a resume finds a better one), and an aborted campaign is summarised too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stores import ToyPlanner, run_toy

from perturbo.tracking.layout import BEST_TAG, NOTE_TAG, VIEW_TAG, VIEW_VALUE
from perturbo.tracking.summary import BEST_SUFFIX


def _client(uri: str) -> Any:
    from mlflow import MlflowClient

    return MlflowClient(uri)


def _best_runs(c: Any, exp_id: str) -> list[Any]:
    return c.search_runs([exp_id], f"tags.`{BEST_TAG}` = 'true'")


def test_trial_campaign_gets_description_summary_and_one_best_trial(store: str) -> None:
    rec, _ = run_toy(store, "sum-trial", nesting="trial", rounds=4)
    c = _client(store)
    exp = c.get_experiment(rec.experiment_id)
    assert exp.tags[VIEW_TAG] == VIEW_VALUE
    desc = exp.tags[NOTE_TAG]
    # ToyPlanner proposes items 0..15; the best score among them is item 14's 0.95
    assert "FINISHED" in desc and "0.95" in desc and "item=14" in desc
    parent = c.get_run(rec.run_id)
    note = parent.data.tags[NOTE_TAG]
    assert "Best result" in note and "**0.95**" in note and "`item=14`" in note
    assert "15 completed, 1 failed" in note  # item 13 fails
    assert "orderByKey=metrics.%60score%60&orderByAsc=false" in note
    best = _best_runs(c, rec.experiment_id)
    assert len(best) == 1
    assert best[0].data.params["item"] == "14"
    assert best[0].info.run_name.endswith(BEST_SUFFIX)
    assert parent.data.tags["perturbo.best.run"] == best[0].info.run_id
    assert float(parent.data.tags["perturbo.best.value"]) == 0.95
    assert parent.data.tags["perturbo.subject"] == "toy-items"
    assert parent.data.tags["perturbo.planner"] == "toy"
    # the experiment's perturbo.* tags stay the kind and the kind's tags
    assert {k for k in exp.tags if k.startswith("perturbo.")} == {
        "perturbo.kind",
        "perturbo.subject",
    }


def test_round_campaign_marks_the_best_round_by_the_headline(store: str) -> None:
    rec, _ = run_toy(store, "sum-round", nesting="round", rounds=3, headline=("hits_total",))
    c = _client(store)
    best = _best_runs(c, rec.experiment_id)
    assert len(best) == 1 and best[0].data.tags["perturbo.role"] == "round"
    series = {m.step: m.value for m in c.get_metric_history(rec.run_id, "hits_total")}
    # hits_total only grows: the best round is the first that reached its maximum; steps,
    # round tags and the note all count rounds 1..N
    assert sorted(series) == [1, 2, 3]
    top = max(series.values())
    first_top = min(s for s, v in series.items() if v == top)
    assert best[0].data.tags["perturbo.round"] == str(first_top)
    assert best[0].info.run_name == f"round-{first_top:03d}{BEST_SUFFIX}"
    note = c.get_run(rec.run_id).data.tags[NOTE_TAG]
    assert f"best round: round {first_top} with hits_total = {int(top)}" in note
    assert "rounds ranked by hits_total" in note


def test_resume_moves_the_best_mark(store: str) -> None:
    rec, hist = run_toy(store, "sum-resume", nesting="trial", rounds=1)
    c = _client(store)
    first = _best_runs(c, rec.experiment_id)
    assert [r.data.params["item"] for r in first] == ["1"]
    # items 24..27 hold item 27, score 0.975: better than item 1's 0.925
    rec2, _ = run_toy(
        store,
        "sum-resume",
        nesting="trial",
        rounds=2,
        history=hist,
        resume=True,
        planner=ToyPlanner(start=24),
    )
    best = _best_runs(c, rec.experiment_id)
    assert [r.data.params["item"] for r in best] == ["27"]
    old = c.get_run(first[0].info.run_id)
    assert old.data.tags[BEST_TAG] == "false" and not old.info.run_name.endswith(BEST_SUFFIX)
    assert "0.975" in c.get_experiment(rec.experiment_id).tags[NOTE_TAG]


def test_abort_summarises_what_was_recorded(store: str) -> None:
    rec, _ = run_toy(store, "sum-abort", nesting="trial", rounds=1)
    rec.abort("KILLED", "interrupted by a test")
    c = _client(store)
    note = c.get_run(rec.run_id).data.tags[NOTE_TAG]
    assert "KILLED" in note and "interrupted by a test" in note and "0.925" in note
    assert "KILLED" in c.get_experiment(rec.experiment_id).tags[NOTE_TAG]


def test_findings_headline_the_summary_and_their_csv_is_on_the_parent(
    store: str, tmp_path: Path
) -> None:
    """A kind that finds things (here: the toy's hits, no total known) is summarised by what
    it found, and the parent run lists the finds by round (1..N) in the kind's CSV."""
    from perturbo.findings import Findings
    from perturbo.tracking.layout import HEADLINE_TAG
    from perturbo.types import Status

    finds = Findings(label="hit", subjects=("item",), count="hits_total", file="finds.csv")
    rec, hist = run_toy(store, "sum-finds", nesting="round", rounds=3, findings=finds)
    hits = [o for o in hist if o.outcome.ok and o.outcome.metrics["hit"] == 1.0]
    assert hits
    c = _client(store)
    parent = c.get_run(rec.run_id)
    ran = sum(o.outcome.status is not Status.REJECTED for o in hist)
    assert parent.data.tags[HEADLINE_TAG] == f"{len(hits)} hits in {ran} experiments"
    note = parent.data.tags[NOTE_TAG]
    assert f"**{len(hits)} hits in {ran} experiments**" in note and "Hits by round" in note
    desc = c.get_experiment(rec.experiment_id).tags[NOTE_TAG]
    assert f"{len(hits)} hits in {ran} experiments" in desc
    text = Path(c.download_artifacts(rec.run_id, "finds.csv", str(tmp_path))).read_text()
    want = ["item,round,score"] + [
        f"{o.spec.params['item']},{o.spec.round + 1},{o.outcome.metrics['score']!r}" for o in hits
    ]
    assert text.splitlines() == want


def test_the_finds_csv_is_written_with_each_round_so_a_killed_campaign_has_it(
    store: str, tmp_path: Path
) -> None:
    from perturbo.findings import Findings
    from perturbo.tracking import MlflowRecorder
    from perturbo.types import ExperimentSpec, Observation, Outcome, Status

    finds = Findings(label="hit", subjects=("item",), count="hits_total", file="finds.csv")
    rec = MlflowRecorder(
        store, "killed", "toy", {"kind": "toy"}, params={"planner": "toy"}, nesting="round",
        findings=finds,
    )  # fmt: skip
    rec.start()
    obs = [
        Observation(
            ExperimentSpec({"item": i}, "toy", id=f"r001-{i:04d}", round=0),
            Outcome(Status.COMPLETED, {"hit": float(i % 2), "score": float(i)}),
        )
        for i in range(4)
    ]
    rec.record_round(0, obs, {"hits_total": 2.0}, {})
    c = _client(store)
    text = Path(c.download_artifacts(rec.run_id, "finds.csv", str(tmp_path))).read_text()
    assert text.splitlines() == ["item,round,score", "1,1,1.0", "3,1,3.0"]
    rec.abort("KILLED", "killed midway")  # what a kill leaves: the round's finds stay
    again = Path(c.download_artifacts(rec.run_id, "finds.csv", str(tmp_path / "2"))).read_text()
    assert again == text


def test_a_campaign_that_found_nothing_marks_no_round_best(store: str) -> None:
    """0 hits in every round: no round is best, so none is marked " (best)" in MLflow and the
    texts say nothing was found; once a resume finds some, the best round is marked."""
    from perturbo.findings import Findings

    finds = Findings(label="hit", subjects=("item",), count="hits_total", file="finds.csv")
    kw = {"nesting": "round", "headline": ("hits_total",), "findings": finds}
    # items 3..10 score below 0.8: no hit (1, 2, 14, 15, 27.. are hits)
    rec, hist = run_toy(store, "sum-none", rounds=2, planner=ToyPlanner(start=3), **kw)
    assert not any(o.outcome.ok and o.outcome.metrics["hit"] for o in hist)
    c = _client(store)
    assert _best_runs(c, rec.experiment_id) == []
    names = [r.info.run_name for r in c.search_runs([rec.experiment_id])]
    assert names and not any(n.endswith(BEST_SUFFIX) for n in names), names
    parent = c.get_run(rec.run_id)
    assert "perturbo.best.run" not in parent.data.tags
    note = parent.data.tags[NOTE_TAG]
    assert "best round: none yet, no hits found (hits_total = 0 in every round)" in note
    assert "No hits found yet." in c.get_experiment(rec.experiment_id).tags[NOTE_TAG]
    rec, _ = run_toy(
        store, "sum-none", rounds=3, planner=ToyPlanner(start=14), history=hist, resume=True, **kw
    )
    best = _best_runs(c, rec.experiment_id)
    assert [r.data.tags["perturbo.round"] for r in best] == ["3"]
    assert best[0].info.run_name.endswith(BEST_SUFFIX)
