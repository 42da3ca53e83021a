"""The hyperparameter kind: tasks, the executor's outcomes, bad objectives, the CLI parts."""

from __future__ import annotations

import math
import sys
import types

import numpy as np
import pytest
from stores import run_parts

from perturbo.actors.local_pool import LocalExecutorPool
from perturbo.campaign import run
from perturbo.kinds.hyperparameter import HyperparameterExecutor, TaskRecipe, TrialFactory
from perturbo.kinds.hyperparameter.compose import build
from perturbo.kinds.hyperparameter.tasks import builtin_tasks, make_task
from perturbo.space import Float, SearchSpace
from perturbo.types import ExperimentSpec, PerturboError, Status


def _spec(params, id="t0"):
    return ExperimentSpec(params, "hyperparameter", id=id)


def test_digits_cnn_trains_and_reports_every_epoch() -> None:
    ex = HyperparameterExecutor(TaskRecipe("digits-cnn", max_epochs=3))
    good = {
        "channels": 8,
        "hidden": 32,
        "lr": 3e-3,
        "weight_decay": 1e-5,
        "dropout": 0.1,
        "batch_size": 32,
        "optimizer": "adam",
    }
    o = ex.run(_spec(ex.task.space().validate(good)))
    assert o.status is Status.COMPLETED, o.error
    assert len(o.intermediate) == 3 and o.intermediate[-1] == o.metrics["val_accuracy"]
    assert o.metrics["val_accuracy"] > 0.85  # a sane CNN learns 8x8 digits in 3 epochs
    bad = {**good, "lr": 1e-4, "optimizer": "sgd", "momentum": 0.0}
    assert (
        ex.run(_spec(ex.task.space().validate(bad))).metrics["val_accuracy"]
        < o.metrics["val_accuracy"]
    )


def test_digits_mlp_is_the_mlp_on_the_64_pixels() -> None:
    ex = HyperparameterExecutor(TaskRecipe("digits-mlp", max_epochs=3))
    assert "width" in ex.task.space().names and "channels" not in ex.task.space().names
    cfg = {"layers": 1, "width": 64, "activation": "relu", "lr": 3e-3, "weight_decay": 1e-5,
           "dropout": 0.0, "batch_size": 32, "optimizer": "adam"}  # fmt: skip
    o = ex.run(_spec(ex.task.space().validate(cfg)))
    assert o.ok and len(o.intermediate) == 3
    assert o.metrics["val_accuracy"] > 0.85  # chance is 0.1; a sane MLP learns digits fast
    assert "digits-mlp" in builtin_tasks()


def test_tabular_mlp_and_lookup_tasks() -> None:
    ex = HyperparameterExecutor(TaskRecipe("breast_cancer-mlp", max_epochs=5))
    cfg = ex.task.space().sample(np.random.default_rng(0), 1, set())[0]
    o = ex.run(_spec(cfg))
    assert o.ok and len(o.intermediate) == 5 and 0 <= o.metrics["val_accuracy"] <= 1
    for name in ("hpobench-australian", "fcnet-naval_propulsion", "nb201-cifar10"):
        task = make_task(name)
        cfg = task.space().sample(np.random.default_rng(1), 1, set())[0]
        o = HyperparameterExecutor(task).run(_spec(cfg))
        assert o.ok and math.isfinite(o.metrics[task.objective])
        assert task.true_value(cfg) == pytest.approx(
            o.metrics[task.objective], abs=abs(task.optimum - task.reference) * 5
        )
        assert (task.optimum >= task.reference) == (task.direction == "max")


def test_synthetic_tasks_know_their_optimum() -> None:
    t = make_task("branin")
    o = HyperparameterExecutor(t).run(_spec({"x0": math.pi, "x1": 2.275}))
    assert o.metrics["value"] == pytest.approx(t.optimum, abs=1e-4)
    assert make_task("hartmann6").space().dim == 6 and make_task("ackley10").space().dim == 10


def test_unknown_task_and_user_code_without_opt_in() -> None:
    with pytest.raises(PerturboError) as e:
        make_task("mnist-resnet")
    assert "unknown task 'mnist-resnet'" in str(e.value) and "digits-cnn" in str(e.value)
    assert "nb201-cifar10" in builtin_tasks()
    space = SearchSpace([Float("x", 0, 1)])
    with pytest.raises(PerturboError, match="--allow-user-code"):
        make_task("os:getcwd", space=space)
    with pytest.raises(PerturboError, match="--space"):
        make_task("os:getcwd", allow_user_code=True)
    with pytest.raises(PerturboError, match="cannot import module 'no_such_mod'"):
        make_task("no_such_mod:f", space=space, allow_user_code=True)
    with pytest.raises(PerturboError, match="no function 'nope'"):
        make_task("math:nope", space=space, allow_user_code=True)


def _moody(params):
    x = params["x"]
    if x < 0.2:
        raise RuntimeError("diverged at step 3")
    if x < 0.4:
        return math.nan
    if x < 0.5:
        return {"value": math.inf}
    if x < 0.6:
        return {"other": 1.0}
    return 1.0 - (x - 0.8) ** 2


@pytest.fixture
def moody(monkeypatch) -> str:
    mod = types.ModuleType("perturbo_test_moody")
    mod.objective = _moody
    monkeypatch.setitem(sys.modules, "perturbo_test_moody", mod)
    return "perturbo_test_moody:objective"


def test_bad_objectives_fail_with_reasons_and_the_campaign_goes_on(moody: str) -> None:
    space = SearchSpace([Float("x", 0.0, 1.0)])
    ex = TrialFactory(TaskRecipe(moody, space=space.to_dict(), allow_user_code=True))()
    reasons = {x: ex.run(_spec({"x": x})) for x in (0.1, 0.3, 0.45, 0.55, 0.8)}
    assert (
        reasons[0.1].status is Status.FAILED
        and "RuntimeError: diverged at step 3" in reasons[0.1].error
    )
    assert reasons[0.3].status is Status.FAILED and "nan" in reasons[0.3].error
    assert reasons[0.45].status is Status.FAILED and "inf" in reasons[0.45].error
    assert reasons[0.55].status is Status.FAILED and "no 'value' metric" in reasons[0.55].error
    assert reasons[0.8].ok and reasons[0.8].metrics["value"] == pytest.approx(1.0)

    parts = build(
        {
            "task": moody,
            "space": None,
            "allow_user_code": True,
            "direction": "max",
            "planner": "bo",
            "trials": 16,
            "batch": 4,
            "seed": 1,
        }
        | {"space": _toml(space)}
    )
    hist = run_parts(parts, poll_s=0.0)
    statuses = [o.outcome.status for o in hist]
    assert len(hist) == 16 and Status.FAILED in statuses and Status.COMPLETED in statuses
    m = parts.metrics([], list(hist))
    assert m["n_failed"] == statuses.count(Status.FAILED) and m["best_value"] > 0.9


def _toml(space: SearchSpace) -> str:
    import tempfile

    lines = []
    for name, d in space.to_dict().items():
        lines.append(f"[{name}]")
        lines += [
            f"{k} = {str(v).lower() if isinstance(v, bool) else repr(v)}" for k, v in d.items()
        ]
    f = tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False)
    f.write("\n".join(lines).replace("'", '"') + "\n")
    f.close()
    return f.name


@pytest.mark.parametrize("planner", ["bo", "optuna", "optuna-gp", "evolution", "sobol", "random"])
def test_cli_build_runs_a_small_campaign(planner: str) -> None:
    parts = build({"task": "branin", "planner": planner, "trials": 10, "batch": 4, "seed": 0})
    assert (
        parts.kind == "hyperparameter" and parts.objective == "value" and parts.direction == "min"
    )
    hist = run_parts(parts, poll_s=0.0)
    assert hist.n_ran == 10 and all(o.outcome.ok for o in hist)
    assert {o.spec.planner for o in hist} == {parts.planner.name}
    assert parts.config["planner"] == planner and parts.params["trials"] == 10


@pytest.mark.parametrize(
    "config, words",
    [
        ({"task": "nope"}, ["unknown task 'nope'", "digits-cnn"]),
        ({"task": "branin", "planner": "hyperband"}, ["planner", "hyperband", "bo"]),
        ({"task": "branin", "asha": True}, ["--asha", "epochs"]),
        ({"task": "branin", "space": "/no/such/space.toml"}, ["space", "does not exist"]),
        ({"task": "branin", "trials": 0}, ["trials"]),
    ],
)
def test_cli_build_errors(config, words) -> None:
    with pytest.raises(PerturboError) as e:
        build(config)
    for w in words:
        assert w in str(e.value), (w, str(e.value))


def test_agent_planner_runs_a_hyperparameter_campaign_with_a_fake_llm() -> None:
    """``--planner agent`` is helper L's generic space agent; a fake chat model stands in."""
    import json

    from langchain_core.language_models import FakeListChatModel

    from perturbo.campaign import StopRule
    from perturbo.kinds.hyperparameter.compose import make_planner

    task = make_task("branin")
    answer = {
        "configs": [
            {"x0": 3.0, "x1": 2.0},
            {"x0": -3.0, "x1": 12.0},
            {"x0": 9.5, "x1": 2.5},
            {"x0": 99.0, "x1": 0.0},
        ],
        "rationale": "near the known basins",
    }
    llm = FakeListChatModel(responses=[json.dumps(answer)] * 12)
    planner = make_planner("agent", task.space(), 0, "value", "min", {"task": "branin"}, llm=llm)
    factory = TrialFactory(TaskRecipe("branin"))
    hist = run(
        planner=planner,
        pool=LocalExecutorPool(factory),
        space=task.space(),
        batch=4,
        stop=StopRule(max_experiments=4),
        poll_s=0.0,
    )
    assert len(hist) == 4 and all(o.outcome.ok for o in hist)
    assert [o.spec.planner for o in hist].count("agent") == 3  # x0=99 is outside [-5, 10]: fallback
    assert min(o.outcome.metrics["value"] for o in hist) < 2.0


def test_a_noise_free_objective_gets_the_near_noise_free_models() -> None:
    """``deterministic`` (automatic on the synthetic tasks) reaches bo's noise model and
    optuna-gp's ``deterministic_objective``; a training task or table lookup keeps BoTorch's."""
    from perturbo.kinds.hyperparameter.compose import make_planner
    from perturbo.kinds.hyperparameter.tasks import make_task

    def planner(name: str, task: str, **cfg: object) -> object:
        space = make_task(task).space()
        return make_planner(name, space, 0, "value", "min", {"task": task, **cfg})

    assert planner("bo", "branin").noise == "low"
    assert planner("bo", "hpobench-australian").noise == "botorch"
    assert planner("bo", "hpobench-australian", deterministic=True).noise == "low"
    gp = planner("optuna-gp", "hartmann6").study.sampler
    assert gp._deterministic
    assert not planner("optuna-gp", "hpobench-kc1").study.sampler._deterministic
