"""qLogNEI's capped baseline (search/bo_baseline.py): BoTorch's rows below the cap, the points
most often best above it, and why BoTorch's own ``max_frac`` is not used."""

from __future__ import annotations

import warnings

import pytest

torch = pytest.importorskip("torch")

from botorch.acquisition.utils import prune_inferior_points  # noqa: E402
from botorch.models import SingleTaskGP  # noqa: E402

from perturbo.search.bo_baseline import pruned_baseline  # noqa: E402


def _model() -> tuple[object, object]:
    """Ten points on a line; rows 7, 5 and 9 are near the top (7 best by 0.2), row 8 far
    below; a short lengthscale and small noise, so the posterior ranks them as the data."""
    X = torch.linspace(0, 1, 10, dtype=torch.double)[:, None]
    Y = torch.zeros(10, 1, dtype=torch.double)
    Y[7], Y[5], Y[9], Y[8] = 5.0, 4.8, 4.6, -5.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = SingleTaskGP(X, Y)
    model.likelihood.noise = 1e-2
    model.covar_module.lengthscale = 0.05
    model.eval()
    return model, X


def _rows(X_sub: object, X: object) -> list[int]:
    return sorted(int((X == x).all(-1).nonzero()) for x in X_sub)


def test_below_the_cap_the_rows_and_random_numbers_are_botorchs() -> None:
    model, X = _model()
    torch.manual_seed(3)
    theirs = prune_inferior_points(model, X)
    after_theirs = torch.rand(1)
    torch.manual_seed(3)
    ours = pruned_baseline(model, X, cap=32)
    assert torch.equal(ours, theirs)
    assert torch.equal(torch.rand(1), after_theirs)  # the same draws: a run goes on unchanged
    assert _rows(ours, X) == [5, 7, 9]


def test_past_the_cap_the_points_most_often_best_are_kept() -> None:
    model, X = _model()
    torch.manual_seed(0)
    assert _rows(pruned_baseline(model, X, cap=1), X) == [7]
    torch.manual_seed(0)
    assert _rows(pruned_baseline(model, X, cap=2), X) == [5, 7]


def test_botorchs_max_frac_returns_the_first_rows_instead() -> None:
    """Why the cap is hand-written (botorch 0.18.1). If this fails, BoTorch fixed
    ``prune_inferior_points(max_frac=...)``: use it in search/bo_baseline.py."""
    model, X = _model()
    torch.manual_seed(0)
    assert _rows(prune_inferior_points(model, X, max_frac=0.2), X) == [0, 1]


def test_baseline_for_leaves_pruning_to_botorch_within_the_cap() -> None:
    """Within the cap qLogNEI gets every row and prunes them itself (bit for bit as before
    the cap) and the random stream is where it was; past it, the capped rows, drawn where
    BoTorch's pruning would have drawn them."""
    from perturbo.search.bo_baseline import baseline_for

    model, X = _model()
    torch.manual_seed(4)
    before = torch.random.get_rng_state()
    rows, prune = baseline_for(model, X, cap=3)
    assert prune and rows is X
    assert torch.equal(torch.random.get_rng_state(), before)
    torch.manual_seed(4)
    theirs = _rows(prune_inferior_points(model, X, max_frac=1.0), X)
    after = torch.rand(1)
    torch.manual_seed(4)
    rows, prune = baseline_for(model, X, cap=2)
    assert not prune and _rows(rows, X) == [5, 7] and len(theirs) == 3
    assert torch.equal(torch.rand(1), after)


def test_a_bo_planner_on_tied_values_keeps_at_most_the_cap() -> None:
    """Sixty observations, forty tied at the top (a task whose values move in steps): the
    baseline `bo` hands qLogNEI is the cap, not the forty."""
    import numpy as np

    from perturbo.search.bo import BOPlanner
    from perturbo.space import Float, SearchSpace
    from perturbo.types import ExperimentSpec, Observation, Outcome, Status

    space = SearchSpace([Float("a", 0, 1), Float("b", 0, 1)])
    pl = BOPlanner(space, "t", seed=0, baseline_cap=16)
    rng = np.random.default_rng(0)
    obs = []
    for i in range(60):
        p = {"a": float(rng.random()), "b": float(rng.random())}
        v = 1.0 if i < 40 else float(rng.random()) * 0.5
        obs.append(Observation(ExperimentSpec(p, "t"), Outcome(Status.COMPLETED, {"value": v})))
    pl.tell(obs)
    X = torch.as_tensor(pl._told.X, dtype=torch.double)
    model = pl._fit(X, pl._train_y(len(X)))
    assert len(pl._acquisition(model, X, None, None).X_baseline) == 16
    pl.baseline_cap = None
    assert len(pl._acquisition(model, X, None, None).X_baseline) > 16
