"""Multi-objective hyperparameter campaigns: `--objective a,b --direction max,min` through the
CLI into a real MLflow sqlite store (the Pareto set and its plot on the parent run, read back
and checked against every completed trial), the Python API, and bad objective input."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from stores import *  # noqa: F403

from perturbo import Campaign, tracking
from perturbo.cli import main
from perturbo.kinds.hyperparameter.compose import build
from perturbo.kinds.hyperparameter.executor import HyperparameterMetrics
from perturbo.space import Float, SearchSpace
from perturbo.types import ExperimentSpec, Observation, Outcome, PerturboError, Status


def _dominates(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """``a`` beats ``b`` (accuracy maximised, parameter count minimised)."""
    return a[0] >= b[0] and a[1] <= b[1] and (a[0] > b[0] or a[1] < b[1])


def test_two_objective_cli_campaign_logs_its_pareto_front(
    store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(
        [
            "run", "hyperparameter", "--task", "wine-mlp",
            "--objective", "val_accuracy,n_params", "--direction", "max,min",
            "--planner", "bo", "--trials", "12", "--batch", "4", "--max-epochs", "2",
            "--seed", "1", "--local", "--tracking-uri", store, "--name", "mo",
        ]
    )  # fmt: skip
    assert rc == 0, capsys.readouterr().err
    c = tracking.open_store(store).client
    exp = c.get_experiment_by_name("mo")
    (parent,) = c.search_runs([exp.experiment_id], "tags.`perturbo.role` = 'campaign'")
    trials = c.search_runs([exp.experiment_id], "tags.`perturbo.role` = 'trial'", max_results=100)
    assert len(trials) == 12
    # the model proposed the last round, with the hypervolume acquisition
    assert any("qLogNEHVI" in t.data.tags.get("perturbo.note", "") for t in trials)
    done = {
        t.data.tags["perturbo.id"]: (t.data.metrics["val_accuracy"], t.data.metrics["n_params"])
        for t in trials
        if t.data.tags["perturbo.status"] == Status.COMPLETED.value
    }
    assert len(done) == 12
    front_ids = {i for i, p in done.items() if not any(_dominates(q, p) for q in done.values())}

    art = Path(c.download_artifacts(parent.info.run_id, "pareto_front.json", str(tmp_path)))
    saved = json.loads(art.read_text())
    assert saved["objectives"] == ["val_accuracy", "n_params"]
    assert saved["directions"] == ["max", "min"]
    ids = [r["id"] for r in saved["trials"]]
    assert set(ids) == front_ids and len(ids) == len(front_ids)
    for r in saved["trials"]:  # the values logged are the trial's own, not recomputed
        assert (r["values"]["val_accuracy"], r["values"]["n_params"]) == done[r["id"]]
        assert {"lr", "width", "layers"} <= set(r["params"])
    csv = Path(c.download_artifacts(parent.info.run_id, "pareto_front.csv", str(tmp_path)))
    rows = csv.read_text().strip().splitlines()
    assert rows[0].startswith("id,val_accuracy,n_params,") and len(rows) == 1 + len(ids)
    plots = {f.path for f in c.list_artifacts(parent.info.run_id, "plots")}
    assert "plots/pareto_front.png" in plots
    png = Path(c.download_artifacts(parent.info.run_id, "plots/pareto_front.png", str(tmp_path)))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert parent.data.params["objective"] == "val_accuracy,n_params"
    # no one best: no headline best of the first objective alone, the front's per objective
    m = parent.data.metrics
    assert not any(k.startswith(("best_", "final_best_")) for k in m), sorted(m)
    assert m["front_size"] == len(front_ids)
    assert m["front_best_val_accuracy"] == max(p[0] for p in done.values())
    assert m["front_best_n_params"] == min(p[1] for p in done.values())


def test_single_objective_campaign_logs_no_pareto_front(store: str) -> None:
    Campaign("branin", planner="random", trials=4, batch=4, tracking_uri=store, name="one").run()
    c = tracking.open_store(store).client
    exp = c.get_experiment_by_name("one")
    (parent,) = c.search_runs([exp.experiment_id], "tags.`perturbo.role` = 'campaign'")
    names = {f.path for f in c.list_artifacts(parent.info.run_id)}
    plots = {f.path for f in c.list_artifacts(parent.info.run_id, "plots")}
    assert "pareto_front.json" not in names and "plots/pareto_front.png" not in plots


def _done(i: int, **metrics: float) -> Observation:
    spec = ExperimentSpec({"x": i}, "random", id=f"t{i}")
    return Observation(spec, Outcome(Status.COMPLETED, metrics))


def test_pareto_round_metrics_name_the_front_not_a_best_of_the_first_objective() -> None:
    """A Pareto campaign's parent run logged ``best_<first objective>`` as its headline, as if
    it were the answer; it logs the front's size and each objective's best on it instead. One
    objective keeps its ``best_<objective>``."""
    # acc is maximised, size minimised: 0 and 1 tie on acc, 1 is smaller (0 is dominated)
    hist = [_done(0, acc=0.9, size=50.0), _done(1, acc=0.9, size=20.0), _done(2, acc=0.7, size=5.0)]
    m = HyperparameterMetrics("acc", "max", 0, ("acc", "size"), ("max", "min"))(hist[2:], hist)
    assert not any(k.startswith("best_") for k in m), m
    assert list(m)[:3] == ["front_size", "front_best_acc", "front_best_size"]  # the headline
    assert (m["front_size"], m["front_best_acc"], m["front_best_size"]) == (2, 0.9, 5.0)
    assert (m["round_best_acc"], m["round_best_size"]) == (0.7, 5.0)
    one = HyperparameterMetrics("acc", "max", 0)(hist[2:], hist)
    assert list(one)[0] == "best_acc" and one["best_acc"] == 0.9 and "front_size" not in one
    assert one["round_best_acc"] == 0.7 and "round_best_size" not in one


def _two(params: dict[str, float]) -> dict[str, float]:
    x = params["x"]
    return {"a": x, "b": (x - 0.3) ** 2}  # a wants x high, b wants x = 0.3


def test_python_api_pareto_and_a_missing_second_objective_fails_the_trial() -> None:
    space = SearchSpace([Float("x", 0.0, 1.0)])
    res = Campaign(
        _two, space=space, objective=["a", "b"], direction=["max", "min"],
        planner="sobol", trials=8, batch=4,
    ).run()  # fmt: skip
    assert res.objectives == ("a", "b") and all(o.outcome.ok for o in res.history)
    pts = {o.spec.id: (o.outcome.metrics["a"], -o.outcome.metrics["b"]) for o in res.history}
    beats = lambda p, q: p[0] >= q[0] and p[1] >= q[1] and p != q  # noqa: E731
    expected = {i for i, q in pts.items() if not any(beats(p, q) for p in pts.values())}
    front = {o.spec.id for o in res.pareto}
    assert front == expected and 0 < len(front) < len(pts)

    # a missing objective fails each trial; every trial failed, so the run says so and why
    # (as the CLI does, and Ray Tune's raise_on_failed_trial), not "done" with nothing found
    with pytest.raises(
        PerturboError, match=r"all 4 experiments .* failed .*no 'b' metric.*run it again"
    ):
        Campaign(
            lambda p: {"a": p["x"]}, space=space, objective="a,b", direction="max,min",
            planner="random", trials=4, batch=4,
        ).run()  # fmt: skip


def test_python_api_three_objectives_with_parego_runs_it_and_records_it() -> None:
    """``mo_acquisition="parego"`` reaches ``bo`` (its proposals' notes say qLogNParEGO) and is
    recorded with the campaign's params, so a resume rebuilds the same planner."""
    space = SearchSpace([Float("x", 0.0, 1.0), Float("y", 0.0, 1.0)])
    camp = Campaign(
        lambda p: {"a": p["x"], "b": p["y"], "c": (p["x"] - 0.5) ** 2 + p["y"]},
        space=space, objective="a,b,c", direction="max,min,min", trials=12, batch=4,
        mo_acquisition="parego",
    )  # fmt: skip
    assert camp.parts().params["mo_acquisition"] == "parego"
    res = camp.run()
    notes = [o.spec.note for o in res.history]
    assert sum("qLogNParEGO" in n for n in notes) >= 4, notes
    assert len(res.pareto) >= 1


@pytest.mark.parametrize(
    "config, words",
    [
        (
            {"objective": "val_accuracy,accuracy", "direction": "max,max"},
            ["--objective 'accuracy'", "wine-mlp", "n_params", "train_seconds"],
        ),
        (
            {"objective": "val_accuracy,n_params", "direction": "max"},
            ["--direction", "1 direction", "2 objective", "one max|min per objective"],
        ),
        (
            {"objective": "val_accuracy,n_params"},
            ["no --direction", "--direction max,max"],
        ),
        (
            {"objective": "val_accuracy,n_params", "direction": "max,smaller"},
            ["--direction 'smaller'", "max or min"],
        ),
        (
            {"objective": "val_accuracy,val_accuracy", "direction": "max,max"},
            ["--objective", "twice"],
        ),
        (
            {"objective": ["val_accuracy", "n_params"], "direction": ["max", "min"],
             "planner": "evolution"},
            ["--planner evolution", "one objective", "bo", "optuna-nsga2"],
        ),
        (
            {"objective": "val_accuracy,n_params", "direction": "max,min",
             "planner": "optuna-cmaes"},
            ["--planner optuna-cmaes", "one objective"],
        ),
        (
            {"objective": "val_accuracy,n_params", "direction": "max,min", "asha": True},
            ["--asha", "one objective", "drop --asha"],
        ),
        (
            {"objective": "val_accuracy", "direction": "max", "mo_acquisition": "parego"},
            ["--mo-acquisition parego", "several objectives", "drop it"],
        ),
        (
            {"objective": "val_accuracy,n_params", "direction": "max,min",
             "planner": "random", "mo_acquisition": "parego"},
            ["--mo-acquisition parego", "--planner bo"],
        ),
        (
            {"objective": "val_accuracy,n_params", "direction": "max,min",
             "mo_acquisition": "parego", "ref_point": "val_accuracy=0.9"},
            ["--ref-point", "--mo-acquisition parego has none"],
        ),
        (
            {"objective": "val_accuracy,n_params", "direction": "max,min",
             "mo_acquisition": "ehvi"},
            ["mo_acquisition", "'nehvi' or 'parego'"],
        ),
    ],
)  # fmt: skip
def test_bad_objective_input_names_the_flag_and_the_fix(config, words) -> None:
    with pytest.raises(PerturboError) as e:
        build({"task": "wine-mlp", **config})
    for w in words:
        assert w in str(e.value), (w, str(e.value))


def test_bad_objective_through_the_cli_is_one_line(
    store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(
        [
            "run", "hyperparameter", "--task", "branin", "--objective", "value,loss",
            "--direction", "min,min", "--local", "--tracking-uri", store,
        ]
    )  # fmt: skip
    err = capsys.readouterr().err
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    lines = [ln for ln in lines if not ln.rstrip().endswith("...")]  # start-up progress lines
    assert rc == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert "--objective 'loss'" in lines[0] and "branin" in lines[0] and "value" in lines[0]
    assert (
        tracking.open_store(store).client.get_experiment_by_name("hyperparameter-branin-bo-s0")
        is None
    )


def test_task_metrics_include_the_cheap_second_objectives() -> None:
    parts = build(
        {"task": "wine-mlp", "objective": "val_accuracy,train_seconds",
         "direction": "max,min", "max_epochs": 1, "planner": "random"}
    )  # fmt: skip
    assert parts.objectives == ("val_accuracy", "train_seconds")
    assert parts.objective == "val_accuracy" and parts.multi_objective
    ex = parts.executor_factory()
    from perturbo.types import ExperimentSpec

    small = {"layers": 1, "width": 8, "activation": "relu", "lr": 1e-2, "weight_decay": 1e-5,
             "dropout": 0.0, "batch_size": 32, "optimizer": "adam"}  # fmt: skip
    big = {**small, "layers": 3, "width": 64}
    o1 = ex.run(ExperimentSpec(small, "hyperparameter"))
    o2 = ex.run(ExperimentSpec(big, "hyperparameter"))
    # wine has 13 features and 3 classes: 13*8+8 + 8*3+3 parameters
    assert o1.metrics["n_params"] == 13 * 8 + 8 + 8 * 3 + 3
    assert o2.metrics["n_params"] == 13 * 64 + 64 + 2 * (64 * 64 + 64) + 64 * 3 + 3
    assert math.isfinite(o1.metrics["train_seconds"]) and o1.metrics["train_seconds"] > 0


def test_toml_config_names_objectives_as_lists(tmp_path: Path) -> None:
    from perturbo.config import load
    from perturbo.kinds.hyperparameter.settings import HyperparameterConfig

    toml = tmp_path / "run.toml"
    toml.write_text(
        'task = "wine-mlp"\nplanner = "optuna-nsga2"\n'
        'objective = ["val_accuracy", "n_params"]\ndirection = ["max", "min"]\n'
    )
    _, cfg = load(HyperparameterConfig, {"direction": "max,max"}, str(toml))  # flags win
    parts = build(cfg)
    assert parts.objectives == ("val_accuracy", "n_params")
    assert parts.directions == ("max", "max")
    assert parts.planner._objective.directions == ("max", "max")
