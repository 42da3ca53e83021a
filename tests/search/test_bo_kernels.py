"""Optuna GPSampler's kernel in bo (search/bo_kernels.mismatch_matern) against its formula."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from perturbo.search.bo_kernels import mismatch_matern  # noqa: E402


def _formula(a, b, ls, cat):
    sq = sum(
        float(a[i] != b[i]) / ls[i] ** 2 if i in cat else ((a[i] - b[i]) / ls[i]) ** 2
        for i in range(len(a))
    )
    r = math.sqrt(5 * sq)
    return (1 + r + 5 * sq / 3) * math.exp(-r)


def test_values_are_matern52_on_the_mismatch_distance():
    k = mismatch_matern(3, [2]).base_kernel.double()
    ls = [0.5, 0.7, 0.9]
    k.lengthscale = torch.tensor([ls], dtype=torch.double)
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(6, 3, generator=g).double(), torch.rand(5, 3, generator=g).double()
    x[:, 2] = torch.tensor([0, 0.25, 0.5, 0.25, 0.0, 1.0])
    y[:, 2] = torch.tensor([0, 0.5, 0.5, 1.0, 0.25])
    got = k(x, y).to_dense().detach()
    want = torch.tensor([[_formula(a, b, ls, {2}) for b in y.tolist()] for a in x.tolist()])
    assert torch.allclose(got, want.double(), atol=1e-6)
    # a categorical mismatch counts once, whatever the two codes' gap (0 vs 0.25 as 0 vs 1)
    assert got[0, 4] == pytest.approx(_formula(x[0].tolist(), y[4].tolist(), ls, {2}), abs=1e-6)
    assert torch.allclose(k(x, x, diag=True).detach(), torch.ones(6, dtype=torch.double))


def test_gradient_is_finite_at_distance_zero():
    k = mismatch_matern(2, [0, 1]).base_kernel.double()
    x = torch.tensor([[0.0, 0.5], [0.0, 0.5], [1.0, 0.5]], dtype=torch.double)
    k(x, x).to_dense().sum().backward()
    assert torch.isfinite(k.raw_lengthscale.grad).all()


def test_optuna_prior_is_gpsamplers_on_the_inverse_squared_lengthscale():
    k = mismatch_matern(2, [1], prior="optuna").base_kernel
    assert torch.allclose(k.lengthscale, torch.ones(1, 2))  # starts at the mode
    ls = torch.tensor([0.5, 1.0, 3.0])
    theta = ls.pow(-2)
    want = -(0.1 / theta + 0.1 * theta)  # optuna/_gp/prior.py, on theta
    assert torch.allclose(k.lengthscale_prior.log_prob(ls), want)
