"""End to end: an attack campaign through real Ray actors on 127.0.0.1 (each actor loads
the model once, counted) into a real MLflow sqlite store, read back."""

from __future__ import annotations

from typing import Any

import pytest
from stores import *  # noqa: F403

from perturbo.types import Status

pytestmark = pytest.mark.slow


def test_attack_campaign_on_ray_recorded_in_mlflow(
    ray_runtime: Any, store: str, digits_recipe: Any
) -> None:
    from mlflow import MlflowClient

    from perturbo.actors import RayExecutorPool
    from perturbo.kinds.attack import KIND
    from perturbo.kinds.attack.samples import worst_case
    from perturbo.kindspec import BuildContext
    from perturbo.tracking import MlflowRecorder, MlflowStore, load_history

    config = {
        "model": "digits-cnn",
        "cache_dir": digits_recipe.cache_dir,
        "train_epochs": 6,
        "eps": 0.08,
        "norm": "linf",
        "samples": 40,
        "planner": "random",
        "trials": 4,
        "batch": 2,
        "seed": 3,
        "methods": ["fgsm", "pgd", "apgd-ce"],
    }
    cfg = KIND.config_model.model_validate(config).model_dump()
    parts = KIND.build(cfg, BuildContext(campaign="attack-e2e"))
    rec = MlflowRecorder.from_parts(
        parts, store, "attack-e2e", nesting=KIND.nesting, plotters=KIND.plotters
    )
    rec.start({"pool": "ray"})
    pool = RayExecutorPool(parts.executor_factory, n_workers=2)
    try:
        history = parts.run(pool, recorder=rec, poll_s=0.1)
    finally:
        pool.close()

    assert 1 <= len(history) <= 4
    done = [o for o in history if o.outcome.status is Status.COMPLETED]
    assert done, [o.outcome.error for o in history]
    workers = {o.outcome.worker for o in done}
    assert all(w and not w.startswith("local") for w in workers)
    # every actor loaded the model exactly once, however many configs it ran
    assert {o.outcome.metrics["model_loads"] for o in done} == {1.0}
    assert len(workers) <= 2

    config_back, back = load_history(store, "attack-e2e")
    assert config_back["model"] == "digits-cnn" and len(back) == len(history)
    wc = worst_case(back, 40, 0.08)
    assert wc.accuracy() < done[0].outcome.metrics["clean_accuracy"]
    # the cascade: after round 0 only the still-robust samples are attacked
    later = [o for o in back if o.spec.round > 0 and o.outcome.ok]
    assert all(o.outcome.metrics["n_attacked"] < 40 for o in later)

    s = MlflowStore(store)
    rm = s.round_metrics("attack-e2e")
    last = rm[max(rm)]
    assert last["worst_case_robust_accuracy"] == pytest.approx(wc.accuracy())
    plots = s.artifacts("attack-e2e", "plots")
    names = {p.rsplit("/", 1)[-1] for p in plots}
    assert {
        "worst_case.png",
        "per_sample.csv",
        "per_sample.png",
        "adversarial_examples.png",
    } <= names
    c = MlflowClient(store)
    exp = c.get_experiment_by_name("attack-e2e")
    trials = c.search_runs([exp.experiment_id], "tags.`perturbo.role` = 'trial'")
    assert len(trials) == len(history)
