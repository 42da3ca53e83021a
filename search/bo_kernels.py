"""Priors bo puts on its GP's kernels where BoTorch's defaults fall short (measured:
docs/findings/categorical-bo.md)."""

from __future__ import annotations

from typing import Any

__all__ = ["add_categorical_lengthscale_prior"]


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
