"""--max-seconds: the attack campaign's time limit is in its config, so the parts are complete
when ``build`` returns (issue 18: the benchmark patched ``parts.stop`` after build)."""

from __future__ import annotations

from typing import Any


def _parts(recipe: Any, **over: Any) -> Any:
    from perturbo.kinds.attack.campaign import build

    cfg = {
        "model": "digits-cnn",
        "cache_dir": recipe.cache_dir,
        "train_epochs": 6,
        "eps": 0.1,
        "samples": 40,
        "planner": "random",
        "methods": "pgd,apgd-ce",
        "trials": 200,
        "batch": 2,
        "seed": 1,
        "stop_when_done": False,
        "certify": "off",
        **over,
    }
    return build(cfg)


def test_max_seconds_ends_the_campaign_on_time(digits_recipe: Any) -> None:
    from perturbo.actors import LocalExecutorPool

    assert _parts(digits_recipe).stop.wall_clock_s is None  # no limit by default
    parts = _parts(digits_recipe, max_seconds=1.0)
    assert parts.stop.wall_clock_s == 1.0 and parts.stop.max_experiments == 200
    pool = LocalExecutorPool(parts.executor_factory, n_workers=1)
    try:
        history = parts.run(pool, poll_s=0.02)
    finally:
        pool.close()
    assert 0 < len(history) < 200  # the clock, not the trial budget, ended it
    assert parts.metrics.stopped_by(list(history)).startswith("--max-seconds 1 reached (")
