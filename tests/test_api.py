"""The Python API: Campaign(callable or task name).run()."""

from __future__ import annotations

import math

import pytest

from perturbo import Campaign
from perturbo.space import Categorical, Float, SearchSpace
from perturbo.types import PerturboError, Status


def bumpy(params, report):
    """Maximised at x = 0.3 with kind 'b'; 9 'epochs' approaching the final value."""
    v = 1 - (params["x"] - 0.3) ** 2 - (0.0 if params["kind"] == "b" else 0.2)
    for epoch in range(1, 10):
        if not report(epoch, v * (1 - math.exp(-epoch))):
            break
    if params["x"] > 0.95:
        raise ValueError("unstable")
    return {"score": v}


SPACE = SearchSpace([Float("x", 0.0, 1.0), Categorical("kind", ["a", "b"])])


def test_campaign_with_a_callable_finds_the_optimum() -> None:
    res = Campaign(
        bumpy,
        space=SPACE,
        objective="score",
        direction="max",
        planner="bo",
        trials=20,
        batch=4,
        seed=0,
    ).run()
    assert res.history.n_ran == 20
    assert res.best_params["kind"] == "b" and abs(res.best_params["x"] - 0.3) < 0.15
    assert res.best_value == pytest.approx(1 - (res.best_params["x"] - 0.3) ** 2)


def test_campaign_with_asha_prunes_and_a_builtin_task() -> None:
    res = Campaign(
        bumpy,
        space=SPACE,
        objective="score",
        direction="max",
        planner="random",
        trials=16,
        batch=4,
        asha=True,
        max_epochs=9,
    ).run()
    assert any(o.outcome.status is Status.PRUNED for o in res.history)
    res = Campaign("branin", planner="evolution", trials=8).run()
    assert res.best_value < 50 and res.direction == "min"


def test_campaign_errors() -> None:
    with pytest.raises(PerturboError, match="search space"):
        Campaign(bumpy)
    with pytest.raises(PerturboError, match="unknown task"):
        Campaign("no-such-task").run()


def test_a_campaign_that_always_fails_untracked_does_not_promise_a_resume() -> None:
    """With no tracking store nothing is recorded: the stop must not say `perturbo resume`
    continues it (it said so before session 22)."""

    def broken(params: dict) -> float:
        raise RuntimeError("always broken")

    space = SearchSpace([Float("x", 0.0, 1.0)])
    with pytest.raises(PerturboError) as e:
        Campaign(broken, space=space, direction="max", trials=8, batch=2).run()
    msg = str(e.value)
    assert "failed the same way" in msg and "always broken" in msg
    assert "not recorded" in msg and "perturbo resume" not in msg
