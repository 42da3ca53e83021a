"""ASHA: the rung rule, and a campaign in which it must stop the bad trials early."""

from __future__ import annotations

import math
import sys
import types
from typing import Any

import numpy as np
import pytest

from perturbo.actors.local_pool import LocalExecutorPool
from perturbo.actors.rungs import SharedRungs
from perturbo.campaign import StopRule, run
from perturbo.kinds.hyperparameter import HyperparameterMetrics, TaskRecipe, TrialFactory
from perturbo.search.asha import ASHA, savings
from perturbo.search.random import RandomPlanner
from perturbo.space import Float, SearchSpace
from perturbo.types import ExperimentSpec, Observation, Outcome, Status


def test_rungs_and_the_top_fraction_rule() -> None:
    a = ASHA(max_epochs=27, min_epochs=1, eta=3)
    assert a.rungs == (1, 3, 9)
    assert a.report("t0", 1, 0.5)  # first at a rung: nothing to compare with
    assert not a.report("t1", 1, 0.4)  # below the top third of {0.5}
    assert a.report("t2", 1, 0.9)
    assert a.report("t3", 2, 0.0)  # epoch 2 is not a rung
    assert not a.report("t4", 1, 0.6)  # cut-off = 67th percentile of {0.5, 0.4, 0.9} = 0.63
    assert a.report("t5", 1, 0.7)
    assert not a.report("t6", 1, math.nan)
    assert [(s.epoch, s.n_reached, s.n_stopped) for s in a.stats()] == [
        (1, 5, 2),
        (3, 0, 0),
        (9, 0, 0),
    ]
    m = ASHA(max_epochs=9, direction="min")
    m.report("a", 1, 1.0)
    assert not m.report("b", 1, 2.0) and m.report("c", 1, 0.5)
    assert savings([1, 3, 9, 9], 9) == {
        "epochs_spent": 22.0,
        "epochs_full": 36.0,
        "epochs_saved_frac": 1 - 22 / 36,
    }


def _learning_curves(params, report):
    """A fake trainer: accuracy rises towards ``q`` (the config's quality) over 9 epochs."""
    acc = 0.0
    for epoch in range(1, 10):
        acc = params["q"] * (1 - math.exp(-epoch / 2))
        if not report(epoch, acc):
            break
    return {"acc": acc}


@pytest.fixture
def curves_module(monkeypatch):
    mod = types.ModuleType("perturbo_test_curves")
    mod.curves = _learning_curves
    monkeypatch.setitem(sys.modules, "perturbo_test_curves", mod)
    return "perturbo_test_curves:curves"


def test_asha_stops_bad_trials_early_in_a_campaign(curves_module: str) -> None:
    space = SearchSpace([Float("q", 0.0, 1.0)])
    recipe = TaskRecipe(
        curves_module,
        space=space.to_dict(),
        allow_user_code=True,
        objective="acc",
        direction="max",
        max_epochs=9,
    )
    rungs = SharedRungs("test-asha", max_epochs=9, eta=3)
    pool = LocalExecutorPool(TrialFactory(recipe, rungs))
    hist = run(
        planner=RandomPlanner(space, "hyperparameter", seed=0),
        pool=pool,
        space=space,
        batch=4,
        stop=StopRule(max_experiments=40),
        poll_s=0.0,
    )
    assert len(hist) == 40
    pruned = [o for o in hist if o.outcome.status is Status.PRUNED]
    done = [o for o in hist if o.outcome.status is Status.COMPLETED]
    assert len(pruned) >= 15, f"only {len(pruned)} of 40 trials stopped early"
    for o in pruned:  # stopped at a rung, with their per-epoch values kept
        assert len(o.outcome.intermediate) in (1, 3)
        assert o.outcome.metrics["acc"] == pytest.approx(o.outcome.intermediate[-1])
    for o in done:
        assert len(o.outcome.intermediate) == 9
    # the ones stopped are the bad ones: the best config ran in full, and pruned trials are worse
    best = max(hist, key=lambda o: o.spec.params["q"])
    assert best.outcome.status is Status.COMPLETED
    assert np.median([o.spec.params["q"] for o in pruned]) < np.median(
        [o.spec.params["q"] for o in done]
    )
    m = HyperparameterMetrics("acc", "max", 9)([], list(hist))
    assert m["epochs_full"] == 360 and m["epochs_saved_frac"] > 0.3
    assert m["n_pruned"] == len(pruned)


# -- rung state rebuilt from the recorded history (resume) ---------------------------------


def _replay(a: ASHA, trials: list[tuple[str, float]]) -> list[tuple[str, bool, tuple[float, ...]]]:
    """Run learning curves ``q * epoch / 9`` through ``a``; return what a history records."""
    out = []
    for tid, q in trials:
        values: list[float] = []
        pruned = False
        for epoch in range(1, 10):
            values.append(q * epoch / 9)
            if not a.report(tid, epoch, values[-1]):
                pruned = True
                break
        out.append((tid, pruned, tuple(values)))
    return out


def test_seeded_rungs_equal_the_live_ones() -> None:
    rng = np.random.default_rng(0)
    trials = [(f"t{i}", float(q)) for i, q in enumerate(rng.random(30))]
    live = ASHA(max_epochs=9, eta=3)
    recorded = _replay(live, trials)
    assert any(p for _, p, _ in recorded) and not all(p for _, p, _ in recorded)
    seeded = ASHA(max_epochs=9, eta=3)
    assert seeded.seed(recorded) > 30
    assert seeded.stats() == live.stats()
    new = [(f"n{i}", float(q)) for i, q in enumerate(rng.random(10))]
    assert _replay(seeded, new) == _replay(live, new)  # the same decisions as if never lost
    fresh = ASHA(max_epochs=9, eta=3)
    assert fresh.report("n-bad", 1, 0.0)  # an empty rung lets anything through
    assert not seeded.report("n-bad", 1, 0.0)  # a seeded one stops a bad trial at once


def _history_of(recorded: list[tuple[str, bool, tuple[float, ...]]]) -> list[Observation]:
    return [
        Observation(
            ExperimentSpec({"q": 0.0}, "hyperparameter", id=tid, round=0),
            Outcome(Status.PRUNED if p else Status.COMPLETED, {"acc": v[-1]}, v),
        )
        for tid, p, v in recorded
    ]


@pytest.mark.parametrize("where", ["local", "ray"])
def test_shared_rungs_are_seeded_from_the_history(where: str, request: Any) -> None:
    import uuid

    if where == "ray":
        pytest.importorskip("ray")
        request.getfixturevalue("ray_runtime")
    live = ASHA(max_epochs=9, eta=3)
    recorded = _replay(live, [(f"t{i}", q) for i, q in enumerate(np.linspace(0.1, 1.0, 12))])
    history = _history_of(recorded)
    history.append(Observation(history[0].spec, Outcome(Status.REJECTED, error="invalid")))
    rungs = SharedRungs(f"seed-{where}-{uuid.uuid4().hex[:6]}", max_epochs=9, eta=3)
    at_rungs = sum(
        len([e for e in range(1, len(v) + 1) if e in live.rungs]) for _, _, v in recorded
    )
    assert rungs.seed(history) == at_rungs
    assert [(s.epoch, s.n_reached, s.n_stopped) for s in rungs.stats()] == [
        (s.epoch, s.n_reached, s.n_stopped) for s in live.stats()
    ]
    assert not rungs.report("late-bad", 1, 0.01)  # judged against the recorded trials
    assert rungs.report("late-good", 1, 0.2)
