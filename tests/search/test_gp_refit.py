"""``bo`` refits its GP's hyperparameters every 4 observations, not on every ask
(search/gp_refit.py): asked one proposal at a time (the asynchronous schedule), it conditions
on every observation with the last fit's hyperparameters, and a resumed planner reuses the
same ones as the original."""

from __future__ import annotations

import numpy as np
import pytest
from fit_spy import FitSpy

from perturbo.search.bo import BOPlanner
from perturbo.search.gp_refit import HyperparameterCache
from perturbo.space import Categorical, Float, Int, SearchSpace
from perturbo.types import ExperimentSpec, Observation, Outcome, Status

K = "hyperparameter"
SPACE = SearchSpace(
    [
        Float("lr", 1e-4, 1e-1, log=True),
        Float("dropout", 0.0, 0.5),
        Int("layers", 1, 4),
        Categorical("opt", ["adam", "sgd", "rms"]),
    ]
)


def _f(p: dict) -> float:
    return -((np.log10(p["lr"]) + 2.5) ** 2) - (p["dropout"] - 0.2) ** 2 - abs(p["layers"] - 2) / 4


def _obs(configs: list[dict]) -> list[Observation]:
    return [
        Observation(ExperimentSpec(c, K), Outcome(Status.COMPLETED, {"value": _f(c)}))
        for c in configs
    ]


CONFIGS = SPACE.sample(np.random.default_rng(0), 16, set())


def test_anchor_is_the_last_multiple_once_there_are_two() -> None:
    c = HyperparameterCache(4, 0)
    assert [c.anchor(n) for n in (3, 7, 8, 9, 11, 12, 13)] == [3, 7, 8, 8, 8, 12, 12]
    assert HyperparameterCache(1, 0).anchor(13) == 13
    with pytest.raises(ValueError, match="refit_every"):
        HyperparameterCache(0, 0)


def test_one_at_a_time_asks_fit_once_per_four_observations_and_see_every_point() -> None:
    import torch

    pl = BOPlanner(SPACE, K, 0, n_init=4)
    spy = FitSpy(pl)
    pl.tell(_obs(CONFIGS[:8]))
    for n in range(8, 12):  # the asynchronous schedule: one new result, one new proposal
        assert len(pl.ask(1, [])) == 1
        pl.tell(_obs(CONFIGS[n : n + 1]))
    # one fit at 8 (two where the first drew random numbers: then refitted seeded by 8)
    assert spy.fits and set(spy.fits) == {8} and len(spy.fits) <= 2, spy.fits
    assert spy.reuses == [9, 10, 11], spy.reuses  # each on every observation so far
    # the reused hyperparameters are those of a fit on the first 8 observations
    X = torch.as_tensor(pl._told.X, dtype=torch.double)
    model = pl._refit.model(X[:11], pl._train_y(11), pl._train_y, pl._fit)
    assert pl._refit.reused and model.train_inputs[0].shape[-2] == 11
    with torch.random.fork_rng():  # as the cache fits (the seed matters only if a fit draws)
        torch.manual_seed(0 * 100_003 + 8)
        ref = pl._fit(X[:8], pl._train_y(8))
    for (name, a), (_, b) in zip(
        model.named_hyperparameters(), ref.named_hyperparameters(), strict=True
    ):
        assert torch.allclose(a, b), name
    with_every = BOPlanner(SPACE, K, 0, n_init=4, refit_every=1)
    every = FitSpy(with_every)
    with_every.tell(_obs(CONFIGS[:9]))
    with_every.ask(1, [])
    assert every.fits == [9] and every.reuses == []
    with_every.ask(1, [])  # asked again with nothing new told: the same fit, not another
    assert every.fits == [9] and every.reuses == [9]


def test_a_resumed_planner_reuses_what_the_original_fitted() -> None:
    """The original fitted at exactly 8 observations and kept that fit; a planner rebuilt
    from the 10 recorded observations fits on the first 8 itself: the same proposal."""
    original = BOPlanner(SPACE, K, 3, n_init=4)
    original.tell(_obs(CONFIGS[:8]))
    original.ask(1, [])
    original.tell(_obs(CONFIGS[8:10]))
    rebuilt = BOPlanner(SPACE, K, 3, n_init=4)
    rebuilt.tell(_obs(CONFIGS[:10]))
    a, b = original.ask(1, []), rebuilt.ask(1, [])
    assert original._refit.reused and rebuilt._refit.reused
    assert [s.params for s in a] == [s.params for s in b]
