"""What an agent campaign leaves in MLflow, pinned: params, tags, metric keys and the agents'
trace artifacts (per-round JSON and MLflow traces) of small campaigns with fake chat models.

The snapshot (``agent_record.json`` beside this file) was taken before the recorder stopped
holding the planner (traces now travel with the round notes); the store must read the same.
Volatile values (run ids, times, host, durations) are normalised away. Regenerate on purpose
only: ``PERTURBO_WRITE_SNAPSHOT=1 pytest tests/tracking/test_agent_record.py``.
"""

# ruff: noqa: F811  (the screen and knowledge fixtures are parameters)
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from agent_helpers import knowledge, screen  # noqa: F401  (pytest fixtures)
from stores import *  # noqa: F403

SNAPSHOT = Path(__file__).with_name("agent_record.json")

# parent-run tags that differ between two runs of the same campaign
_VOLATILE_TAGS = ("mlflow.", "perturbo.heartbeat", "perturbo.driver", "perturbo.meta.host")
_VOLATILE_KEYS = {"seconds", "latency_s", "run_s", "planner_s", "execution_duration"}


def _genetic_campaign(uri: str, screen, knowledge) -> None:  # type: ignore[no-untyped-def]
    """The genetic agent (sets style) behind a pinned gene, nesting 'round', 3 rounds of 5:
    a garbage answer (repair), good ones, then garbage to the end (fallback)."""
    from agent_helpers import Ranker
    from langchain_core.language_models import FakeListChatModel

    from perturbo.kinds.genetic import GenePool, GeneticExecutor, GeneticMetrics
    from perturbo.kinds.genetic.agent.genetic import GeneticAgentPlanner
    from perturbo.pinned import Pinned

    def choices(*ids: int) -> str:
        return json.dumps({"ids": list(ids), "rationale": f"sets {ids}"})

    llm = FakeListChatModel(responses=["junk", choices(1), choices(2, 1)] + ["junk"] * 20)
    agent = GeneticAgentPlanner(
        screen.genes, screen.task, llm, knowledge=knowledge,
        ranker=Ranker(list(reversed(screen.genes))), max_repairs=1,
    )  # fmt: skip
    planner = Pinned(agent, [{"gene": "G40"}], "genetic")
    _record(uri, "genetic-agent", "genetic", "round", planner, GenePool(screen.genes),
            lambda: GeneticExecutor(screen), GeneticMetrics(screen), "sync", 5, 3)  # fmt: skip


class _Quadratic:
    def run(self, spec: Any) -> Any:
        from perturbo.types import Outcome, Status

        p = spec.params
        acc = 1.0 - (p["lr"] - 0.01) ** 2 - ((p["width"] - 64) / 256) ** 2
        return Outcome(Status.COMPLETED, {"acc": acc + (0.01 if p["opt"] == "adam" else 0.0)})


def _space_campaign(uri: str, name: str, nesting: str, schedule: str, **rec_kw: Any) -> None:
    """The space agent (hyperparameter-style space) for 3 rounds of 3 (``schedule``)."""
    from langchain_core.language_models import FakeListChatModel

    from perturbo.agents.space_agent import SpaceAgentPlanner
    from perturbo.space import Categorical, Float, Int, SearchSpace

    space = SearchSpace([
        Float("lr", 1e-4, 1e-1, log=True), Int("width", 16, 256), Categorical("opt", ["adam", "sgd"]),
    ])  # fmt: skip
    cfgs = [{"lr": 10.0 ** -(1 + i % 3), "width": 16 * (i + 1), "opt": "adam"} for i in range(12)]
    answers = [
        json.dumps({"configs": cfgs[0:3], "rationale": "spread the lr"}),
        json.dumps({"configs": [{"lr": 7.0, "width": 8, "opt": "rmsprop"}], "rationale": "bad"}),
        json.dumps({"configs": cfgs[3:6], "rationale": "repaired"}),
    ] + [json.dumps({"configs": [c], "rationale": f"one more {i}"}) for i, c in enumerate(cfgs[6:])]
    planner = SpaceAgentPlanner(
        space, "hyperparameter", FakeListChatModel(responses=answers), objective="acc", seed=3
    )
    _record(
        uri, name, "hyperparameter", nesting, planner, space, _Quadratic, None, schedule, 3, 3,
        **rec_kw,
    )  # fmt: skip


def _record(
    uri, name, kind, nesting, planner, space, factory, metrics, schedule, batch, rounds, **kw
):  # type: ignore[no-untyped-def]
    from perturbo.actors.local_pool import LocalExecutorPool
    from perturbo.campaign import StopRule, run
    from perturbo.tracking import MlflowRecorder

    rec = MlflowRecorder(
        uri, name, kind, {"kind": kind, "planner": "agent", "batch": batch},
        params={"planner": "agent", "batch": batch, "rounds": rounds},
        nesting=nesting, objective="hit" if kind == "genetic" else "acc",
        tags={"subject": name}, **kw,
    )  # fmt: skip
    rec.start({"pool": "local"})
    history = run(
        planner=planner, pool=LocalExecutorPool(factory), space=space, batch=batch,
        stop=StopRule(rounds=rounds), metrics=metrics, recorder=rec, schedule=schedule,
    )  # fmt: skip
    rec.finish(list(history), metrics([], list(history)) if metrics else {})


def _scrub(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: ("~" if k in _VOLATILE_KEYS else _scrub(v)) for k, v in x.items()}
    if isinstance(x, list):
        return [_scrub(v) for v in x]
    return x


def _snapshot(uri: str, tmp: Path) -> dict[str, Any]:
    """Per campaign: the parent run's params, stable tags, metric keys (with their steps) and
    artifact files; per nested run the same; every agent-trace JSON and MLflow trace."""
    from mlflow import MlflowClient

    c = MlflowClient(uri)
    out: dict[str, Any] = {}
    for exp in sorted(c.search_experiments(), key=lambda e: e.name):
        if exp.name == "Default":
            continue
        runs = c.search_runs([exp.experiment_id], max_results=1000)
        ids = {r.info.run_id: r.info.run_name for r in runs}
        camp: dict[str, Any] = {}
        for r in sorted(runs, key=lambda r: r.info.run_name):
            tags = {k: v for k, v in r.data.tags.items() if not k.startswith(_VOLATILE_TAGS)}
            for k, v in tags.items():  # run ids inside tags (best run, parent) by name
                tags[k] = "~" if "planner_s = " in v else ids.get(v, v)  # timings as headline
            steps = {
                k: sorted(m.step for m in c.get_metric_history(r.info.run_id, k))
                for k in r.data.metrics
            }
            files = _files(c, r.info.run_id, "")
            traces = {}
            for f in files:
                if "trace" in f and f.endswith(".json"):
                    p = c.download_artifacts(r.info.run_id, f, str(tmp / r.info.run_id))
                    traces[f] = _scrub(json.loads(Path(p).read_text()))
            camp[r.info.run_name] = {
                "status": r.info.status,
                "params": dict(r.data.params),
                "tags": tags,
                "metric_steps": steps,
                "files": files,
                "trace_files": traces,
            }
        mtraces = c.search_traces(locations=[exp.experiment_id])
        camp["mlflow_traces"] = sorted(
            (
                {
                    "run": ids.get(t.info.trace_metadata.get("mlflow.sourceRun", ""), "?"),
                    "tags": {k: v for k, v in t.info.tags.items() if k.startswith("perturbo.")},
                    "spans": [
                        [s.name, s.span_type, _scrub(s.inputs), _scrub(s.outputs)]
                        for s in sorted(t.data.spans, key=lambda s: s.name)
                    ],
                }
                for t in mtraces
            ),
            key=json.dumps,
        )
        out[exp.name] = camp
    return json.loads(json.dumps(out, default=str))


def _files(c: Any, run_id: str, path: str) -> list[str]:
    out: list[str] = []
    for f in c.list_artifacts(run_id, path or None):
        out += _files(c, run_id, f.path) if f.is_dir else [f.path]
    return sorted(out)


def test_agent_campaigns_record_the_same_as_before(
    store: str, tmp_path: Path, screen, knowledge
) -> None:  # type: ignore[no-untyped-def]
    _genetic_campaign(store, screen, knowledge)
    _space_campaign(store, "space-agent-sync", "trial", "sync")
    _space_campaign(store, "space-agent-async", "both", "async")
    got = _snapshot(store, tmp_path)
    if os.environ.get("PERTURBO_WRITE_SNAPSHOT"):
        SNAPSHOT.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
    want = json.loads(SNAPSHOT.read_text())
    for name in want:  # one campaign, one run at a time: a readable first difference
        assert sorted(got[name]) == sorted(want[name]), name
        for run in want[name]:
            assert got[name][run] == want[name][run], (name, run)
    assert got == want


def test_a_trace_the_store_refused_is_spooled_with_its_round_and_uploaded_the_same(
    store: str, tmp_path: Path, monkeypatch: Any
) -> None:
    """Round 2 of the sync space campaign is refused once: it waits in the spool (its trace
    with it) and is uploaded before round 3; the store then reads as if nothing failed."""
    from perturbo.tracking.round_writer import RoundWriter

    real, refused = RoundWriter._write_round, []

    def refuse_round_2_once(self: Any, round: int, *a: Any) -> None:
        if round == 1 and not refused:
            refused.append(round)
            raise ConnectionError("tracking server went away")
        real(self, round, *a)

    monkeypatch.setattr(RoundWriter, "_write_round", refuse_round_2_once)
    name = "space-agent-sync"
    _space_campaign(store, name, "trial", "sync", spool_dir=tmp_path / "spool", retry_s=0.0)
    assert refused == [1] and not list((tmp_path / "spool").rglob("round-*.json"))
    got = _snapshot(store, tmp_path)
    assert got[name] == json.loads(SNAPSHOT.read_text())[name]
