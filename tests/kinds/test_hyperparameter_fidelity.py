"""The built-in trainers honour an ``epochs`` fidelity param (what ``mf-bo`` proposes), and a
longer run of a config continues its shorter run: only the new epochs are trained and
reported, with the values a run from scratch gives."""

from __future__ import annotations

from typing import Any

import pytest

from perturbo.kinds.hyperparameter.executor import HyperparameterExecutor
from perturbo.kinds.hyperparameter.tasks import make_task
from perturbo.types import ExperimentSpec, PerturboError, Status

MLP = {
    "layers": 2, "width": 16, "activation": "relu", "lr": 0.01, "weight_decay": 1e-4,
    "dropout": 0.2, "batch_size": 32, "optimizer": "adam",
}  # fmt: skip
CNN = {
    "channels": 4, "hidden": 16, "lr": 0.01, "weight_decay": 1e-4, "dropout": 0.3,
    "batch_size": 128, "optimizer": "sgd", "momentum": 0.9,
}  # fmt: skip


def _run(task: Any, params: dict[str, Any]) -> tuple[dict[str, float], list[float]]:
    seen: list[float] = []
    metrics = task.evaluate(params, lambda e, v: seen.append(v) or True)
    return metrics, seen


def _same(a: dict[str, float], b: dict[str, float]) -> None:
    assert {k: v for k, v in a.items() if k != "train_seconds"} == {
        k: v for k, v in b.items() if k != "train_seconds"
    }


@pytest.mark.parametrize("name,cfg", [("wine-mlp", MLP), ("digits-cnn", CNN)])
def test_epochs_param_sets_the_run_and_a_longer_run_continues(name: str, cfg: dict) -> None:
    task = make_task(name, seed=1, max_epochs=9)
    m2, seen2 = _run(task, {**cfg, "epochs": 2})
    assert m2["epochs"] == 2 and len(seen2) == 2  # not max_epochs
    _run(task, {**cfg, "lr": 0.02, "epochs": 1})  # another config between (moves torch's RNG)
    m5, seen5 = _run(task, {**cfg, "epochs": 5})
    assert m5["epochs"] == 5 and len(seen5) == 3  # epochs 3..5 only: the 2-epoch run continued
    fresh = make_task(name, seed=1, max_epochs=9)
    f5, fseen5 = _run(fresh, {**cfg, "epochs": 5})
    _same(m5, f5)  # continuing gives what a run from scratch gives
    assert seen2 + seen5 == fseen5
    # a shorter run of a config already run longer trains from scratch (no rewinding)
    m3, seen3 = _run(task, {**cfg, "epochs": 3})
    assert len(seen3) == 3 and m3["epochs"] == 3
    # without an epochs param: max_epochs, as before, and nothing kept
    m, seen = _run(make_task(name, seed=1, max_epochs=4), cfg)
    assert m["epochs"] == 4 and len(seen) == 4


def test_continuing_is_bounded_and_per_config() -> None:
    task = make_task("iris-mlp", seed=0, max_epochs=9)
    task.keep_states = 2
    for w in (8, 9, 10):
        _run(task, {**MLP, "width": w, "epochs": 1})
    assert len(task._states) == 2  # the oldest (width 8) was dropped
    assert len(_run(task, {**MLP, "width": 8, "epochs": 3})[1]) == 3  # from scratch
    assert len(_run(task, {**MLP, "width": 10, "epochs": 3})[1]) == 2  # continued


def test_the_executor_records_only_the_new_epochs() -> None:
    ex = HyperparameterExecutor(make_task("wine-mlp", seed=0, max_epochs=9))
    a = ex.run(ExperimentSpec({**MLP, "epochs": 3}, "hyperparameter"))
    b = ex.run(ExperimentSpec({**MLP, "epochs": 9}, "hyperparameter"))
    assert a.status is b.status is Status.COMPLETED
    assert len(a.intermediate) == 3 and len(b.intermediate) == 6
    assert b.metrics["epochs"] == 9


@pytest.mark.parametrize("bad", [0, 2.5, "3", True])
def test_a_bad_epochs_param_names_the_fix(bad: Any) -> None:
    with pytest.raises(PerturboError, match="Int\\('epochs', 1, 9\\)"):
        make_task("iris-mlp", max_epochs=9).evaluate({**MLP, "epochs": bad})


def test_mf_bo_on_a_built_in_task_trades_its_epochs(tmp_path: Any) -> None:
    """``perturbo run hyperparameter --task wine-mlp --planner mf-bo`` (no space file): the
    task's epochs become the fidelity (without it mf-bo had nothing to trade and ran as bo,
    every trial at max_epochs); ``bo`` on the same task keeps the task's own space."""
    from perturbo.api import run_campaign

    uri = f"sqlite:///{tmp_path / 'm.db'}"
    common = dict(task="wine-mlp", trials=8, batch=2, seed=0, max_epochs=9, local=True)
    hist = run_campaign("hyperparameter", planner="mf-bo", tracking_uri=uri, **common)
    epochs = [o.spec.params.get("epochs") for o in hist]
    assert all(isinstance(e, int) and 1 <= e <= 9 for e in epochs), epochs
    assert min(epochs) < 9, epochs  # cheap fidelities were proposed
    plain = run_campaign("hyperparameter", planner="bo", tracking_uri=uri, **common)
    assert all("epochs" not in o.spec.params for o in plain)
    import mlflow

    c = mlflow.MlflowClient(uri)
    plots = {}
    for e in c.search_experiments():
        for r in c.search_runs([e.experiment_id], "tags.`perturbo.role` = 'campaign'"):
            names = {a.path for a in c.list_artifacts(r.info.run_id, "plots")}
            plots[r.data.params["planner"]] = names
    assert "plots/fidelity.png" in plots["mf-bo"], plots  # each trial at its epochs
    assert "plots/fidelity.png" not in plots["bo"], plots


def test_mf_bo_with_asha_is_refused_before_anything_is_recorded(tmp_path: Any) -> None:
    """``--planner mf-bo --asha``: both decide a trial's epochs. Run together, ASHA's rungs
    pruned every mf-bo proposal after the first at once; now the campaign is refused with the
    fix, and the store holds no campaign."""
    import mlflow

    from perturbo.api import run_campaign

    uri = f"sqlite:///{tmp_path / 'm.db'}"
    with pytest.raises(PerturboError, match="drop --asha, or use --planner bo --asha"):
        run_campaign(
            "hyperparameter", task="wine-mlp", planner="mf-bo", asha=True, trials=4,
            tracking_uri=uri, local=True,
        )  # fmt: skip
    names = [e.name for e in mlflow.MlflowClient(uri).search_experiments()]
    assert not [n for n in names if n.startswith("hyperparameter")], names


def _by_fraction(params: dict[str, Any]) -> dict[str, float]:
    """A loss whose noise falls with the data fraction a trial trains on."""
    return {"loss": (params["x"] - 0.3) ** 2 + 0.05 / params["data_fraction"]}


FRACTION_SPACE = {
    "x": {"type": "float", "low": 0.0, "high": 1.0},
    "data_fraction": {"type": "float", "low": 0.05, "high": 1.0},
}


def test_a_data_fraction_is_the_fidelity_fidelity_names(tmp_path: Any) -> None:
    """``--fidelity data_fraction``: mf-bo trades on a parameter of the user's own name (the
    issue's 'epochs, or a data fraction'); its values are the ladder 0.05, 0.15, 0.45, 1.0,
    cheap ones first. Without the flag the name is not a fidelity: mf-bo says so and runs as
    bo, whose fractions are anywhere in the range."""
    from perturbo import Campaign

    uri = f"sqlite:///{tmp_path / 'm.db'}"
    common = dict(
        space=FRACTION_SPACE, planner="mf-bo", trials=12, batch=2, seed=0, objective="loss",
        direction="min", tracking_uri=uri,
    )  # fmt: skip
    res = Campaign(_by_fraction, fidelity="data_fraction", name="frac", **common).run()
    fractions = [o.spec.params["data_fraction"] for o in res.history]
    assert set(fractions) <= {0.05, 0.15, 0.45, 1.0}, fractions
    assert fractions.count(0.05) >= 3 and max(fractions) == 1.0, fractions
    with pytest.warns(UserWarning, match="--fidelity NAME"):
        plain = Campaign(_by_fraction, name="plain", **common).run()
    rest = [o.spec.params["data_fraction"] for o in plain.history]
    # bo: off the ladder (a snapped planner has none); the bound 1.0, the optimum here, may
    # be proposed more than once as bo closes in
    assert len(set(rest) - {0.05, 0.15, 0.45, 1.0}) >= 6, rest


def _optimistic(params: dict[str, Any]) -> dict[str, float]:
    """Cheap looks flatter the config: the less data, the lower (better) the loss."""
    return {"loss": (params["x"] - 0.3) ** 2 + params["data_fraction"]}


def test_the_best_of_an_mf_bo_campaign_is_trained_in_full(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every trial records its ``fidelity_share``, and every place that names a best (the
    Python result, the store's best marks that `perturbo show` prints, the chat's facts, the
    round metric) chooses it among the trials at the top fidelity reached, as SMAC3 chooses its
    incumbent: a loss flattered by a 5% data fraction is not what the config reaches on all
    of it. Seed 1: the campaign must reach the top fidelity for the test to mean anything;
    with seed 0 it did so only at its 15th trial (a fit on every ask) or not within 16 (the
    refit cadence, search/gp_refit.py), where seeds 1-5 reach it by the 11th either way."""
    import json

    from perturbo import Campaign, tracking
    from perturbo.agents.chat.facts import best_of

    uri = f"sqlite:///{tmp_path / 'm.db'}"
    res = Campaign(
        _optimistic, space=FRACTION_SPACE, planner="mf-bo", fidelity="data_fraction",
        trials=16, batch=2, seed=1, objective="loss", direction="min", tracking_uri=uri,
        name="opt",
    ).run()  # fmt: skip
    done = res.completed
    shares = {o.spec.id: o.outcome.metrics["fidelity_share"] for o in done}
    assert all(s == o.spec.params["data_fraction"] for o in done for s in [shares[o.spec.id]])
    top = max(shares.values())
    assert top == 1.0, shares  # the ladder was climbed
    at_top = [o for o in done if shares[o.spec.id] == top]
    want = min(at_top, key=lambda o: o.outcome.metrics["loss"])
    cheaper = min(done, key=lambda o: o.outcome.metrics["loss"])
    assert shares[cheaper.spec.id] < top  # the flattering look the best must not be
    assert res.best is not None and res.best.spec.id == want.spec.id
    store = tracking.open_store(uri)
    tags = store.best_marks("opt")
    assert tags["perturbo.best.id"] == want.spec.id
    assert json.loads(tags["perturbo.best.params"])["data_fraction"] == 1.0
    assert best_of(store.history("opt"), "loss", "min", 1)[0].id == want.spec.id
    rounds = store.client.search_runs(
        [store.client.get_experiment_by_name("opt").experiment_id],
        "tags.`perturbo.role` = 'campaign'",
    )[0].data.metrics
    assert rounds["best_loss"] == pytest.approx(want.outcome.metrics["loss"])
    from perturbo.cli import main

    assert main(["show", "opt", "--tracking-uri", uri]) == 0
    assert "trained in full (mf-bo's cheaper looks are not counted" in capsys.readouterr().out
    short = Campaign(
        _optimistic, space=FRACTION_SPACE, planner="mf-bo", fidelity="data_fraction",
        trials=2, batch=2, seed=0, objective="loss", direction="min", tracking_uri=uri,
        name="short",
    ).run()  # fmt: skip
    assert {o.spec.params["data_fraction"] for o in short.history} == {0.05}
    assert main(["show", "short", "--tracking-uri", uri]) == 0
    assert "at 5% of the full fidelity, the highest reached: none trained in full yet" in (
        " ".join(capsys.readouterr().out.split())
    )


@pytest.mark.parametrize(
    "change, words",
    [
        ({"planner": "bo"}, ["--planner bo", "use --planner mf-bo, or drop --fidelity"]),
        ({"fidelity": "frac"}, ["--fidelity 'frac'", "x, data_fraction", "add it to --space"]),
    ],
)
def test_a_bad_fidelity_is_refused_before_anything_is_recorded(
    tmp_path: Any, change: dict[str, Any], words: list[str]
) -> None:
    import mlflow

    from perturbo import Campaign

    uri = f"sqlite:///{tmp_path / 'm.db'}"
    kw = dict(space=FRACTION_SPACE, planner="mf-bo", fidelity="data_fraction", trials=4,
              objective="loss", direction="min", tracking_uri=uri, name="bad")  # fmt: skip
    with pytest.raises(PerturboError) as e:
        Campaign(_by_fraction, **{**kw, **change}).run()
    assert all(w in str(e.value) for w in words), str(e.value)
    assert mlflow.MlflowClient(uri).get_experiment_by_name("bad") is None


def test_run_help_names_every_planner_of_the_kind(capsys: Any) -> None:
    """``perturbo run hyperparameter --help`` lists every planner the kind's table can build
    (mf-bo was in the table but not in the help)."""
    from perturbo.cli import main
    from perturbo.kinds import planner_table

    with pytest.raises(SystemExit):
        main(["run", "hyperparameter", "--help"])
    text = " ".join(capsys.readouterr().out.split()).replace("- ", "-")  # argparse wraps at -
    missing = [e.name for e in planner_table("hyperparameter").entries if e.name not in text]
    assert not missing, missing


def test_a_bad_fidelity_of_a_lab_campaign_is_one_line(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--lab`` builds its parts apart from a task: a bad --fidelity there was a traceback."""
    from perturbo.cli import main
    from perturbo.space import SearchSpace

    space = tmp_path / "space.toml"
    space.write_text(
        "\n".join(
            f'[{n}]\ntype = "float"\nlow = {p["low"]}\nhigh = {p["high"]}'
            for n, p in FRACTION_SPACE.items()
        )
    )
    assert SearchSpace.from_toml(space).names == ("x", "data_fraction")
    uri = f"sqlite:///{tmp_path / 'm.db'}"
    rc = main(["run", "hyperparameter", "--lab", "--space", str(space), "--objective", "loss",
               "--direction", "min", "--planner", "mf-bo", "--fidelity", "frac",
               "--tracking-uri", uri, "--name", "labf"])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err, err
    assert "--fidelity 'frac'" in err and "add it to --space" in err, err
