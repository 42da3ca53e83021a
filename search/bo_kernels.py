"""Priors bo puts on its GP's kernels where BoTorch's defaults fall short (measured:
docs/findings/categorical-bo.md)."""

from __future__ import annotations

from typing import Any

import torch
from gpytorch.kernels import Kernel

__all__ = ["MismatchMaternKernel", "add_categorical_lengthscale_prior", "mismatch_matern"]


def add_categorical_lengthscale_prior(model: Any, loc: float = 2**0.5) -> None:
    """Give every ``CategoricalKernel`` of ``model`` a LogNormal(``loc``, sqrt 3) lengthscale
    prior (bo's default loc sqrt 2: BoTorch's own dimension-scaled prior for one dimension, as
    this kernel averages its per-dimension distances), lower bound 0.025, start at the mode.

    BoTorch 0.18's ``MixedSingleTaskGP`` fits them by plain maximum likelihood (no prior,
    bound 1e-6): measured on NAS-Bench-201 (docs/findings/categorical-bo.md), some lengthscales
    collapse to the 1e-6 bound, which makes every pair of configs that differ there
    uncorrelated, so the model cannot rank unseen configs and ``bo`` searches at random's level.
    BoTorch offers no prior for this kernel, hence this small hand-written step; loc 0 (median
    lengthscale 1) still let fits settle in an all-short mode (measured, see the findings).
    """
    from botorch.models.kernels.categorical import CategoricalKernel
    from gpytorch.constraints import GreaterThan
    from gpytorch.priors import LogNormalPrior

    for k in model.covar_module.modules():
        if isinstance(k, CategoricalKernel):
            prior = LogNormalPrior(loc=loc, scale=3**0.5)
            k.register_constraint(
                "raw_lengthscale", GreaterThan(2.5e-2, transform=None, initial_value=prior.mode)
            )
            k.register_prior(
                "lengthscale_prior",
                prior,
                lambda m: m.lengthscale,
                lambda m, v: m._set_lengthscale(v),
            )
            k.lengthscale = prior.mode


class MismatchMaternKernel(Kernel):
    """Optuna GPSampler's kernel (``optuna/_gp/gp.py``): one Matern-5/2 over the squared
    distance ``sum_numeric ((x_i - y_i) / l_i)**2 + sum_categorical [x_i != y_i] / l_i**2``
    (one ARD lengthscale per parameter); i.e. a Matern-5/2 on the one-hot embedding of the
    categorical columns. No library kernel has this distance, hence the hand-written form;
    the categorical part is accumulated one column at a time (n x m memory, not n x m x d).
    """

    has_lengthscale = True

    def __init__(self, cat_dims: list[int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cat_dims = list(cat_dims)

    def forward(self, x1: Any, x2: Any, diag: bool = False, **params: Any) -> Any:
        d = x1.shape[-1]
        num = [i for i in range(d) if i not in self.cat_dims]
        ls = self.lengthscale  # ... x 1 x d
        if diag:
            sq = torch.zeros(x1.shape[:-1], dtype=x1.dtype, device=x1.device)
        else:
            sq = torch.zeros((*x1.shape[:-1], x2.shape[-2]), dtype=x1.dtype, device=x1.device)
        if num:
            a, b = x1[..., num] / ls[..., num], x2[..., num] / ls[..., num]
            sq = sq + self.covar_dist(a, b, diag=diag, square_dist=True)
        w = ls.pow(-2)  # ... x 1 x d
        for i in self.cat_dims:
            if diag:
                sq = sq + (x1[..., i] != x2[..., i]).to(x1.dtype) * w[..., i]
            else:
                diff = x1[..., :, None, i] != x2[..., None, :, i]
                sq = sq + diff.to(x1.dtype) * w[..., i].unsqueeze(-1)
        # the 1e-30 keeps the gradient at distance 0 finite (its limit, -5/6, not 0 * inf)
        r5 = torch.sqrt(5.0 * sq.clamp_min(0.0) + 1e-30)
        return (1.0 + r5 + r5.square() / 3.0) * torch.exp(-r5)


def _optuna_lengthscale_prior() -> Any:
    """GPSampler's lengthscale prior (``optuna/_gp/prior.py``): log density
    ``-(0.1 / theta + 0.1 * theta)`` on ``theta = 1 / l**2``, i.e. ``-(0.1 l**2 + 0.1 / l**2)``
    (no Jacobian, as Optuna's MAP objective has none); mode at l = 1."""
    from gpytorch.priors import Prior
    from torch.distributions import constraints

    class OptunaLengthscalePrior(Prior):
        arg_constraints: dict[str, Any] = {}
        support = constraints.positive

        def __init__(self) -> None:
            super().__init__(validate_args=False)

        def log_prob(self, x: Any) -> Any:
            x2 = x.square()
            return -(0.1 * x2 + 0.1 / x2)

        @property
        def mode(self) -> Any:
            import torch

            return torch.tensor(1.0)

    return OptunaLengthscalePrior()


def mismatch_matern(d: int, cat_dims: list[int], prior: str = "botorch") -> Any:
    """``ScaleKernel(MismatchMaternKernel)`` over ``d`` columns, ``cat_dims`` unordered, with
    GPSampler's Gamma(2, 1) on the output scale and, per ``prior``, BoTorch's
    dimension-scaled LogNormal lengthscale prior (its ``SingleTaskGP`` default: loc
    sqrt 2 + log(d) / 2, scale sqrt 3) or GPSampler's (``"optuna"``); lower bound 0.025."""
    import math

    from gpytorch.constraints import GreaterThan
    from gpytorch.kernels import ScaleKernel
    from gpytorch.priors import GammaPrior, LogNormalPrior

    if prior == "optuna":
        ls_prior = _optuna_lengthscale_prior()
    else:
        ls_prior = LogNormalPrior(loc=2**0.5 + math.log(d) * 0.5, scale=3**0.5)
    base = MismatchMaternKernel(
        cat_dims,
        ard_num_dims=d,
        lengthscale_prior=ls_prior,
        lengthscale_constraint=GreaterThan(2.5e-2, transform=None, initial_value=ls_prior.mode),
    )
    return ScaleKernel(base, outputscale_prior=GammaPrior(2.0, 1.0))
