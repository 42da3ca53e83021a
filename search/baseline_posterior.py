"""The joint posterior over (baseline, candidates) without recomputing the baseline's part.

qLogNEI, qLogNEHVI and qLogNParEGO with ``cache_root=True`` ask the model, at every
evaluation, for the joint posterior of ``cat(X_baseline, X)`` (their baseline: the observed
points they improve on, plus the pending points) and then use only the rows of the
candidates ``X`` (BoTorch's ``sample_cached_cholesky`` reads ``covariance[..., -q:, :]`` and
``mean[..., -q:, :]``; the baseline's own block comes from a Cholesky cached once). GPyTorch
still evaluates the kernel between every baseline point and every training point, and
multiplies those rows by the ``n x n`` root of the inverse training covariance, for every
batch element of every evaluation. cProfile of ``planner_time.py``'s three-objective row (200
observations, 25-point baseline, one candidate per evaluation): ~3 of an ask's ~5.8 CPU s
in ``model.posterior``, two thirds of it on the baseline's rows.

:func:`cached_baseline` computes the baseline's terms once (mean, the kernel to the training
points times that root, and its posterior covariance) and at each evaluation only the
candidates' rows, by the same formulas GPyTorch's ``DefaultPredictionStrategy`` uses with its
own caches (``mean_cache``, ``covar_cache``). The result is the same distribution up to
floating-point rounding (~1e-13 relative; ``tests/search/test_baseline_posterior.py`` checks
means, covariances and gradients against GPyTorch's, and the Pareto mode's proposals).
Rounding is not nothing to an optimiser: L-BFGS may stop an iteration earlier or later on a
flat acquisition, and a campaign then goes on from slightly different points: a 52-evaluation
DTLZ2 run diverged after 16, and one seed of ZDT1 with a given reference point
(``tests/search/test_bo_reference.py``) ended at log10 HV regret 1.10 instead of -0.94, a
knife-edge run either way (docs/findings/hyperparameter.md, session 24). ``bo`` therefore uses
it with three or more objectives only, where the time bar needs it; with one and two
objectives its asks are under the bar without it and keep the proposals its benchmarks and
tests measured.

The baseline is recognised by value: BoTorch calls ``posterior(X_baseline)`` (no batch
dimension) when it builds or updates its cache; a later batched call whose leading rows
equal such a baseline is the joint one. Anything else (other arguments, other models, a
prefix that matches no baseline) goes to the model's own ``posterior``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["cached_baseline", "supported"]

_KEEP = 4  # baselines remembered (a pruned one, and each set of pending points added)


def supported(model: Any) -> bool:
    """An exact single-task GP (one output, or BoTorch's batched multi-output) with a linear
    outcome transform: the models ``bo`` fits (search/bo_model.py)."""
    from botorch.models.gpytorch import BatchedMultiOutputGPyTorchModel
    from botorch.models.model_list_gp_regression import ModelListGP
    from gpytorch.models import ExactGP
    from gpytorch.models.exact_prediction_strategies import DefaultPredictionStrategy

    if isinstance(model, ModelListGP) or not isinstance(model, ExactGP):
        return False
    if not isinstance(model, BatchedMultiOutputGPyTorchModel):
        return False
    tf = getattr(model, "outcome_transform", None)
    strategy = getattr(model, "prediction_strategy", None)
    return (tf is None or tf._is_linear) and (
        strategy is None or type(strategy) is DefaultPredictionStrategy
    )


@contextmanager
def cached_baseline(model: Any) -> Iterator[Any]:
    """Inside: ``model.posterior`` reuses its baseline's terms (see the module's note).
    A model :func:`supported` does not know is left as it is."""
    if not supported(model):
        yield model
        return
    own = _Baselines(model)
    model.posterior = own  # an instance attribute: shadows the method until deleted
    try:
        yield model
    finally:
        del model.posterior


class _Baselines:
    def __init__(self, model: Any) -> None:
        self.model = model
        self.original = type(model).posterior.__get__(model)
        self.known: list[tuple[Any, dict[str, Any] | None]] = []

    def __call__(self, X: Any, output_indices: Any = None, observation_noise: Any = False,
                 posterior_transform: Any = None, **kwargs: Any) -> Any:  # fmt: skip
        self.model.eval()  # as BoTorch's ``posterior`` does first
        plain = output_indices is None and posterior_transform is None and not kwargs
        plain = plain and observation_noise is False
        if plain and X.dim() == 2:
            self._remember(X)
        elif plain and X.dim() > 2:
            i = self._match(X)
            if i is not None:
                return self._joint(i, X)
        return self.original(X, output_indices=output_indices,
                             observation_noise=observation_noise,
                             posterior_transform=posterior_transform, **kwargs)  # fmt: skip

    def _remember(self, B: Any) -> None:
        if any(b.shape == B.shape and b.equal(B) for b, _ in self.known):
            return
        self.known = [(B.detach().clone(), None), *self.known][:_KEEP]

    def _match(self, X: Any) -> int | None:
        best = None
        for i, (B, _) in enumerate(self.known):
            n = B.shape[-2]
            if n < X.shape[-2] and (best is None or n > self.known[best][0].shape[-2]):
                if X[..., :n, :].eq(B).all():
                    best = i
        return best

    # -- GPyTorch's exact prediction, the baseline's terms kept -----------------------------
    def _inputs(self, X: Any) -> Any:
        """``X`` transformed as ``posterior`` does, with the output dimension inserted."""
        from botorch.models.utils import add_output_dim

        X = self.model.transform_inputs(X)
        if self.model._num_outputs > 1:
            X, _ = add_output_dim(X=X, original_batch_shape=self.model._input_batch_shape)
        return X

    def _terms(self, i: int) -> dict[str, Any]:
        import torch

        B, terms = self.known[i]
        if terms is not None:
            return terms
        model = self.model
        if model.prediction_strategy is None:
            self.original(B)  # GPyTorch builds its prediction strategy on a first call
        with torch.no_grad(), _settings():
            strategy = model.prediction_strategy
            root, mean_cache = strategy.covar_cache, strategy.mean_cache
            Bt = self._inputs(B)
            T = model.train_inputs[0]
            x2 = torch.cat([T, Bt.expand(*T.shape[:-2], *Bt.shape[-2:])], dim=-2)
            K = model.covar_module(Bt, x2).to_dense()
            K_bt, K_bb = K[..., : T.shape[-2]], K[..., T.shape[-2] :]
            R_b = K_bt @ root
            terms = {
                "Bt": Bt,
                "root": root,
                "mean_cache": mean_cache,
                "R_b": R_b,
                "mean_b": model.mean_module(Bt) + (K_bt @ mean_cache.unsqueeze(-1)).squeeze(-1),
                "cov_bb": K_bb - R_b @ R_b.transpose(-1, -2),
            }
        self.known[i] = (B, terms)
        return terms

    def _joint(self, i: int, X: Any) -> Any:
        import torch
        from botorch.posteriors.gpytorch import GPyTorchPosterior
        from gpytorch.distributions import MultitaskMultivariateNormal, MultivariateNormal
        from linear_operator.operators import DenseLinearOperator

        t = self._terms(i)
        model, n_b = self.model, self.known[i][0].shape[-2]
        Xq = self._inputs(X[..., n_b:, :])
        T = model.train_inputs[0]
        with _settings():
            batch = torch.broadcast_shapes(Xq.shape[:-2], T.shape[:-2])
            x2 = [A.expand(*batch, *A.shape[-2:]) for A in (T, t["Bt"], Xq)]
            K = model.covar_module(Xq, torch.cat(x2, dim=-2)).to_dense()
            n_t = T.shape[-2]
            K_xt, K_xb, K_xx = K[..., :n_t], K[..., n_t : n_t + n_b], K[..., n_t + n_b :]
            R_x = K_xt @ t["root"]
            mean_x = model.mean_module(Xq) + (K_xt @ t["mean_cache"].unsqueeze(-1)).squeeze(-1)
            cov_xb = K_xb - R_x @ t["R_b"].transpose(-1, -2)
            cov_xx = K_xx - R_x @ R_x.transpose(-1, -2)
            batch = cov_xx.shape[:-2]
            cov_bb = t["cov_bb"].expand(*batch, n_b, n_b)
            cov = torch.cat(
                [
                    torch.cat([cov_bb, cov_xb.transpose(-1, -2)], -1),
                    torch.cat([cov_xb, cov_xx], -1),
                ],
                dim=-2,
            )
            mean = torch.cat([t["mean_b"].expand(*batch, n_b), mean_x], dim=-1)
            # a LinearOperator, as GPyTorch's own: a plain tensor makes torch factorise it at
            # once, and a candidate on a baseline point makes the joint covariance singular
            mvn = MultivariateNormal(mean, DenseLinearOperator(cov))
            if model._num_outputs > 1:
                dim = mean.dim() - 2  # the output dimension add_output_dim inserted
                mvn = MultitaskMultivariateNormal.from_independent_mvns(
                    mvns=[
                        MultivariateNormal(
                            mean.select(dim, k), DenseLinearOperator(cov.select(dim, k))
                        )
                        for k in range(model._num_outputs)
                    ]
                )
        posterior = GPyTorchPosterior(distribution=mvn)
        if hasattr(model, "outcome_transform"):
            posterior = model.outcome_transform.untransform_posterior(posterior)
        return posterior


def _settings() -> Any:
    from botorch.models.utils import gpt_posterior_settings

    return gpt_posterior_settings()
