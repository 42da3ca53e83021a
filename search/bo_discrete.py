"""The GP posterior over a finite candidate set, computed once per proposal.

On a finite candidate set ``bo`` picks a batch with BoTorch's ``optimize_acqf_discrete``:
q greedy passes, each scoring every candidate with ``qLogNoisyExpectedImprovement`` (or, with
several objectives, ``qLogNoisyExpectedHypervolumeImprovement``). Each
score asks the model for the joint posterior over (baseline, pending, candidate), and
GPyTorch computes it from scratch: a solve against the 200 training points for every one of
the ~100 baseline points, per candidate (BoTorch's own TODO, "implement more efficient way to
compute posterior over both training and test points", cornellius-gp/gpytorch#567). At 200
observations on hpobench-australian that was ~75% of the proposal time (profiled: one pass
over 1,252 candidates with a pruned baseline of 102 points, 0.6-0.9 CPU s).

Every row those scores ask about is known before the first pass: the pruned baseline (later
passes prune within it), the pending points and the candidates. :class:`CandidateSetPosterior`
computes the joint posterior over all of them once (one mean vector, one covariance matrix)
and answers each score's posterior by indexing into it: the same mean and covariance, to
rounding, so the same scores and picks (``tests/search/test_bo_discrete.py`` checks both
against the model's own posterior). Rows it was not given fall through to the model.
Hand-written because neither library offers it: GPyTorch's ``fast_pred_var`` (LOVE) is an
approximation, and changes the scores.
"""

from __future__ import annotations

from typing import Any

from botorch.models.gpytorch import GPyTorchModel
from botorch.posteriors.gpytorch import GPyTorchPosterior
from gpytorch.distributions import MultitaskMultivariateNormal, MultivariateNormal
from linear_operator.operators import BlockDiagLinearOperator, DenseLinearOperator

__all__ = ["MAX_ROWS", "CandidateSetPosterior", "cached_candidate_posterior", "greedy_batch"]

# the joint covariance is rows^2 doubles per output (~290 MB for one output at 6,000 rows): a
# grid of max_grid=4,096 configs, a pruned baseline and pending points fit; past the same
# memory (rows^2 x outputs <= MAX_ROWS^2) the model answers every score
MAX_ROWS = 6000


class CandidateSetPosterior(GPyTorchModel):
    """A GP ``model`` whose posterior over any rows of ``points`` is read from one joint
    posterior computed here; other rows go to ``model``. One output, or several independent
    ones (a batched multi-output model, as qLogNEHVI's: its posterior is a multi-task normal
    with a block-diagonal covariance, one block per output, and so is this one's). A
    ``GPyTorchModel``, as BoTorch keeps its cached-root sampling (``cache_root``) for those
    only: as a plain ``Model`` every greedy pass after the first fell back to sampling the
    whole joint posterior per candidate, and its later picks differed from the model's."""

    def __init__(self, model: Any, points: Any) -> None:
        import torch
        from botorch.utils.low_rank import extract_batch_covar

        super().__init__()
        self.model = model
        self._m = model.num_outputs
        with torch.no_grad():
            post = model.posterior(points)
            # per output: mean m x N, covariance m x N x N
            self._mean = post.mean.detach().transpose(-1, -2)
            if self._m == 1:
                self._cov = post.distribution.covariance_matrix.detach().unsqueeze(0)
            else:  # raises BotorchError unless block-diagonal (independent outputs)
                self._cov = extract_batch_covar(post.distribution).to_dense().detach()
        self._points = points
        # rows are matched by a random projection (a float key each), then checked exactly
        gen = torch.Generator().manual_seed(0)
        self._proj = torch.rand(points.shape[-1], generator=gen, dtype=points.dtype) + 0.5
        keys = points @ self._proj
        self._keys, self._order = torch.sort(keys)

    @property
    def num_outputs(self) -> int:
        return self._m

    @property
    def batch_shape(self) -> Any:
        return self.model.batch_shape

    def _index(self, X: Any) -> Any:
        """Row indices of ``X`` (... x n x d) into ``points``, or None where any is missing."""
        import torch

        # a key may differ from its stored twin in the last bits (another summation order)
        keys = X @ self._proj - 1e-9
        pos = torch.searchsorted(self._keys, keys).clamp_(max=len(self._keys) - 1)
        idx = self._order[pos]
        if not torch.equal(self._points[idx], X):
            return None
        return idx

    def posterior(
        self,
        X: Any,
        output_indices: Any = None,
        observation_noise: Any = False,
        posterior_transform: Any = None,
        **kwargs: Any,
    ) -> Any:
        idx = None
        if output_indices is None and observation_noise is False and posterior_transform is None:
            idx = self._index(X)
        if idx is None:
            return self.model.posterior(
                X,
                output_indices=output_indices,
                observation_noise=observation_noise,
                posterior_transform=posterior_transform,
                **kwargs,
            )
        mean = self._mean[:, idx]  # m x ... x n
        cov = self._cov[:, idx.unsqueeze(-1), idx.unsqueeze(-2)]  # m x ... x n x n
        # a LinearOperator: a plain tensor would make torch factor it here, and fail where
        # GPyTorch (and BoTorch's cached-root sampler) add jitter
        if self._m == 1:
            return GPyTorchPosterior(MultivariateNormal(mean[0], DenseLinearOperator(cov[0])))
        # as the model's (after its outcome transform): not interleaved, block-diagonal
        blocks = BlockDiagLinearOperator(DenseLinearOperator(cov.movedim(0, -3)))
        mtmvn = MultitaskMultivariateNormal(mean.movedim(0, -1), blocks, interleaved=False)
        return GPyTorchPosterior(mtmvn)


def cached_candidate_posterior(acq: Any, choices: Any) -> Any:
    """Point ``acq`` (an MC acquisition with a pruned baseline: qLogNEI, qLogNEHVI) at a
    :class:`CandidateSetPosterior` over its baseline, its pending points and ``choices`` (in
    the model's input space, untransformed); returns ``acq``. Later passes prune within
    that baseline and add picks from ``choices``, so every row they ask about is there.
    A batched model, outputs that are not independent, or a covariance past
    :data:`MAX_ROWS`'s memory: ``acq`` as it is."""
    import torch
    from botorch.exceptions import BotorchError

    model = acq.model
    if len(model.batch_shape) or not hasattr(acq, "X_baseline"):
        return acq
    parts = [acq.X_baseline, choices]
    if acq.X_pending is not None:
        parts.append(acq.X_pending)
    pts = torch.unique(torch.cat(parts), dim=0)
    if len(pts) ** 2 * model.num_outputs > MAX_ROWS**2:
        return acq
    try:
        acq.model = CandidateSetPosterior(model, pts)
    except BotorchError:  # a multi-task covariance that is not block-diagonal
        return acq
    return acq


def greedy_batch(acq: Any, choices: Any, q: int) -> Any:
    """``q`` distinct rows of ``choices`` picked by BoTorch's greedy sequential
    ``optimize_acqf_discrete``, on the cached posterior."""
    from botorch.optim import optimize_acqf_discrete

    acq = cached_candidate_posterior(acq, choices)
    return optimize_acqf_discrete(acq, q=q, choices=choices, max_batch_size=512, unique=True)[0]
