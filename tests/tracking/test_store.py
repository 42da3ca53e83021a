"""MlflowStore, the read side of the store (perturbo.protocols.StoreReader), against real
sqlite MLflow stores that real campaigns wrote (a toy kind through perturbo.campaign.run, a
LocalExecutorPool and an MlflowRecorder), and against a campaign written with MlflowClient
alone in the layout of campaigns recorded before the tracking package existed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from stores import FAILING_ITEM, ToyPlanner, copy_store, run_toy, toy_metrics

from perturbo import tracking
from perturbo.history import History
from perturbo.protocols import StoreReader
from perturbo.tracking import MlflowStore, open_store
from perturbo.types import ExperimentSpec, Observation, Outcome, PerturboError, Status


def _score_plot(data: Any) -> dict[str, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2, 2))
    fig.add_subplot().plot([o.outcome.value("score") for o in data.history])
    return {"scores.png": fig}


class Recorded:
    """One store with three finished campaigns, oldest first: ``rounds-a`` (nested runs per
    round, an agent trace per round, a plot), ``other-c`` (another kind), ``trials-b``
    (nested runs per trial, agent traces on the parent)."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.recorders: dict[str, Any] = {}
        self.histories: dict[str, History] = {}
        for name, kw in (
            ("rounds-a", {"nesting": "round", "rounds": 3, "batch": 5, "plotters": [_score_plot]}),
            ("other-c", {"nesting": "trial", "rounds": 1, "batch": 3, "kind": "other"}),
            ("trials-b", {"nesting": "trial", "rounds": 2, "batch": 4}),
        ):
            planner = ToyPlanner(traced=name != "other-c")
            self.recorders[name], self.histories[name] = run_toy(uri, name, planner=planner, **kw)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory, mlflow_template: Path) -> Recorded:
    return Recorded(copy_store(mlflow_template, tmp_path_factory.mktemp("recorded")))


@pytest.fixture
def reader(recorded: Recorded) -> MlflowStore:
    return open_store(recorded.uri)


def _dicts(history: Any) -> list[dict[str, Any]]:
    return [o.to_dict() for o in history]


def test_it_is_a_store_reader(reader: MlflowStore) -> None:
    assert isinstance(reader, StoreReader)
    assert reader.uri.startswith("sqlite:///")


def test_list_campaigns_newest_first_and_by_kind(recorded: Recorded, reader: MlflowStore) -> None:
    rows = reader.list_campaigns()
    assert [s.name for s in rows] == ["trials-b", "other-c", "rounds-a"]
    assert rows[0].started >= rows[1].started >= rows[2].started > 0
    assert [s.name for s in reader.list_campaigns("toy")] == ["trials-b", "rounds-a"]
    assert [s.name for s in reader.list_campaigns("other")] == ["other-c"]
    assert reader.list_campaigns("nothing-of-this-kind") == []
    by_name = {s.name: s for s in rows}
    a = by_name["rounds-a"]
    assert (a.kind, a.status, a.rounds) == ("toy", "FINISHED", 3)
    assert a.params == {"planner": "toy", "rounds": "3", "batch": "5"}
    assert a.metrics["final_n_experiments"] == 15
    assert a.tags == {"perturbo.kind": "toy", "perturbo.subject": "toy-items"}
    assert by_name["other-c"].kind == "other" and by_name["trials-b"].rounds == 2
    assert tracking.list_campaigns(recorded.uri) == rows


def test_summary_config_and_history_round_trip_exactly(
    recorded: Recorded, reader: MlflowStore
) -> None:
    for name, history in recorded.histories.items():
        s = reader.summary(name)
        assert s == next(x for x in reader.list_campaigns() if x.name == name)
        assert reader.config(name) == dict(recorded.recorders[name].config)
        loaded = reader.history(name)
        assert isinstance(loaded, History)
        assert _dicts(loaded) == _dicts(history) and len(loaded) > 0
    a = reader.history("rounds-a")
    assert [o.spec.round for o in a] == [r for r in range(3) for _ in range(5)]
    [failed] = [o for o in a if not o.outcome.ok]
    assert failed.spec.params["item"] == FAILING_ITEM and failed.outcome.error == "unlucky"
    config, history = tracking.load_history(recorded.uri, "rounds-a")
    assert config == reader.config("rounds-a") and _dicts(history) == _dicts(a)


def test_round_metrics_are_the_metrics_of_each_recorded_round(
    recorded: Recorded, reader: MlflowStore
) -> None:
    for name, history in recorded.histories.items():
        rows = reader.round_metrics(name)
        assert sorted(rows) == sorted({o.spec.round for o in history})
        for r, values in rows.items():
            upto = [o for o in history if o.spec.round <= r]
            want = toy_metrics([], upto)
            assert {k: values[k] for k in want} == pytest.approx(want)
    rows = reader.round_metrics("rounds-a")
    assert rows[2]["agent_tokens"] == 903 and "final_n_experiments" not in rows[0]
    summary, same = tracking.round_metrics(recorded.uri, "rounds-a")
    assert summary == reader.summary("rounds-a") and same == rows


def test_artifacts_and_download(reader: MlflowStore, tmp_path: Path) -> None:
    arts = reader.artifacts("rounds-a")
    assert {
        "campaign/config.json",
        "rounds/round-001.json",  # rounds 1..N in the store (the loop's 0..N-1)
        "rounds/round-002.json",
        "rounds/round-003.json",
        "plots/scores.png",
    } <= set(arts)
    assert arts == sorted(arts)
    assert reader.artifacts("rounds-a", "rounds") == [
        f"rounds/round-{r:03d}.json" for r in range(1, 4)
    ]
    assert "agent_traces/round-002.json" in reader.artifacts("trials-b")
    assert reader.artifacts("other-c", "plots") == []

    f = reader.download("rounds-a", "rounds/round-002.json", tmp_path / "dl")
    data = json.loads(f.read_text())
    want = [o.to_dict() for o in reader.history("rounds-a").by_round(1)]
    for o in want:  # the file numbers its observations' rounds as people do; history as the loop
        o["spec"]["round"] += 1
    assert data["round"] == 2 and data["observations"] == want
    folder = reader.download("rounds-a", "plots", tmp_path / "dl2")
    assert (folder / "scores.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_traces_of_round_runs_and_of_the_parent(reader: MlflowStore) -> None:
    for name, n in (("rounds-a", 3), ("trials-b", 2)):
        traces = reader.traces(name)
        assert [t["round"] for t in traces] == list(range(n))
        assert [t["calls"][0]["prompt"] for t in traces] == [f"prompt {r + 1}" for r in range(n)]
        assert all(t["tokens"] == 901 + t["round"] for t in traces)
    assert reader.traces("other-c") == []


def test_earlier_campaigns_of_a_kind(recorded: Recorded, reader: MlflowStore) -> None:
    got = list(reader.earlier("toy", exclude=["trials-b"]))
    assert [(s.name, s.kind) for s, _ in got] == [("rounds-a", "toy")]
    assert _dicts(got[0][1]) == _dicts(recorded.histories["rounds-a"])
    assert [s.name for s, _ in reader.earlier("toy")] == ["trials-b", "rounds-a"]
    assert [s.name for s, _ in reader.earlier("other")] == ["other-c"]
    assert list(reader.earlier("toy", exclude=["trials-b", "rounds-a"])) == []


@pytest.mark.parametrize(
    "read",
    [
        lambda s: s.summary("nope"),
        lambda s: s.config("nope"),
        lambda s: s.history("nope"),
        lambda s: s.round_metrics("nope"),
        lambda s: s.artifacts("nope"),
        lambda s: s.download("nope", "rounds", "/tmp"),
        lambda s: s.traces("nope"),
    ],
)
def test_an_unknown_campaign_names_itself_the_store_and_the_fix(
    reader: MlflowStore, read: Any
) -> None:
    with pytest.raises(PerturboError) as e:
        read(reader)
    msg = str(e.value)
    assert "'nope'" in msg and reader.uri in msg and "`perturbo show` lists the campaigns" in msg


def test_an_absent_store_lists_nothing_and_is_not_created(tmp_path: Path) -> None:
    db = tmp_path / "absent.db"
    s = MlflowStore(f"sqlite:///{db}")
    assert s.list_campaigns() == [] and s.list_campaigns("toy") == []
    assert list(s.earlier("toy")) == []
    with pytest.raises(PerturboError, match="'nope'.*does not exist yet.*--tracking-uri"):
        s.history("nope")
    assert not db.exists()


def test_store_failures_are_one_clear_error(
    recorded: Recorded, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = MlflowStore(recorded.uri)

    def broken(*a: Any, **k: Any) -> Any:
        raise OSError("disk gone\nsecond line")

    monkeypatch.setattr(s.client, "list_artifacts", broken)
    for read in (s.list_campaigns, lambda: s.history("rounds-a"), lambda: s.traces("trials-b")):
        with pytest.raises(PerturboError) as e:
            read()
        msg = str(e.value)
        assert recorded.uri in msg and "(disk gone)" in msg and "--tracking-uri" in msg


def test_spooled_rounds_count_as_recorded(mlflow_template: Path, tmp_path: Path) -> None:
    uri = copy_store(mlflow_template, tmp_path / "s")
    rec, hist = run_toy(uri, "spooled", rounds=1, batch=3)
    late = [
        Observation(
            ExperimentSpec({"item": 30 + i}, "toy", id=f"x{i}", round=1),
            Outcome(Status.COMPLETED, {"score": 0.5, "hit": 0.0}),
        )
        for i in range(2)
    ]
    path = rec._spool.save(1, late, {"best": 0.5}, {}, rec.config)
    assert path.parent == rec.spool and path.is_file()
    loaded = MlflowStore(uri).history("spooled")
    assert _dicts(loaded) == _dicts(hist) + _dicts(late)
    # the spool of another store (or folder) is not this campaign's
    assert len(MlflowStore(uri, spool_dir=tmp_path / "elsewhere").history("spooled")) == 3


def test_a_campaign_recorded_before_the_move_reads_back(
    mlflow_template: Path, tmp_path: Path
) -> None:
    """The layout, written with MlflowClient alone (as perturbo/tracking.py wrote it)."""
    from mlflow import MlflowClient

    uri = copy_store(mlflow_template, tmp_path / "old")
    c = MlflowClient(uri)
    exp = c.create_experiment("old-one", tags={"perturbo.kind": "legacy", "perturbo.task": "t"})
    run = c.create_run(exp, run_name="old-one", tags={"perturbo.role": "campaign"})
    rid = run.info.run_id
    c.log_param(rid, "planner", "random")
    config = {"kind": "legacy", "rounds": 2}
    c.log_dict(rid, config, "campaign/config.json")
    obs = {
        r: [
            Observation(
                ExperimentSpec({"item": 2 * r + i}, "legacy", id=f"{r}-{i}", round=r),
                Outcome(Status.COMPLETED, {"score": float(i)}),
            )
            for i in range(2)
        ]
        for r in range(2)
    }
    for r, xs in obs.items():
        c.log_metric(rid, "best", float(r), step=r)
        payload = {"round": r, "observations": [o.to_dict() for o in xs], "metrics": {}}
        c.log_dict(rid, payload, f"rounds/round-{r:03d}.json")
    c.log_metric(rid, "final_n_experiments", 4.0, step=0)
    c.set_terminated(rid, "FINISHED")

    s = MlflowStore(uri)
    [summary] = s.list_campaigns()
    assert (summary.name, summary.kind, summary.rounds, summary.status) == (
        "old-one",
        "legacy",
        2,
        "FINISHED",
    )
    assert summary.tags == {"perturbo.kind": "legacy", "perturbo.task": "t"}
    assert s.config("old-one") == config
    assert _dicts(s.history("old-one")) == [o.to_dict() for r in (0, 1) for o in obs[r]]
    assert s.round_metrics("old-one") == {0: {"best": 0.0}, 1: {"best": 1.0}}
    assert [x.name for x, _ in s.earlier("legacy")] == ["old-one"]
    assert s.traces("old-one") == []


def test_a_resumed_campaign_reads_as_one(mlflow_template: Path, tmp_path: Path) -> None:
    """Resumed with a larger budget: the summary shows the params the resume changed (MLflow
    params cannot change; the recorder tags them ``perturbo.resumed.*``)."""
    uri = copy_store(mlflow_template, tmp_path / "r")
    _, first = run_toy(uri, "grows", rounds=1, batch=3)
    planner = ToyPlanner()
    planner.tell(first)
    _, final = run_toy(uri, "grows", rounds=3, batch=3, planner=planner, history=first, resume=True)
    s = MlflowStore(uri)
    summary = s.summary("grows")
    assert (summary.rounds, summary.status, summary.params["rounds"]) == (3, "FINISHED", "3")
    assert s.config("grows")["rounds"] == 3
    assert _dicts(s.history("grows")) == _dicts(final) and len(final) == 9
    assert sorted(s.round_metrics("grows")) == [0, 1, 2]
