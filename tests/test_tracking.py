"""MlflowRecorder against a real MLflow sqlite store, read back with MlflowClient directly.

Covers: the layout (parent run, nested round runs or trial runs, params, step=round metrics,
tables, rationale, config, plot), the exact round trip of load_history, the spool that keeps a
round the store could not take, unreachable stores, and load_past_labels' exclusions.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest
from stores import *  # noqa: F403
from stores import genes_csv, make_screen_csv

from perturbo import cli_genetic, tracking
from perturbo.actors import LocalExecutorPool
from perturbo.campaign import StopRule, run
from perturbo.history import History
from perturbo.kinds.genetic import GeneticMetrics, load_screen
from perturbo.types import (
    ExperimentSpec,
    InvalidSpec,
    Observation,
    Outcome,
    PerturboError,
    Status,
)


def _client(uri: str) -> Any:
    from mlflow import MlflowClient

    return MlflowClient(uri)


class Noted:
    """Wraps a planner and attaches a rationale to each proposal (as an LLM planner does)."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.name = inner, inner.name
        self.rounds = 0

    def ask(self, n: int, pending: Sequence[ExperimentSpec]) -> list[ExperimentSpec]:
        self.rounds += 1
        out = self.inner.ask(n, pending)
        return [
            ExperimentSpec(s.params, s.kind, planner=s.planner, note=f"why round {self.rounds}")
            for s in out
        ]

    def tell(self, observations: Sequence[Observation]) -> None:
        self.inner.tell(observations)


def _genetic(csv: Path, rounds: int = 3, batch: int = 16, **kw: Any) -> Any:
    return cli_genetic.build(
        {"screen": str(csv), "planner": "random", "rounds": rounds, "batch": batch, "seed": 1, **kw}
    )


def _run(parts: Any, recorder: Any, history: History | None = None, planner: Any = None) -> History:
    return run(
        planner=planner or parts.planner,
        pool=LocalExecutorPool(parts.executor_factory),
        space=parts.space,
        batch=parts.batch,
        stop=parts.stop,
        recorder=recorder,
        metrics=parts.metrics,
        history=history,
        poll_s=0.01,
    )


def test_genetic_campaign_layout_and_exact_round_trip(store: str, screen_csv: Path) -> None:
    parts = _genetic(screen_csv)
    rec = tracking.MlflowRecorder.from_parts(parts, store, "layout")
    rec.start({"pool": "local"})
    history = _run(parts, rec, planner=Noted(parts.planner))

    c = _client(store)
    exp = c.get_experiment_by_name("layout")
    assert exp.tags["perturbo.kind"] == "genetic" and exp.tags["perturbo.screen"] == "toy_screen"
    parent = c.get_run(rec.run_id)
    assert parent.info.status == "FINISHED"
    assert parent.data.params["planner"] == "random"
    assert (parent.data.params["seed"], parent.data.params["batch"]) == ("1", "16")
    assert (parent.data.params["rounds"], parent.data.params["screen"]) == ("3", "toy_screen")
    assert parent.data.tags["perturbo.meta.pool"] == "local"

    # hit ratio per round on the parent (step=round) equals the metric recomputed from history
    screen = load_screen(str(screen_csv))
    metric = GeneticMetrics(screen)
    hist = c.get_metric_history(rec.run_id, "hit_ratio")
    assert sorted(m.step for m in hist) == [0, 1, 2]
    for m in hist:
        upto = [o for o in history if o.spec.round <= m.step]
        assert m.value == pytest.approx(metric([], upto)["hit_ratio"])
    assert c.get_run(rec.run_id).data.metrics["final_n_experiments"] == 48

    # one nested run per round, with the per-gene table and the rationale
    rounds = c.search_runs([exp.experiment_id], f"tags.`mlflow.parentRunId` = '{rec.run_id}'")
    assert sorted(r.data.tags["perturbo.round"] for r in rounds) == ["0", "1", "2"]
    truth = genes_csv(screen_csv)
    for r in rounds:
        rnd = int(r.data.tags["perturbo.round"])
        assert r.info.status == "FINISHED" and r.data.metrics["n_ran"] == 16
        d = Path(c.download_artifacts(r.info.run_id, "", str(Path(store[10:]).parent / f"dl{rnd}")))
        import pandas as pd

        table = pd.read_csv(d / "results.csv")
        assert list(table["gene"]) == [o.spec.params["gene"] for o in history.by_round(rnd)]
        for g, s, hit in zip(table["gene"], table["score"], table["hit"], strict=True):
            assert s == pytest.approx(truth[g]) and bool(hit) == (g in screen.hits)
        assert (d / "rationale.txt").read_text() == f"why round {rnd + 1}"
        assert json.loads((d / "results.json").read_text())["columns"][0] == "id"

    # the whole config, and a PNG plot
    arts = {f.path for f in c.list_artifacts(rec.run_id, "plots")}
    assert arts == {"plots/hit_ratio.png"}
    png = Path(
        c.download_artifacts(rec.run_id, "plots/hit_ratio.png", str(Path(store[10:]).parent))
    )
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    config, loaded = tracking.load_history(store, "layout")
    assert config == dict(parts.config)
    assert [o.to_dict() for o in loaded] == [o.to_dict() for o in history]


class Ints:
    """x in 0..19, each once: a stand-in hyperparameter space."""

    unique = True

    def validate(self, params: Any) -> dict[str, Any]:
        x = params.get("x")
        if not isinstance(x, int) or not 0 <= x < 20:
            raise InvalidSpec(f"x={x!r} is not an integer in 0..19")
        return {"x": x}

    def key(self, params: Any) -> str:
        return str(params["x"])

    def sample(self, rng: Any, n: int, exclude: set[str]) -> list[dict[str, Any]]:
        free = [x for x in range(20) if str(x) not in exclude]
        pick = rng.choice(len(free), size=min(n, len(free)), replace=False)
        return [{"x": int(free[i])} for i in pick]


class Curve:
    """loss = x, with a per-epoch curve x/(epoch+1); x=13 fails."""


    def run(self, spec: ExperimentSpec) -> Outcome:
        x = spec.params["x"]
        if x == 13:
            return Outcome(Status.FAILED, error="unlucky")
        return Outcome(
            Status.COMPLETED,
            {"loss": float(x)},
            intermediate=tuple(x / (e + 1) for e in range(3)),
            duration_s=0.5,
        )


def test_trial_runs_for_hyperparameter_kind(store: str) -> None:
    from perturbo.search.random import RandomPlanner

    space = Ints()
    planner = RandomPlanner(space, "hyperparameter", seed=3)

    def best(round_obs: Sequence[Observation], hist: Sequence[Observation]) -> dict[str, float]:
        return {"best": min((o.outcome.value("loss") for o in hist if o.outcome.ok), default=99.0)}

    rec = tracking.MlflowRecorder(
        store,
        "hpo",
        "hyperparameter",
        {"kind": "hyperparameter"},
        params={"planner": "random"},
        objective="loss",
    )
    assert rec.nesting == "trial"
    rec.start()
    history = run(
        planner=planner,
        pool=LocalExecutorPool(Curve),
        space=space,
        batch=4,
        stop=StopRule(rounds=5),
        recorder=rec,
        metrics=best,
        poll_s=0.01,
    )
    c = _client(store)
    exp = c.get_experiment_by_name("hpo")
    trials = c.search_runs([exp.experiment_id], "tags.`perturbo.role` = 'trial'", max_results=100)
    assert len(trials) == 20 == len(history)
    by_x = {int(t.data.params["x"]): t for t in trials}
    assert set(by_x) == set(range(20))
    for x, t in by_x.items():
        assert t.data.tags["mlflow.parentRunId"] == rec.run_id
        assert t.data.params["planner"] == "random"
        if x == 13:
            assert t.info.status == "FAILED" and t.data.tags["perturbo.error"] == "unlucky"
            continue
        assert t.info.status == "FINISHED" and t.data.metrics["loss"] == x
        assert t.data.metrics["duration_s"] == 0.5
        curve = c.get_metric_history(t.info.run_id, "loss_epoch")
        assert [(m.step, m.value) for m in sorted(curve, key=lambda m: m.step)] == [
            (e, pytest.approx(x / (e + 1))) for e in range(3)
        ]
    bests = sorted((m.step, m.value) for m in c.get_metric_history(rec.run_id, "best"))
    assert [s for s, _ in bests] == [0, 1, 2, 3, 4] and bests[-1][1] == 0.0
    assert "plots/optimisation_history.png" in {
        f.path for f in c.list_artifacts(rec.run_id, "plots")
    }
    _, loaded = tracking.load_history(store, "hpo")
    assert [o.to_dict() for o in loaded] == [o.to_dict() for o in history]


def test_a_round_the_store_refuses_is_spooled_then_uploaded_on_resume(
    store: str, screen_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parts = _genetic(screen_csv, rounds=3)
    rec = tracking.MlflowRecorder.from_parts(parts, store, "flaky")
    rec.start()
    real = rec.client.log_artifact

    def broken(run_id: str, local_path: str, artifact_path: str | None = None) -> None:
        if Path(local_path).name == "round-001.json":
            raise OSError("disk full")
        real(run_id, local_path, artifact_path)

    monkeypatch.setattr(rec.client, "log_artifact", broken)
    with pytest.raises(PerturboError) as e:
        _run(parts, rec)
    msg = str(e.value)
    assert store in msg and "disk full" in msg and "perturbo resume flaky" in msg
    spooled = rec.spool / "round-001.json"
    assert str(spooled) in msg and spooled.is_file()
    monkeypatch.undo()

    # what was recorded is all there: round 0 in the store, round 1 in the spool
    _, hist = tracking.load_history(store, "flaky")
    assert [o.spec.round for o in hist] == [0] * 16 + [1] * 16
    spool_genes = [
        o["spec"]["params"]["gene"] for o in json.loads(spooled.read_text())["observations"]
    ]
    assert [o.spec.params["gene"] for o in hist.by_round(1)] == spool_genes

    parts2 = _genetic(screen_csv, rounds=3)
    rec2 = tracking.MlflowRecorder.from_parts(parts2, store, "flaky", resume=True)
    rec2.start()  # uploads the spooled round, deletes the half-written round run
    assert not spooled.exists()
    final = _run(parts2, rec2, history=hist)
    c = _client(store)
    round_runs = c.search_runs([rec2.experiment_id], "tags.`perturbo.role` = 'round'")
    assert sorted(r.data.tags["perturbo.round"] for r in round_runs) == ["0", "1", "2"]
    _, again = tracking.load_history(store, "flaky")
    genes = [o.spec.params["gene"] for o in again]
    assert len(genes) == 48 == len(set(genes))
    assert [o.to_dict() for o in again] == [o.to_dict() for o in final]
    assert [o.spec.params["gene"] for o in again.by_round(1)] == spool_genes


@pytest.mark.parametrize("uri", ["http://127.0.0.1:9", "https://127.0.0.1:9/"])
def test_unreachable_server_fails_fast_naming_it(uri: str) -> None:
    t0 = time.monotonic()
    rec = tracking.MlflowRecorder(uri, "x", "genetic", {})
    with pytest.raises(PerturboError, match="127.0.0.1:9.*unreachable.*--tracking-uri"):
        rec.start()
    with pytest.raises(PerturboError, match="unreachable"):
        tracking.load_history(uri, "x")
    assert time.monotonic() - t0 < 10


def test_bad_sqlite_and_file_uris(tmp_path: Path) -> None:
    with pytest.raises(PerturboError, match="does not exist: create it"):
        tracking.check_reachable(f"sqlite:///{tmp_path}/missing/dir/mlflow.db")
    with pytest.raises(PerturboError, match="use a sqlite file"):
        tracking.check_reachable(str(tmp_path / "mlruns"))


def test_name_clash_and_missing_campaign(store: str, screen_csv: Path) -> None:
    parts = _genetic(screen_csv, rounds=1)
    rec = tracking.MlflowRecorder.from_parts(parts, store, "once")
    rec.start()
    _run(parts, rec)
    with pytest.raises(PerturboError, match="already exists.*perturbo resume once"):
        tracking.MlflowRecorder.from_parts(parts, store, "once").start()
    with pytest.raises(PerturboError, match="no campaign named 'nope'.*perturbo show"):
        tracking.load_history(store, "nope")
    with pytest.raises(PerturboError, match="no campaign named 'nope'"):
        tracking.MlflowRecorder.from_parts(parts, store, "nope", resume=True).start()
    assert [s.name for s in tracking.list_campaigns(store)] == ["once"]


def test_past_labels_leave_out_the_screen_and_its_study(store: str, tmp_path: Path) -> None:
    a = make_screen_csv(tmp_path / "screen_a.csv", n=120, seed=1)
    b = make_screen_csv(tmp_path / "screen_b.csv", n=120, seed=2)
    (tmp_path / "screen_b.task.json").write_text(json.dumps({"Task": "t", "Study": "StudyB"}))
    hist = {}
    for name, csv in (("on-a", a), ("on-b", b)):
        parts = _genetic(csv, rounds=2, batch=10)
        rec = tracking.MlflowRecorder.from_parts(parts, store, name)
        rec.start()
        hist[name] = _run(parts, rec)
    labels = tracking.load_past_labels(store, exclude_campaign="new")
    assert len(labels) == 2
    want_a = {o.spec.params["gene"]: o.outcome.metrics["hit"] > 0.5 for o in hist["on-a"]}
    assert want_a in labels and sum(want_a.values()) >= 0
    assert tracking.load_past_labels(store, exclude_campaign="on-a") == [
        {o.spec.params["gene"]: o.outcome.metrics["hit"] > 0.5 for o in hist["on-b"]}
    ]
    assert tracking.load_past_labels(store, exclude_screens=["SCREEN_A"]) == [
        {o.spec.params["gene"]: o.outcome.metrics["hit"] > 0.5 for o in hist["on-b"]}
    ]
    assert tracking.load_past_labels(store, exclude_studies=["studyb"]) == [want_a]
    assert tracking.load_past_labels(f"sqlite:///{tmp_path}/absent.db") == []


class _Trace:
    def __init__(self, r: int) -> None:
        self.r = r

    def to_dict(self) -> dict[str, Any]:
        return {
            "planner": "agent",
            "n_requested": 16,
            "by_source": {"agent": 12, "fallback": 4},
            "validity": 0.75,
            "validity_first": 0.5,
            "repairs": 1,
            "tokens": 900 + self.r,
            "seconds": 2.5,
            "rationale": f"sets of round {self.r}",
            "calls": [
                {
                    "name": "propose",
                    "prompt": f"prompt {self.r}",
                    "answers": ["a", "b"],
                    "errors": [["XYZ is not a gene"]],
                    "input_tokens": 800,
                    "output_tokens": 100,
                    "seconds": 2.0,
                    "ok": True,
                    "failure": "",
                    "repairs": 1,
                }
            ],
        }


class Traced(Noted):
    """A planner that keeps an LLM-agent style ``last_trace`` for each ask."""

    last_trace: Any = None

    def ask(self, n: int, pending: Sequence[ExperimentSpec]) -> list[ExperimentSpec]:
        out = super().ask(n, pending)
        self.last_trace = _Trace(self.rounds)
        return out


def test_agent_traces_logged_with_their_round(store: str, screen_csv: Path) -> None:
    parts = _genetic(screen_csv, rounds=2)
    planner = Traced(parts.planner)
    rec = tracking.MlflowRecorder.from_parts(parts, store, "traced", planner=planner)
    rec.start()
    _run(parts, rec, planner=planner)
    c = _client(store)
    tokens = sorted((m.step, m.value) for m in c.get_metric_history(rec.run_id, "agent_tokens"))
    assert tokens == [(0, 901.0), (1, 902.0)]
    rounds = c.search_runs([rec.experiment_id], "tags.`perturbo.role` = 'round'")
    for r in rounds:
        rnd = int(r.data.tags["perturbo.round"])
        assert r.data.metrics["agent_validity"] == 0.75 and r.data.metrics["agent_by_fallback"] == 4
        d = Path(
            c.download_artifacts(
                r.info.run_id, "agent_trace.json", str(Path(store[10:]).parent / f"t{rnd}")
            )
        )
        assert json.loads(d.read_text())["calls"][0]["prompt"] == f"prompt {rnd + 1}"
    traces = c.search_traces(locations=[rec.experiment_id])
    assert len(traces) == 2
    for t in traces:
        names = sorted(s.name for s in t.data.spans)
        assert names == sorted([t.data.spans[0].name, "propose"])
        [call] = [s for s in t.data.spans if s.name == "propose"]
        assert call.inputs["prompt"].startswith("prompt ")
        assert call.outputs["errors"] == [["XYZ is not a gene"]]
