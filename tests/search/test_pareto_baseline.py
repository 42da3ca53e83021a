"""search/pareto_baseline.py: the sort-based 2-objective Pareto mask and the filtered mask for
three or more are BoTorch's, and the pruned baseline is BoTorch's rows from BoTorch's random
draws."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from perturbo.search.pareto_baseline import (  # noqa: E402
    non_dominated_2d,
    non_dominated_many,
    pareto_baseline,
)


@pytest.mark.parametrize("seed", range(6))
def test_the_mask_is_botorchs_with_ties_and_duplicates(seed: int) -> None:
    from botorch.utils.multi_objective.pareto import _is_non_dominated_loop, is_non_dominated

    g = torch.Generator().manual_seed(seed)
    for n in (1, 2, 7, 40):
        ints = torch.randint(0, 4, (5, n, 2), generator=g).double()  # many ties
        floats = torch.randn(5, n, 2, generator=g, dtype=torch.double)
        dup = floats.clone()
        dup[:, n // 2] = dup[:, 0]  # an exact duplicate in every batch
        for Y in (ints, floats, dup, ints[0]):
            ours = non_dominated_2d(Y)
            assert torch.equal(ours, is_non_dominated(Y, deduplicate=False)), Y
            assert torch.equal(ours, _is_non_dominated_loop(Y, deduplicate=False)), Y


@pytest.mark.parametrize("m", [3, 4])
@pytest.mark.parametrize("seed", range(4))
def test_the_many_objective_mask_is_botorchs_with_ties_and_duplicates(m: int, seed: int) -> None:
    from botorch.utils.multi_objective.pareto import _is_non_dominated_loop, is_non_dominated

    g = torch.Generator().manual_seed(seed)
    for n in (1, 2, 7, 60):
        ints = torch.randint(0, 3, (40, n, m), generator=g).double()  # many ties
        # correlated samples of one set of points, as the posterior draws are
        floats = torch.randn(n, m, generator=g, dtype=torch.double) + 0.3 * torch.randn(
            300, n, m, generator=g, dtype=torch.double
        )
        dup = floats.clone()
        dup[:, n // 2] = dup[:, 0]  # an exact duplicate in every sample
        for Y in (ints, floats, dup):
            # k=4 and chunk=64: several chunks, and many points past the first filter
            ours = non_dominated_many(Y, k=4, chunk=64)
            assert torch.equal(ours, _is_non_dominated_loop(Y, deduplicate=False))
            assert torch.equal(ours, is_non_dominated(Y, deduplicate=False))
            assert torch.equal(non_dominated_many(Y), ours)  # the defaults


def _two_output_gp() -> tuple[object, object]:
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import SingleTaskGP
    from gpytorch.mlls import ExactMarginalLogLikelihood

    g = torch.Generator().manual_seed(0)
    X = torch.rand(60, 3, generator=g, dtype=torch.double)
    Y = torch.stack([torch.sin(5 * X[:, 0]) + X[:, 1], torch.cos(4 * X[:, 2]) - X[:, 1]], -1)
    model = SingleTaskGP(X, Y)
    fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model))
    return model, X


def test_the_baseline_is_botorchs_rows_from_the_same_draws() -> None:
    from botorch.acquisition.multi_objective.utils import prune_inferior_points_multi_objective

    model, X = _two_output_gp()
    ref = torch.tensor([-0.5, -1.5], dtype=torch.double)
    torch.manual_seed(7)
    theirs = prune_inferior_points_multi_objective(model, X, ref_point=ref)
    after_theirs = torch.get_rng_state()
    torch.manual_seed(7)
    ours = pareto_baseline(model, X, ref)
    assert torch.equal(torch.get_rng_state(), after_theirs)  # the same random numbers drawn
    assert torch.equal(ours, theirs)
    assert 1 < len(ours) < len(X)  # pruned, and not to one point: the test can tell


@pytest.mark.parametrize("rule", ["front", "data"])
def test_the_reference_point_comes_from_the_front_or_from_every_observation(rule: str) -> None:
    """``ref_point="front"``: BoTorch's rule on the observed front (its nadir less 10% of its
    range); ``"data"``: on every observation (their worst less 10% of their range)."""
    from botorch.utils.multi_objective.hypervolume import infer_reference_point

    from perturbo.objective import pareto_mask
    from perturbo.search.bo import BOPlanner
    from perturbo.space import Float, SearchSpace

    model, X = _two_output_gp()
    Y = model.train_targets.T.contiguous()  # 60 x 2, maximised; most points dominated
    space = SearchSpace([Float(f"x{i}", 0.0, 1.0) for i in range(3)])
    pl = BOPlanner(space, "t", 0, objective=("a", "b"), direction=("max", "max"), ref_point=rule)
    acq = pl._acquisition(model, X, Y, None)
    front = Y[torch.as_tensor(pareto_mask(Y.numpy()))]
    expected = infer_reference_point(front if rule == "front" else Y)
    torch.testing.assert_close(acq.ref_point, expected)
    assert not torch.allclose(infer_reference_point(front), infer_reference_point(Y))


def test_an_unknown_reference_point_rule_is_refused() -> None:
    from perturbo.search.bo import BOPlanner
    from perturbo.space import Float, SearchSpace

    with pytest.raises(ValueError, match="ref_point"):
        BOPlanner(SearchSpace([Float("x", 0.0, 1.0)]), ref_point="nadir")
