"""The multi-fidelity GP of :class:`~perturbo.search.mf_bo.MFBOPlanner`: its training targets
and its fit (or a build with hyperparameters fitted earlier, for
:class:`~perturbo.search.gp_refit.HyperparameterCache`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from perturbo.search import bo_transforms


def train_y(y: Sequence[float], winsorize: bool, warp: bool) -> Any:
    """The GP's targets (``n x 1`` double tensor) from signed values ``y`` in the order told:
    the bad tail winsorized (monotone: promotion's and the incumbent's order is kept), then
    optionally Yeo-Johnson warped."""
    import torch

    Y = np.array(y, dtype=float)[:, None]
    if winsorize:
        Y = bo_transforms.winsorize_bad_tail(Y)
    if warp:
        Y = bo_transforms.warp_outcomes(Y)
    return torch.as_tensor(Y, dtype=torch.double)


def fit_mf_gp(X: Any, Y: Any, hyper: dict[str, Any] | None = None) -> Any:
    """``SingleTaskMultiFidelityGP`` on ``X`` (the last column the fidelity) and ``Y``, its
    hyperparameters fitted by maximum marginal likelihood (50 L-BFGS iterations) or, given
    ``hyper``, loaded from an earlier fit."""
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import SingleTaskMultiFidelityGP
    from botorch.models.transforms import Standardize
    from gpytorch.mlls import ExactMarginalLogLikelihood

    from perturbo.search.gp_refit import load

    model = SingleTaskMultiFidelityGP(
        X, Y, data_fidelities=[X.shape[-1] - 1], outcome_transform=Standardize(m=1)
    )
    if hyper is not None:
        return load(model, hyper)
    mll = ExactMarginalLogLikelihood(model.likelihood, model)
    fit_gpytorch_mll(mll, optimizer_kwargs={"options": {"maxiter": 50}})
    return model


__all__ = ["fit_mf_gp", "train_y"]
