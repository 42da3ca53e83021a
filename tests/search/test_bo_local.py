"""Climbing the acquisition over a grid's neighbours (search/bo_local.py): it reaches the local
maxima it should, skips configs already taken, and with a real GP finds the grid's best
acquisition value where a small random candidate set does not."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from perturbo.search.bo import BOPlanner  # noqa: E402
from perturbo.search.bo_local import climb  # noqa: E402
from perturbo.space import Categorical, Int, SearchSpace  # noqa: E402
from perturbo.types import ExperimentSpec, Observation, Outcome, Status  # noqa: E402

SPACE = SearchSpace([Int("a", 0, 9), Int("b", 0, 9), Categorical("c", ["x", "y", "z"])])


class _Bowl:
    """A stand-in acquisition: higher nearer (a, b) = (7, 2) with c = 'z' (a unit-cube point
    per row, as BoTorch calls it: n x 1 x d -> n)."""

    class _Model:
        batch_shape = torch.Size([])

    model = _Model()

    def __call__(self, X):
        x = X[..., 0, :]
        return -((x[:, 0] - 7 / 9) ** 2) - (x[:, 1] - 2 / 9) ** 2 - 0.5 * (x[:, 2] != 1.0)


def test_the_climb_reaches_the_top_and_skips_what_is_taken() -> None:
    starts = [{"a": 0, "b": 9, "c": "x"}, {"a": 1, "b": 8, "c": "y"}]
    path = climb(_Bowl(), SPACE, starts, set())
    assert {"a": 7, "b": 2, "c": "z"} in path
    taken = {SPACE.key({"a": 7, "b": 2, "c": "z"})}
    path = climb(_Bowl(), SPACE, starts, taken)
    assert SPACE.key({"a": 7, "b": 2, "c": "z"}) not in {SPACE.key(c) for c in path}
    assert {"a": 7, "b": 3, "c": "z"} in path or {"a": 6, "b": 2, "c": "z"} in path


def _ask(local: bool):
    """One ask of `bo` on a 40x40x3 grid (4,800 configs) past a max_grid of 100, with 30
    random candidates: the acquisition function it optimised, the candidates it scored and
    what it proposed."""
    import perturbo.search.bo_discrete as bd

    space = SearchSpace([Int("a", 0, 39), Int("b", 0, 39), Categorical("c", ["x", "y", "z"])])
    f = lambda p: -((p["a"] - 31) ** 2 + (p["b"] - 9) ** 2) / 400 + (p["c"] == "z")  # noqa: E731
    pl = BOPlanner(space, "t", 0, max_grid=100, n_random=30, n_top=1, local_search=local)
    rng = np.random.default_rng(0)
    hist = [
        Observation(ExperimentSpec(c, "t"), Outcome(Status.COMPLETED, {"value": f(c)}))
        for c in space.sample(rng, 24, set())
    ]
    pl.tell(hist)
    seen, real = {}, bd.greedy_batch
    bd.greedy_batch = lambda acq, X, q: seen.update(acq=acq, X=X) or real(acq, X, q)
    try:
        pl.ask(1, [])
    finally:
        bd.greedy_batch = real
    acq = seen["acq"]
    if isinstance(acq.model, bd.CandidateSetPosterior):  # greedy_batch's cache: rows it holds
        acq.model = acq.model.model
    G = torch.as_tensor(space.encode_many(space.grid()), dtype=torch.double)
    with torch.no_grad():
        best_grid = float(acq(G.unsqueeze(-2)).max())
        best_set = float(acq(seen["X"].unsqueeze(-2)).max())
    return best_set, best_grid


def test_bo_with_the_climb_finds_the_grids_best_acquisition_value() -> None:
    without, grid = _ask(local=False)
    with_climb, grid2 = _ask(local=True)
    assert grid == pytest.approx(grid2)  # the same model and acquisition
    assert without < grid - 0.05  # 30 random candidates miss the grid's best
    assert with_climb > grid - 0.01  # the climb closes it (to 0 on this grid, here)
