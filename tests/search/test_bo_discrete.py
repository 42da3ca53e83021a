"""The candidate-set posterior (search/bo_discrete.py) is the model's posterior, read back."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from botorch.acquisition.logei import qLogNoisyExpectedImprovement  # noqa: E402
from botorch.models import MixedSingleTaskGP, SingleTaskGP  # noqa: E402
from botorch.models.transforms import Normalize, Standardize  # noqa: E402
from botorch.sampling import SobolQMCNormalSampler  # noqa: E402

from perturbo.search.bo_discrete import (  # noqa: E402
    CandidateSetPosterior,
    cached_candidate_posterior,
)


def _grid_points(n: int, d: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 5, (n, d), generator=g).double() / 4


@pytest.fixture(params=["single", "mixed"])
def model_and_data(request):
    X = torch.unique(_grid_points(60, 4, 0), dim=0)
    Y = (X[:, :1] - 0.3).pow(2) + torch.sin(5 * X[:, 1:2]) + 0.05 * torch.randn(len(X), 1)
    if request.param == "mixed":
        model = MixedSingleTaskGP(X, Y, cat_dims=[3], outcome_transform=Standardize(m=1))
    else:
        model = SingleTaskGP(
            X, Y, input_transform=Normalize(d=4), outcome_transform=Standardize(m=1)
        )
    # fixed, non-default hyperparameters: no fit needed to test the algebra
    model.likelihood.noise = torch.tensor([0.05])
    model.eval()
    return model, X


def test_posterior_matches_the_model_on_any_rows(model_and_data):
    model, X = model_and_data
    cands = _grid_points(300, 4, 1)
    pts = torch.unique(torch.cat([X, cands]), dim=0)
    cached = CandidateSetPosterior(model, pts)
    # a batch of (baseline, candidate) sets, as qLogNEI asks: rows in a new order
    batch = torch.stack([torch.cat([X[:20], cands[i : i + 2]]) for i in range(0, 40, 2)])
    assert cached._index(batch) is not None  # read from the cache, not passed to the model
    want, got = model.posterior(batch), cached.posterior(batch)
    assert torch.allclose(got.mean, want.mean, atol=1e-9)
    assert torch.allclose(
        got.distribution.covariance_matrix, want.distribution.covariance_matrix, atol=1e-9
    )


def test_rows_it_was_not_given_fall_through_to_the_model(model_and_data):
    model, X = model_and_data
    cached = CandidateSetPosterior(model, X)
    new = torch.full((1, 3, 4), 0.37, dtype=torch.double)  # off the grid
    assert cached._index(new) is None
    assert torch.allclose(cached.posterior(new).mean, model.posterior(new).mean)


def _acq(model, X, pending=None):
    torch.manual_seed(0)
    return qLogNoisyExpectedImprovement(
        model,
        X_baseline=X,
        X_pending=pending,
        sampler=SobolQMCNormalSampler(sample_shape=torch.Size([32]), seed=0),
        prune_baseline=True,
        cache_root=True,
    )


@pytest.mark.parametrize("n_pending", [0, 3])
def test_qlognei_scores_are_the_models(model_and_data, n_pending):
    """Scores of untested candidates (as ``bo`` scores: observed and pending configs are
    left out; at a repeat of a scored row the conditional variance is rounding noise, and so
    is its log-EI) agree to rounding, and so does the pick."""
    model, X = model_and_data
    grid = torch.unique(_grid_points(400, 4, 2), dim=0)
    grid = grid[~(grid.unsqueeze(1) == X.unsqueeze(0)).all(-1).any(-1)]
    cands, pending = grid[: len(grid) - n_pending], grid[len(grid) - n_pending :]
    pending = pending if n_pending else None
    want = _acq(model, X, pending)(cands.unsqueeze(-2))
    acq = cached_candidate_posterior(_acq(model, X, pending), cands)
    assert isinstance(acq.model, CandidateSetPosterior)
    assert acq.model._index(torch.cat([acq.X_baseline, cands[:1]]).unsqueeze(0)) is not None
    got = acq(cands.unsqueeze(-2))
    assert torch.allclose(got, want, atol=1e-8)
    assert int(torch.argmax(got)) == int(torch.argmax(want))


def test_greedy_passes_after_the_first_keep_the_cached_root(model_and_data):
    """optimize_acqf_discrete adds each pick to X_pending, and qLogNEI then rebuilds its
    baseline on ``acq.model``: the cache must keep BoTorch's cached-root sampling there (as
    a plain botorch Model it lost it, and the later picks differed from the model's)."""
    model, X = model_and_data
    grid = torch.unique(_grid_points(400, 4, 3), dim=0)
    grid = grid[~(grid.unsqueeze(1) == X.unsqueeze(0)).all(-1).any(-1)]
    cands, picks = grid[:-2], grid[-2:]
    plain = _acq(model, X)
    cached = cached_candidate_posterior(_acq(model, X), grid)
    torch.manual_seed(1)
    plain.set_X_pending(picks)
    torch.manual_seed(1)
    cached.set_X_pending(picks)
    assert cached._cache_root
    got, want = cached(cands.unsqueeze(-2)), plain(cands.unsqueeze(-2))
    assert torch.allclose(got, want, atol=1e-8)


def test_past_max_rows_the_model_answers(model_and_data, monkeypatch):
    import perturbo.search.bo_discrete as bd

    model, X = model_and_data
    monkeypatch.setattr(bd, "MAX_ROWS", 10)
    acq = cached_candidate_posterior(_acq(model, X), _grid_points(50, 4, 4))
    assert acq.model is model


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("objectives", [1, 2])
def test_bo_asks_the_same_batch_with_and_without_the_cache_on_a_small_grid(
    seed, objectives, monkeypatch
):
    """A grid under ``max_grid`` (the whole grid is the candidate set), unordered and ordered
    categoricals and an int, pending experiments: the planner's batch is the same with the
    cache as with the model's own posterior, in order; with two objectives too (qLogNEHVI
    over a two-output model: the cache's posterior is the model's block-diagonal one)."""
    import numpy as np

    import perturbo.search.bo_discrete as bd
    from perturbo.search.bo import BOPlanner
    from perturbo.space import Categorical, Int, SearchSpace
    from perturbo.types import ExperimentSpec, Observation, Outcome, Status

    space = SearchSpace(
        [
            Categorical("act", ["relu", "tanh", "gelu", "silu"]),
            Categorical("opt", ["sgd", "adam", "rmsprop"]),
            Categorical("batch", [16, 32, 64, 128], ordered=True),
            Int("layers", 1, 6),
        ]
    )
    rng = np.random.default_rng(seed)
    w = rng.normal(size=4)

    def f(p):
        return float(
            w[0] * ["relu", "tanh", "gelu", "silu"].index(p["act"])
            + w[1] * (p["opt"] == "adam")
            - (np.log2(p["batch"]) - 5.5) ** 2
            + w[2] * p["layers"]
            + 0.1 * rng.normal()
        )

    cfgs = space.sample(rng, 30, set())

    def metrics(c):
        return {"value": f(c), "size": float(c["layers"] * np.log2(c["batch"]) + rng.normal())}

    obs = [Observation(ExperimentSpec(c, "t"), Outcome(Status.COMPLETED, metrics(c))) for c in cfgs]
    pending = [ExperimentSpec(c, "t") for c in space.sample(rng, 2, {space.key(c) for c in cfgs})]

    def batch(cached: bool) -> list[str]:
        names, dirs = ("value", "size")[:objectives], ("max", "min")[:objectives]
        pl = BOPlanner(space, "t", seed, objective=names, direction=dirs)
        pl.tell(obs)
        if not cached:
            monkeypatch.setattr(bd, "cached_candidate_posterior", lambda acq, choices: acq)
        out = [space.key(s.params) for s in pl.ask(4, pending)]
        monkeypatch.undo()
        return out

    with_cache, without = batch(True), batch(False)
    assert with_cache == without
    assert len(set(with_cache)) == 4
