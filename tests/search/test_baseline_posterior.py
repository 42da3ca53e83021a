"""The joint posterior over (baseline, candidates) with the baseline's terms cached
(search/baseline_posterior.py): the same distribution as GPyTorch's, the same acquisition
values and gradients, and ``bo``'s Pareto mode proposing the same points with it."""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from botorch.utils.low_rank import extract_batch_covar  # noqa: E402
from gpytorch.distributions import MultitaskMultivariateNormal  # noqa: E402

import perturbo.search.bo as bo  # noqa: E402
from perturbo.search import fast_boxes  # noqa: E402
from perturbo.search.baseline_posterior import cached_baseline  # noqa: E402
from perturbo.search.bo_model import fit_gp  # noqa: E402
from perturbo.space import Categorical, Float, Int, SearchSpace  # noqa: E402
from perturbo.types import ExperimentSpec, Observation, Outcome, Status  # noqa: E402


def _space(mixed: bool) -> SearchSpace:
    if mixed:
        return SearchSpace([Float("a", 0, 1), Int("b", 0, 8), Categorical("c", ["u", "v", "w"])])
    return SearchSpace([Float("a", 0, 1), Float("b", 0, 8)])


def _model(space: SearchSpace, m: int) -> Any:
    g = torch.Generator().manual_seed(0)
    X = torch.as_tensor(space.encode_many(space.sample(np.random.default_rng(0), 30, set())))
    Y = torch.stack([torch.sin(3 * X[:, 0] + k) + X[:, 1] * k for k in range(m)], -1)
    Y = Y + 0.05 * torch.randn(Y.shape, generator=g, dtype=Y.dtype)
    return fit_gp(space, X.double(), Y.double(), cat_prior=None, fit_maxiter=20), X.double()


def _rows(posterior: Any, q: int) -> Any:
    d = posterior.distribution
    c = (
        extract_batch_covar(d)
        if isinstance(d, MultitaskMultivariateNormal)
        else d.lazy_covariance_matrix
    )
    return c[..., -q:, :].to_dense()


@pytest.mark.parametrize("m", [1, 3], ids=["one-output", "three-outputs"])
@pytest.mark.parametrize("mixed", [False, True], ids=["continuous", "mixed"])
def test_the_same_joint_distribution_and_gradients(m: int, mixed: bool) -> None:
    space = _space(mixed)
    model, X = _model(space, m)
    B = X[:7]
    rows = space.encode_many(space.sample(np.random.default_rng(1), 10, set()))
    Xq = torch.as_tensor(rows, dtype=torch.double).view(5, 2, -1).requires_grad_(True)
    full = torch.cat([B.expand(5, *B.shape), Xq], dim=-2)
    ref = model.posterior(full)
    g_ref = torch.autograd.grad(ref.mean[..., -2:, :].sum() + _rows(ref, 2).sum(), Xq)[0]
    with cached_baseline(model):
        model.posterior(B)  # as BoTorch's acquisitions do when they cache their baseline
        new = model.posterior(full)
        assert new.mean.shape == ref.mean.shape
        g_new = torch.autograd.grad(new.mean[..., -2:, :].sum() + _rows(new, 2).sum(), Xq)[0]
    assert "posterior" not in vars(model)  # the model's own method again
    scale = ref.mean.abs().max()
    assert (new.mean - ref.mean).abs().max() <= 1e-9 * scale
    assert (_rows(new, 2) - _rows(ref, 2)).abs().max() <= 1e-9 * _rows(ref, 2).abs().max()
    assert (
        new.distribution.covariance_matrix - ref.distribution.covariance_matrix
    ).abs().max() <= 1e-6
    assert torch.allclose(g_new, g_ref, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("m", [1, 3])
def test_a_candidate_on_a_baseline_point_is_no_error(m: int) -> None:
    """The joint covariance is then singular: GPyTorch's lazy one is never factorised whole
    (BoTorch's cached Cholesky adds jitter to the candidate's block); a dense one given to
    torch's MultivariateNormal was, and the ask fell back to Sobol points (seen in
    ``tests/kinds/test_multi_objective.py``'s qLogNParEGO campaign)."""
    space = _space(False)
    model, X = _model(space, m)
    B = X[:6]
    full = torch.cat([B.expand(4, *B.shape), B[:4].unsqueeze(1)], dim=-2)  # each on a point
    ref = model.posterior(full)
    with cached_baseline(model):
        model.posterior(B)
        new = model.posterior(full)
    assert (new.mean - ref.mean).abs().max() <= 1e-9 * ref.mean.abs().max()
    assert (_rows(new, 1) - _rows(ref, 1)).abs().max() <= 1e-9 * _rows(ref, 1).abs().max()


def test_a_prefix_that_is_no_baseline_goes_to_the_model() -> None:
    space = _space(False)
    model, X = _model(space, 2)
    seen: list[str] = []
    with cached_baseline(model):
        own = model.posterior
        joint = own._joint
        own._joint = lambda i, Z: (seen.append("joint"), joint(i, Z))[1]
        model.posterior(X[:5])
        model.posterior(torch.cat([X[5:10].expand(3, 5, 2), torch.rand(3, 1, 2).double()], -2))
        assert seen == []  # other rows in front: GPyTorch's own path
        model.posterior(torch.cat([X[:5].expand(3, 5, 2), torch.rand(3, 1, 2).double()], -2))
        assert seen == ["joint"]
        model.posterior(torch.cat([X[:5].expand(3, 5, 2), torch.rand(3, 1, 2).double()], -2),
                        observation_noise=True)  # fmt: skip
        assert seen == ["joint"]


NAMES = ("f1", "f2", "f3")


def _f(p: dict[str, Any]) -> dict[str, float]:
    x = np.array([p["a"], p["b"] / 8, {"u": 0.1, "v": 0.7, "w": 0.4}[p["c"]]])
    return {"f1": float(np.sum((x - 0.2) ** 2)), "f2": float(np.sum((x - 0.8) ** 2)),
            "f3": float(abs(x[0] - x[1]) + x[2])}  # fmt: skip


def _asks(mo_acq: str) -> list[dict[str, Any]]:
    space = _space(True)
    pl = bo.BOPlanner(space, "toy", 3, objective=NAMES, direction="min", mo_acq=mo_acq,
                      num_restarts=2, raw_samples=32)  # fmt: skip
    rng = np.random.default_rng(0)
    told = [
        Observation(ExperimentSpec(c, "toy", id=f"t{i}"), Outcome(Status.COMPLETED, _f(c)))
        for i, c in enumerate(space.sample(rng, 16, set()))
    ]
    pl.tell(told)
    pending = [ExperimentSpec(c, "toy") for c in space.sample(rng, 2, set())]
    return [dict(s.params) for s in pl.ask(3, pending)]


def _close(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> bool:
    return all(
        x.keys() == y.keys()
        and all(
            x[k] == y[k] if not isinstance(x[k], float) else abs(x[k] - y[k]) <= 1e-6 for k in x
        )  # fmt: skip
        for x, y in zip(a, b, strict=True)
    )


@pytest.mark.parametrize("mo_acq", ["nehvi", "parego"])
def test_bo_pareto_mode_proposes_the_same_points(
    monkeypatch: pytest.MonkeyPatch, mo_acq: str
) -> None:
    used: list[int] = []
    real = bo.cached_baseline

    def counted(model: Any) -> Any:
        used.append(1)
        return real(model)

    monkeypatch.setattr(bo, "cached_baseline", counted)
    fast = _asks(mo_acq)
    assert len(used) == 1
    monkeypatch.setattr(bo, "cached_baseline", lambda model: contextlib.nullcontext(model))
    from botorch.acquisition.multi_objective.logei import (
        qLogNoisyExpectedHypervolumeImprovement as plain,
    )

    monkeypatch.setattr(fast_boxes, "NumpyBoxesNEHVI", plain)
    assert _close(fast, _asks(mo_acq))
