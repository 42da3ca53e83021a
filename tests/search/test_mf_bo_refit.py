"""``mf-bo`` refits its multi-fidelity GP's hyperparameters every 4 observations, as ``bo``
does (search/gp_refit.py): asked one proposal at a time (the asynchronous schedule) it pays a
fit once per four results, conditions on every observation in between, and a planner rebuilt
from the recorded history proposes what the original did."""

from __future__ import annotations

import numpy as np
from fit_spy import FitSpy

from perturbo.search.mf_bo import MFBOPlanner
from perturbo.space import Float, Int, SearchSpace
from perturbo.types import ExperimentSpec, Observation, Outcome, Status

K = "hyperparameter"
SPACE = SearchSpace([Float("lr", 1e-4, 1e-1, log=True), Float("dropout", 0.0, 0.5),
                     Int("epochs", 1, 9)])  # fmt: skip


def _obs(configs: list[dict]) -> list[Observation]:
    def f(p: dict) -> float:
        return (np.log10(p["lr"]) + 2.5) ** 2 + (p["dropout"] - 0.2) ** 2 + 1 / p["epochs"]

    return [
        Observation(ExperimentSpec(c, K), Outcome(Status.COMPLETED, {"loss": f(c)}))
        for c in configs
    ]


CONFIGS = SPACE.sample(np.random.default_rng(0), 16, set())


def _planner(seed: int = 0, **kw: int) -> MFBOPlanner:
    return MFBOPlanner(SPACE, K, seed, objective="loss", direction="min", n_init=4, **kw)


def test_one_at_a_time_asks_fit_once_per_four_observations() -> None:
    pl = _planner()
    spy = FitSpy(pl)
    pl.tell(_obs(CONFIGS[:8]))
    for n in range(8, 12):
        assert len(pl.ask(1, [])) == 1
        pl.tell(_obs(CONFIGS[n : n + 1]))
    assert spy.fits and set(spy.fits) == {8} and len(spy.fits) <= 2, spy.fits
    assert spy.reuses == [9, 10, 11], spy.reuses
    every = _planner(refit_every=1)
    spy1 = FitSpy(every)
    every.tell(_obs(CONFIGS[:9]))
    every.ask(1, [])
    assert spy1.fits == [9] and spy1.reuses == []


def test_a_resumed_planner_proposes_what_the_original_did() -> None:
    original = _planner(3)
    original.tell(_obs(CONFIGS[:8]))
    original.ask(1, [])
    original.tell(_obs(CONFIGS[8:10]))
    rebuilt = _planner(3)
    rebuilt.tell(_obs(CONFIGS[:10]))
    a, b = original.ask(1, []), rebuilt.ask(1, [])
    assert original._refit.reused and rebuilt._refit.reused
    assert [s.params for s in a] == [s.params for s in b]


def test_a_resumed_planner_keeps_the_promotion_turn() -> None:
    """Asked one at a time, mf-bo promotes on every other proposal. The turn is counted over
    the history, so a planner rebuilt from 9 observations promotes where the original, which
    had asked at 8 and then at 9, did (it was counted over this process's asks)."""
    original = _planner(5)
    original.tell(_obs(CONFIGS[:8]))
    first = original.ask(1, [])
    original.tell(_obs(CONFIGS[8:9]))
    rebuilt = _planner(5)
    rebuilt.tell(_obs(CONFIGS[:9]))
    a, b = original.ask(1, []), rebuilt.ask(1, [])
    assert "promoted" not in first[0].note and "promoted" in a[0].note, (first, a)
    assert [(s.params, s.note) for s in a] == [(s.params, s.note) for s in b]
