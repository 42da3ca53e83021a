"""The GP ``bo`` fits each round (:class:`~perturbo.search.bo.BOPlanner`'s model).

- No unordered categoricals: BoTorch's ``SingleTaskGP`` (its default kernel and
  dimension-scaled lengthscale prior) on the unit-cube encoding.
- Unordered categoricals, ``cat_kernel="mixed"`` (the default): BoTorch's
  ``MixedSingleTaskGP`` (a categorical kernel summed with, and multiplied by, the numeric
  one), its categorical lengthscales given a prior
  (:func:`~perturbo.search.bo_kernels.add_categorical_lengthscale_prior`).
- ``cat_kernel="matern"`` / ``"matern-optuna"`` (opt-in): a ``SingleTaskGP`` with Optuna
  GPSampler's kernel, one Matern-5/2 over numeric and categorical (mismatch) distances
  (:func:`~perturbo.search.bo_kernels.mismatch_matern`), under BoTorch's lengthscale prior or
  GPSampler's; measured in docs/findings/categorical-bo.md.

Either way: an input ``Normalize`` over the numeric columns (optionally warped), an outcome
``Standardize``, optionally Optuna's low noise floor, and hyperparameters fitted by maximum
(a posteriori) marginal likelihood with at most ``fit_maxiter`` L-BFGS iterations.
"""

from __future__ import annotations

from typing import Any

from perturbo.search import bo_transforms
from perturbo.space import SearchSpace

__all__ = ["fit_gp", "torch_unit_bounds"]


def torch_unit_bounds(d: int) -> Any:
    """The unit cube's bounds in ``d`` dimensions (2 x d, double)."""
    import torch

    return torch.stack([torch.zeros(d, dtype=torch.double), torch.ones(d, dtype=torch.double)])


def fit_gp(
    space: SearchSpace,
    X: Any,
    Y: Any,
    *,
    cat_prior: float | None,
    cat_kernel: str = "mixed",
    noise: str = "botorch",
    input_warp: bool = False,
    fit_maxiter: int = 50,
    hyper: dict[str, Any] | None = None,
) -> Any:
    """A fitted GP on ``X`` (n x d, unit-cube encoding of ``space``) and ``Y`` (n x m); with
    ``hyper`` (:func:`~perturbo.search.gp_refit.hyperparameters` of an earlier fit of the
    same settings) the same GP with those hyperparameters, not fitted."""
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import MixedSingleTaskGP, SingleTaskGP
    from botorch.models.transforms import Normalize, Standardize
    from gpytorch.mlls import ExactMarginalLogLikelihood

    d, m = X.shape[-1], Y.shape[-1]
    cat = list(space.cat_dims)
    cont = [i for i in range(d) if i not in cat]
    bounds = torch_unit_bounds(d)
    tf = Normalize(d=d, bounds=bounds, indices=cont) if cont else None
    if input_warp and cont:
        tf = bo_transforms.input_warp(d, cont, tf)
    out_tf = Standardize(m=m)
    if cat and cat_kernel.startswith("matern"):
        from perturbo.search.bo_kernels import mismatch_matern

        prior = "optuna" if cat_kernel == "matern-optuna" else "botorch"
        kernel = mismatch_matern(d, cat, prior)
        model = SingleTaskGP(
            X, Y, covar_module=kernel, input_transform=tf, outcome_transform=out_tf
        )
    elif cat:
        model = MixedSingleTaskGP(X, Y, cat_dims=cat, input_transform=tf, outcome_transform=out_tf)
        if cat_prior is not None:
            from perturbo.search.bo_kernels import add_categorical_lengthscale_prior

            add_categorical_lengthscale_prior(model, cat_prior)
    else:
        model = SingleTaskGP(X, Y, input_transform=tf, outcome_transform=out_tf)
    if noise == "low":
        bo_transforms.low_noise(model)
    if hyper is not None:
        from perturbo.search.gp_refit import load

        return load(model, hyper)
    mll = ExactMarginalLogLikelihood(model.likelihood, model)
    fit_gpytorch_mll(mll, optimizer_kwargs={"options": {"maxiter": fit_maxiter}})
    return model
