"""MlflowRecorder against a real MLflow sqlite store, read back with MlflowClient directly.

Covers: the layout (parent run, nested round runs or trial runs, params, step=round metrics,
tables, rationale, config, plots), tags from CampaignParts, the exact round trip of
load_history, the spool that keeps a round the store could not take, unreachable stores,
agent traces (written to the recorder's store, never through the global tracking URI), and
earlier campaigns read back with their outcomes. Campaigns are of a toy kind (tests/stores.py)
run by perturbo.campaign.run on a LocalExecutorPool.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from stores import *  # noqa: F403
from stores import (
    FAILING_ITEM,
    ToyExecutor,
    ToyPlanner,
    ToySpace,
    copy_store,
    run_toy,
    toy_metrics,
    toy_score,
)

from perturbo import tracking
from perturbo.campaign import StopRule
from perturbo.parts import CampaignParts
from perturbo.types import PerturboError


def _client(uri: str) -> Any:
    from mlflow import MlflowClient

    return MlflowClient(uri)


def _score_plot(data: Any) -> dict[str, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2, 2))
    fig.add_subplot().plot([r for r, _ in data.round_metrics.get("best", [])])
    return {"best.png": fig}


def _folder(store: str, name: str) -> str:
    return str(Path(store[len("sqlite:///") :]).parent / name)


def test_round_runs_layout_and_exact_round_trip(store: str) -> None:
    rec, history = run_toy(store, "layout", nesting="round", plotters=[_score_plot])

    c = _client(store)
    exp = c.get_experiment_by_name("layout")
    assert exp.tags["perturbo.kind"] == "toy" and exp.tags["perturbo.subject"] == "toy-items"
    parent = c.get_run(rec.run_id)
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["perturbo.role"] == "campaign"
    assert parent.data.tags["perturbo.kind"] == "toy"
    assert parent.data.tags["perturbo.nesting"] == "round"
    assert parent.data.tags["perturbo.subject"] == "toy-items"
    assert parent.data.params == {"planner": "toy", "rounds": "3", "batch": "4"}
    assert parent.data.tags["perturbo.meta.pool"] == "local"

    # the round metrics on the parent (step = round, 1..N as people count) equal the metric
    # recomputed from history (the loop counts from 0)
    assert parent.data.tags["perturbo.round_base"] == "1"
    hist = c.get_metric_history(rec.run_id, "hits_total")
    assert sorted(m.step for m in hist) == [1, 2, 3]
    for m in hist:
        upto = [o for o in history if o.spec.round + 1 <= m.step]
        assert m.value == pytest.approx(toy_metrics([], upto)["hits_total"])
    assert parent.data.metrics["final_n_experiments"] == 12

    # one nested run per round, with the table of its experiments and the rationale
    rounds = c.search_runs([exp.experiment_id], f"tags.`mlflow.parentRunId` = '{rec.run_id}'")
    assert sorted(r.data.tags["perturbo.round"] for r in rounds) == ["1", "2", "3"]
    import pandas as pd

    for r in rounds:
        rnd = int(r.data.tags["perturbo.round"]) - 1  # the loop's round
        assert (r.info.run_name or "").startswith(f"round-{rnd + 1:03d}")
        assert r.info.status == "FINISHED" and r.data.metrics["n_ran"] == 4
        assert r.data.metrics["proposed_by_toy"] == 4 and r.data.params["planner"] == "toy"
        d = Path(c.download_artifacts(r.info.run_id, "", _folder(store, f"dl{rnd}")))
        table = pd.read_csv(d / "results.csv")
        assert list(table["item"]) == [o.spec.params["item"] for o in history.by_round(rnd)]
        assert set(table["round"]) == {rnd + 1}
        for x, s in zip(table["item"], table["score"], strict=True):
            assert s == pytest.approx(toy_score(int(x)))
        assert (d / "rationale.txt").read_text() == f"why round {rnd + 1}"
        assert json.loads((d / "results.json").read_text())["columns"][0] == "id"

    # the whole config, and the kind's plot (the plotters it was given, no others)
    assert {f.path for f in c.list_artifacts(rec.run_id, "plots")} == {"plots/best.png"}
    png = Path(c.download_artifacts(rec.run_id, "plots/best.png", _folder(store, "png")))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    config, loaded = tracking.load_history(store, "layout")
    assert config == dict(rec.config)
    assert [o.to_dict() for o in loaded] == [o.to_dict() for o in history]


def test_trial_runs_are_the_default_nesting(store: str) -> None:
    rec, history = run_toy(store, "hpo", nesting=None, rounds=4, batch=5)
    assert rec.nesting == "trial" and rec.plotters == ()
    c = _client(store)
    exp = c.get_experiment_by_name("hpo")
    trials = c.search_runs([exp.experiment_id], "tags.`perturbo.role` = 'trial'", max_results=100)
    assert len(trials) == 20 == len(history)
    assert not c.search_runs([exp.experiment_id], "tags.`perturbo.role` = 'round'")
    by_x = {int(t.data.params["item"]): t for t in trials}
    assert set(by_x) == set(range(20))
    for x, t in by_x.items():
        assert t.data.tags["mlflow.parentRunId"] == rec.run_id
        assert t.data.params["planner"] == "toy" and t.data.tags["perturbo.note"]
        if x == FAILING_ITEM:
            assert t.info.status == "FAILED" and t.data.tags["perturbo.error"] == "unlucky"
            continue
        assert t.info.status == "FINISHED" and t.data.metrics["score"] == toy_score(x)
        assert t.data.metrics["duration_s"] == 0.25
        curve = c.get_metric_history(t.info.run_id, "score_epoch")
        assert [(m.step, m.value) for m in sorted(curve, key=lambda m: m.step)] == [
            (e, pytest.approx(toy_score(x) / (e + 1))) for e in range(3)
        ]
    bests = sorted((m.step, m.value) for m in c.get_metric_history(rec.run_id, "best"))
    assert [s for s, _ in bests] == [1, 2, 3, 4]
    assert {t.data.tags["perturbo.round"] for t in trials} == {"1", "2", "3", "4"}
    assert bests[-1][1] == max(toy_score(x) for x in range(20) if x != FAILING_ITEM)
    assert c.list_artifacts(rec.run_id, "plots") == []
    rationale = c.list_artifacts(rec.run_id, "rationale")
    assert [f.path for f in rationale] == [f"rationale/round-{r:03d}.txt" for r in range(1, 5)]
    _, loaded = tracking.load_history(store, "hpo")
    assert [o.to_dict() for o in loaded] == [o.to_dict() for o in history]


def test_from_parts_takes_kind_and_tags_from_the_parts(store: str) -> None:
    parts = CampaignParts(
        kind="toy",
        planner=ToyPlanner(),
        space=ToySpace(),
        executor_factory=ToyExecutor,
        batch=2,
        stop=StopRule(rounds=1),
        config={"kind": "toy", "rounds": 1},
        params={"planner": "toy", "screen_like": "not a tag"},
        objective="score",
        tags={"subject": "items", "model": "m1"},
    )
    rec = tracking.MlflowRecorder.from_parts(
        parts, store, "parts", nesting="both", plotters=[_score_plot]
    )
    assert (rec.kind, rec.nesting) == ("toy", "both")
    assert not hasattr(rec, "planner")  # an agent's trace comes with the round's notes
    assert (rec.objective, rec.objectives) == ("score", ("score",))
    rec.start()
    c = _client(store)
    exp = c.get_experiment_by_name("parts")
    want = {"perturbo.kind": "toy", "perturbo.subject": "items", "perturbo.model": "m1"}
    assert {k: v for k, v in exp.tags.items() if k.startswith("perturbo.")} == want
    run = c.get_run(rec.run_id)
    assert {k: run.data.tags[k] for k in want} == want
    assert "perturbo.screen_like" not in run.data.tags  # params are not tags
    with pytest.raises(ValueError, match="nesting 'sideways'"):
        tracking.MlflowRecorder(store, "x", "toy", {}, nesting="sideways")  # type: ignore[arg-type]


def _toy_run(planner: Any, recorder: Any, history: Any = None) -> Any:
    from perturbo.actors import LocalExecutorPool
    from perturbo.campaign import run

    return run(
        planner=planner,
        pool=LocalExecutorPool(ToyExecutor),
        space=ToySpace(),
        batch=4,
        stop=StopRule(rounds=3),
        recorder=recorder,
        metrics=toy_metrics,
        history=history,
        poll_s=0.01,
    )


def _break_round_1(monkeypatch: pytest.MonkeyPatch, rec: Any, times: int) -> list[int]:
    """The commit point of the loop's round 1 (stored, and said, as round 2) fails ``times``
    times (after its round run was written)."""
    real, failed = rec.client.log_artifact, [0]

    def broken(run_id: str, local_path: str, artifact_path: str | None = None) -> None:
        if Path(local_path).name == "round-002.json" and failed[0] < times:
            failed[0] += 1
            raise OSError("disk full")
        real(run_id, local_path, artifact_path)

    monkeypatch.setattr(rec.client, "log_artifact", broken)
    return failed


def test_a_round_the_store_refuses_is_buffered_and_uploaded_while_the_campaign_goes_on(
    store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    said: list[str] = []
    rec = tracking.MlflowRecorder(
        store, "blip", "toy", {"kind": "toy"}, params={"planner": "toy"}, nesting="round",
        retry_s=0.0, notify=said.append,
    )  # fmt: skip
    rec.start()
    failed = _break_round_1(monkeypatch, rec, times=1)
    final = _toy_run(ToyPlanner(), rec)  # no error: round 1 waits on disk, round 2 uploads it
    assert failed == [1]
    assert any("refused round 2" in m and "disk full" in m for m in said), said
    assert any("is back: 1 buffered rounds uploaded" in m for m in said), said
    assert not list(rec.spool.glob("round-*.json"))
    c = _client(store)
    round_runs = c.search_runs([rec.experiment_id], "tags.`perturbo.role` = 'round'")
    assert sorted(r.data.tags["perturbo.round"] for r in round_runs) == ["1", "2", "3"]
    _, hist = tracking.load_history(store, "blip")
    assert [o.to_dict() for o in hist] == [o.to_dict() for o in final]
    assert len({o.spec.params["item"] for o in hist}) == 12
    assert c.get_run(rec.run_id).info.status == "FINISHED"


def test_a_store_down_to_the_end_keeps_the_rounds_for_resume(
    store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    planner = ToyPlanner()
    rec = tracking.MlflowRecorder(
        store, "flaky", "toy", {"kind": "toy"}, params={"planner": "toy"}, nesting="round",
        store_wait_s=0.2, notify=lambda m: None,
    )  # fmt: skip
    rec.start()
    _break_round_1(monkeypatch, rec, times=10**6)
    with pytest.raises(PerturboError) as e:
        _toy_run(planner, rec)
    msg = str(e.value)
    assert store in msg and "disk full" in msg and "perturbo resume flaky" in msg
    assert str(rec.spool) in msg
    spooled = rec.spool / "round-001.json"
    assert spooled.is_file() and (rec.spool / "round-002.json").is_file()
    monkeypatch.undo()

    # what was recorded is all there: round 0 in the store, rounds 1-2 in the spool
    _, hist = tracking.load_history(store, "flaky")
    assert [o.spec.round for o in hist] == [0] * 4 + [1] * 4 + [2] * 4
    spool_items = [
        o["spec"]["params"]["item"] for o in json.loads(spooled.read_text())["observations"]
    ]
    assert [o.spec.params["item"] for o in hist.by_round(1)] == spool_items
    assert tracking.round_metrics(store, "flaky")[0].rounds == 1  # the store has round 0 only

    rec2 = tracking.MlflowRecorder(
        store, "flaky", "toy", {"kind": "toy"}, params={"planner": "toy"}, nesting="round",
        resume=True,
    )  # fmt: skip
    rec2.start()  # uploads the spooled rounds, deletes the half-written round run
    assert not spooled.exists()
    final = _toy_run(planner, rec2, history=hist)
    c = _client(store)
    round_runs = c.search_runs([rec2.experiment_id], "tags.`perturbo.role` = 'round'")
    assert sorted(r.data.tags["perturbo.round"] for r in round_runs) == ["1", "2", "3"]
    _, again = tracking.load_history(store, "flaky")
    items = [o.spec.params["item"] for o in again]
    assert len(items) == 12 == len(set(items))
    assert [o.to_dict() for o in again] == [o.to_dict() for o in final]
    assert [o.spec.params["item"] for o in again.by_round(1)] == spool_items
    assert c.get_run(rec2.run_id).data.tags["perturbo.resumes"] == "1"


@pytest.mark.parametrize("uri", ["http://127.0.0.1:9", "https://127.0.0.1:9/"])
def test_unreachable_server_fails_fast_naming_it(uri: str) -> None:
    t0 = time.monotonic()
    rec = tracking.MlflowRecorder(uri, "x", "toy", {})
    with pytest.raises(PerturboError, match="127.0.0.1:9.*unreachable.*--tracking-uri"):
        rec.start()
    with pytest.raises(PerturboError, match="unreachable"):
        tracking.load_history(uri, "x")
    with pytest.raises(PerturboError, match="unreachable"):
        tracking.list_campaigns(uri)
    assert time.monotonic() - t0 < 10


def test_bad_sqlite_and_file_uris(tmp_path: Path) -> None:
    with pytest.raises(PerturboError, match="does not exist: create it"):
        tracking.check_reachable(f"sqlite:///{tmp_path}/missing/dir/mlflow.db")
    with pytest.raises(PerturboError, match="use a sqlite file"):
        tracking.check_reachable(str(tmp_path / "mlruns"))
    with pytest.raises(PerturboError, match="not a sqlite file URI"):
        tracking.check_reachable("sqlite:/x.db")
    assert tracking.default_spool_dir(f"sqlite:///{tmp_path}/m.db") == tmp_path / "perturbo-unsent"


def test_name_clash_and_missing_campaign(store: str) -> None:
    run_toy(store, "once", rounds=1)
    with pytest.raises(PerturboError, match="already exists.*perturbo resume once"):
        tracking.MlflowRecorder(store, "once", "toy", {}).start()
    with pytest.raises(PerturboError, match="no campaign named 'nope'.*perturbo show"):
        tracking.load_history(store, "nope")
    with pytest.raises(PerturboError, match="no campaign named 'nope'"):
        tracking.MlflowRecorder(store, "nope", "toy", {}, resume=True).start()
    assert [s.name for s in tracking.list_campaigns(store)] == ["once"]


def test_earlier_campaigns_carry_their_outcomes(store: str) -> None:
    """What a prior that learns from earlier campaigns reads: item -> hit, per campaign."""
    hist = {
        "first": run_toy(store, "first", rounds=2, batch=4)[1],
        "second": run_toy(store, "second", rounds=2, batch=4, planner=ToyPlanner(start=10))[1],
    }
    run_toy(store, "elsewhere", rounds=1, batch=2, kind="other")

    def labels(h: Any) -> dict[int, bool]:
        return {o.spec.params["item"]: o.outcome.value("hit") > 0.5 for o in h if o.outcome.ok}

    got = {s.name: labels(h) for s, h in tracking.open_store(store).earlier("toy", ["new"])}
    assert set(got) == {"first", "second"}
    # hits and misses both came back: the outcomes were read, not defaulted (this assertion
    # was `sum(...) >= 0`, which held whatever was read)
    read = got["first"]
    assert 0 < sum(read.values()) < len(read)
    assert read == labels(hist["first"]) == {x: toy_score(x) > 0.8 for x in range(8)}
    assert got["second"] == labels(hist["second"]) and min(got["second"]) == 10
    left = [s.name for s, _ in tracking.open_store(store).earlier("toy", exclude=["first"])]
    assert left == ["second"]


@pytest.fixture
def global_store(tmp_path: Path, mlflow_template: Path) -> Any:
    """A store at the process-global tracking URI for one test (restored after)."""
    import mlflow

    previous = mlflow.get_tracking_uri()
    uri = copy_store(mlflow_template, tmp_path / "global")
    mlflow.set_tracking_uri(uri)
    yield uri
    mlflow.set_tracking_uri(previous)


def test_agent_traces_go_to_the_recorders_store_not_the_global_uri(
    store: str, global_store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow
    import mlflow.tracking._tracking_service.utils as uri_state

    swaps: list[str] = []
    monkeypatch.setattr(mlflow, "set_tracking_uri", lambda uri: swaps.append(str(uri)))
    monkeypatch.setattr(uri_state, "set_tracking_uri", lambda uri: swaps.append(str(uri)))
    rec, _ = run_toy(store, "traced", nesting="round", rounds=2, planner=ToyPlanner(traced=True))
    assert swaps == [] and mlflow.get_tracking_uri() == global_store != store
    monkeypatch.undo()

    c = _client(store)
    tokens = sorted((m.step, m.value) for m in c.get_metric_history(rec.run_id, "agent_tokens"))
    assert tokens == [(1, 901.0), (2, 902.0)]  # step = round, 1..N
    rounds = c.search_runs([rec.experiment_id], "tags.`perturbo.role` = 'round'")
    for r in rounds:
        rnd = int(r.data.tags["perturbo.round"])  # 1..N: the toy's prompt n is round n
        assert r.data.metrics["agent_validity"] == 0.75 and r.data.metrics["agent_by_fallback"] == 1
        d = Path(c.download_artifacts(r.info.run_id, "agent_trace.json", _folder(store, f"t{rnd}")))
        assert json.loads(d.read_text())["calls"][0]["prompt"] == f"prompt {rnd}"
    traces = c.search_traces(locations=[rec.experiment_id])
    assert len(traces) == 2
    by_round = {t.info.tags["perturbo.round"]: t for t in traces}
    run_of = {r.data.tags["perturbo.round"]: r.info.run_id for r in rounds}
    for rnd, t in by_round.items():
        assert t.info.trace_metadata["mlflow.sourceRun"] == run_of[rnd]
        assert t.info.state.value == "OK" and t.info.execution_duration >= 2000
        root = next(s for s in t.data.spans if s.parent_id is None)
        assert root.name == f"round-{int(rnd):03d} agent" and root.span_type == "AGENT"
        assert root.inputs == {"round": int(rnd), "n_requested": 4}
        [call] = [s for s in t.data.spans if s.name == "propose"]
        assert call.parent_id == root.span_id and call.span_type == "CHAT_MODEL"
        assert call.inputs["prompt"] == f"prompt {int(rnd)}"
        assert call.outputs["errors"] == [["99 is not an item"]]
        assert call.attributes["input_tokens"] == 800
    # nothing went to the store at the process-global URI
    g = _client(global_store)
    assert g.search_traces(locations=[e.experiment_id for e in g.search_experiments()]) == []
    assert tracking.open_store(store).traces("traced")[1]["tokens"] == 902
