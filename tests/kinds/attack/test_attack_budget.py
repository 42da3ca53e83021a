"""--max-passes holds with several attacks in flight, and the campaign says which limit
ended it; by default it ends once the worst case stops improving (and says so)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from perturbo.types import Status


def _parts(recipe: Any, **over: Any) -> Any:
    from perturbo.kinds.attack.campaign import build

    cfg = {
        "model": "digits-cnn",
        "cache_dir": recipe.cache_dir,
        "train_epochs": 6,
        "eps": 0.1,
        "samples": 40,
        "planner": "random",
        "methods": "pgd,apgd-ce,square",
        "trials": 30,
        "batch": 4,
        "seed": 1,
        **over,
    }
    return build(cfg)


def _run(parts: Any, workers: int, schedule: str) -> Any:
    from perturbo.actors import LocalExecutorPool

    parts.schedule = schedule
    pool = LocalExecutorPool(parts.executor_factory, n_workers=workers)
    try:
        return parts.run(pool, poll_s=0.02)
    finally:
        pool.close()


def _passes(history: Any) -> float:
    vals = [o.outcome.metrics.get("passes", math.nan) for o in history]
    return sum(v for v in vals if math.isfinite(v))


@pytest.mark.parametrize(
    ("workers", "schedule", "escalate"),
    [(1, "sync", False), (3, "async", False), (3, "async", True)],
)
def test_max_passes_never_exceeded_with_several_in_flight(
    digits_recipe: Any, workers: int, schedule: str, escalate: bool, capsys: Any
) -> None:
    cap = 6000
    parts = _parts(digits_recipe, max_passes=cap, stop_when_done=False, escalate=escalate)
    history = _run(parts, workers, schedule)
    spent = _passes(history)
    done = [o for o in history if o.outcome.status is Status.COMPLETED]
    assert spent <= cap, f"{spent} passes spent over --max-passes {cap}"
    assert spent > cap / 3  # the budget was really used, not refused up front
    # a running attack stopped itself at its share (the cap is far below 30 configs' worth);
    # under the cost ladder the configs are fitted to their share before they go out
    if not escalate:
        assert any(o.outcome.metrics.get("budget_hit") == 1.0 for o in done)
    assert all(o.outcome.metrics["passes"] <= o.outcome.metrics["pass_budget"] for o in done)
    why = parts.metrics.stopped_by(list(history))
    assert why.startswith("pass budget spent"), why
    final = parts.metrics([], list(history))
    assert final.params == {"stopped_by": why}  # what the recorder logs as a param
    assert "attack campaign stopped by pass budget spent" in capsys.readouterr().err


def test_partial_result_kept_when_the_budget_stops_an_attack(digits_target: Any) -> None:
    """PGD stopped mid-way by the model's pass limit returns what it fooled so far."""
    import torch

    from perturbo.kinds.attack.pgd import pgd

    m, x, y = digits_target.model, digits_target.x[:60], digits_target.y[:60]
    m.reset()
    full = pgd(m, x, y, eps=0.15, steps=30, seed=0)
    used = m.counts()["forward_passes"] + m.counts()["backward_passes"]
    m.reset()
    m.limit = used // 2
    part = pgd(m, x, y, eps=0.15, steps=30, seed=0)
    spent = m.counts()["forward_passes"] + m.counts()["backward_passes"]
    assert m.limit_hit and spent <= used // 2
    assert 0 < int(part.fooled.sum()) <= int(full.fooled.sum())
    with torch.no_grad():
        m.limit = None
        assert bool((m(part.x_adv).argmax(1)[part.fooled] != y[part.fooled]).all())
    m.reset()


def test_stops_when_done_and_says_so(digits_recipe: Any, capsys: Any) -> None:
    parts = _parts(digits_recipe, methods="fgsm", trials=40, batch=2)
    history = _run(parts, 1, "sync")
    why = parts.metrics.stopped_by(list(history))
    assert why.startswith("done: no sample broken in the last"), why
    assert len(history) < 40
    planner = parts.planner
    assert planner.trials_since_best > 0
    # the stretch without improvement was run as a budget: it never overshot
    stretch = planner.passes - planner.passes_at_best
    # (under the cost ladder it also holds the configs of one climb: ``climb`` passes)
    climb = planner.ladder.climb if planner.ladder is not None else 0.0
    assert 0 < stretch <= planner.patience * planner.passes_at_best + climb
    assert _passes(history) == planner.passes
    assert "attack campaign ends: done" in capsys.readouterr().err

    off = _parts(digits_recipe, methods="fgsm", trials=8, batch=2, stop_when_done=False)
    history = _run(off, 1, "sync")
    assert len(history) == 8
    assert off.metrics.stopped_by(list(history)) == "trial budget spent: 8 of --trials 8"


def test_library_attack_fitted_to_its_budget(digits_target: Any) -> None:
    """APGD under a pass limit runs fewer restarts/steps that fit, and stays within it."""
    import torch

    from perturbo.kinds.attack.attacks import fit_steps, run_attack

    cfg = {"method": "apgd-ce", "steps": 50, "restarts": 3}
    assert fit_steps(cfg, 1e9, 25) is cfg
    assert fit_steps(cfg, 25 * (4 * 3 + 2 * 3 * 10), 25) == {**cfg, "steps": 10}
    assert fit_steps(cfg, 25 * (4 + 2 * 8), 25) == {**cfg, "restarts": 1, "steps": 8}
    assert fit_steps(cfg, 25 * 10, 25) is None
    m, idx = digits_target.model, torch.arange(40)
    m.reset()
    m.limit = 1500
    with torch.enable_grad():
        xa = run_attack(digits_target, cfg, eps=0.15, norm="linf", idx=idx)
    spent = m.counts()["forward_passes"] + m.counts()["backward_passes"]
    assert m.limit_hit and 0 < spent <= 1500
    m.limit = None
    with torch.no_grad():
        assert int((m(xa).argmax(1) != digits_target.y[idx]).sum()) > 0  # found something
    m.reset()
