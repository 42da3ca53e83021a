"""End to end: `perturbo run hyperparameter` with ASHA through real Ray actors (a shared rung
actor) and a real MLflow sqlite store, read back with MlflowClient."""

from __future__ import annotations

from typing import Any

import pytest
from stores import *  # noqa: F403

from perturbo import tracking
from perturbo.cli import main
from perturbo.types import Status

pytestmark = pytest.mark.slow


def test_hyperparameter_campaign_on_ray_with_asha_recorded_in_mlflow(
    ray_runtime: Any,
    store: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from mlflow import MlflowClient

    rc = main(
        [
            "run",
            "hyperparameter",
            "--task",
            "breast_cancer-mlp",
            "--planner",
            "bo",
            "--trials",
            "12",
            "--batch",
            "4",
            "--seed",
            "2",
            "--asha",
            "--max-epochs",
            "9",
            "--workers",
            "2",
            "--schedule",
            "sync",  # rounds of 4 (the kind's default, async, records each completion group)
            "--tracking-uri",
            store,
            "--name",
            "hp-e2e",
            "--no-progress",
        ]
    )
    err = capsys.readouterr().err
    assert rc == 0, err
    assert "ray" in err

    config, history = tracking.load_history(store, "hp-e2e")
    assert config["task"] == "breast_cancer-mlp" and config["asha"] is True
    assert len(history) == 12 and history.last_round == 2
    assert all(o.outcome.worker and not o.outcome.worker.startswith("local") for o in history)
    statuses = [o.outcome.status for o in history]
    assert set(statuses) <= {Status.COMPLETED, Status.PRUNED}
    assert Status.PRUNED in statuses, "ASHA (shared through the rung actor) stopped no trial"
    for o in history:
        n = len(o.outcome.intermediate)
        assert n == 9 if o.outcome.status is Status.COMPLETED else n in (1, 3)
        assert o.outcome.metrics["val_accuracy"] == pytest.approx(o.outcome.intermediate[-1])

    c = MlflowClient(store)
    exp = c.get_experiment_by_name("hp-e2e")
    [parent] = c.search_runs([exp.experiment_id], "tags.`perturbo.role` = 'campaign'")
    assert parent.info.status == "FINISHED"
    trials = c.search_runs([exp.experiment_id], "tags.`perturbo.role` = 'trial'")
    assert len(trials) == 12
    by_id = {o.spec.id: o for o in history}
    for run in trials:
        assert run.data.tags["mlflow.parentRunId"] == parent.info.run_id
        o = by_id[run.data.tags["perturbo.id"]]
        assert run.data.tags["perturbo.status"] == o.outcome.status.value
        assert run.info.status == ("FINISHED" if o.outcome.status is Status.COMPLETED else "KILLED")
        assert run.data.params["planner"] == "bo"
        assert float(run.data.params["lr"]) == pytest.approx(o.spec.params["lr"])
        assert run.data.metrics["val_accuracy"] == pytest.approx(o.outcome.metrics["val_accuracy"])
        epochs = c.get_metric_history(run.info.run_id, "val_accuracy_epoch")
        assert [m.value for m in sorted(epochs, key=lambda m: m.step)] == pytest.approx(
            list(o.outcome.intermediate)
        )
    # the savings are on the parent: epochs spent vs training every trial fully
    saved = c.get_metric_history(parent.info.run_id, "epochs_saved_frac")
    spent = sum(len(o.outcome.intermediate) for o in history)
    assert max(m.step for m in saved) == 3  # step = round, 1..N: the third round
    assert [m.value for m in saved if m.step == 3][0] == pytest.approx(1 - spent / (9 * 12))
