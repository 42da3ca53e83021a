"""Fantasy models that keep GPyTorch's fast mean cache: a work-around for GPyTorch 1.15.2.

A knowledge-gradient proposal (``mf-bo``'s qMFKG) conditions the GP on fantasy observations
at every evaluation (``model.fantasize``). GPyTorch builds the fantasy model's mean cache by a
bordered solve on the cached inverse root of the training covariance (``O(n^2 m)``), but
stores it under a key its lookup never reads (cornellius-gp/gpytorch#2669: stored without the
``observation_nan_policy`` argument the ``mean_cache`` property reads it with). So every
fantasy model recomputes its mean cache from scratch, a Cholesky factorisation of the whole
``(n + m) x (n + m)`` covariance per fantasy batch, then detaches it (``detach_test_caches``).

Measured (``benchmarks/planner_time.py``'s mixed 6-D space + epochs at 200 observations, one
torch thread): a qMFKG value and gradient on 32 x 5 points took 0.68 s, 0.05 s with the cache
kept, with the same values and gradients (to the sixth digit; both match finite differences).

Within :func:`fantasy_mean_cache` the fantasy strategy's mean cache is also stored under the
key the lookup reads (the one-line fix proposed upstream, gpytorch PR #2759). The cache is
then not recomputed, nor detached: it carries the autograd graph of the training covariance's
cached inverse root, so the model's hyperparameters are frozen (``requires_grad`` off) within,
or a second backward pass (the optimiser's next step) would run through that shared, freed
graph. Outside the context nothing changes (the patch is installed once, inert unless a
context is active in this thread or task), so other BoTorch users in the process are not
affected. When GPyTorch stores the cache under the right key itself, the re-keying finds
nothing to move and does nothing (``tests/search/test_gp_fantasy.py`` then fails on purpose:
drop this module).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any

__all__ = ["fantasy_mean_cache"]

_ACTIVE: contextvars.ContextVar[bool] = contextvars.ContextVar("fantasy_mean_cache", default=False)
_MARK = "_perturbo_rekeys_mean_cache"


def _install() -> None:
    """Wrap ``DefaultPredictionStrategy.get_fantasy_strategy`` once (inert outside the context)."""
    from gpytorch import settings
    from gpytorch.models.exact_prediction_strategies import DefaultPredictionStrategy
    from gpytorch.utils.errors import CachingError
    from gpytorch.utils.memoize import add_to_cache, get_from_cache

    original = DefaultPredictionStrategy.get_fantasy_strategy
    if getattr(original, _MARK, False):
        return

    def get_fantasy_strategy(self: Any, *args: Any, **kwargs: Any) -> Any:
        strategy = original(self, *args, **kwargs)
        if _ACTIVE.get():
            try:
                cache = get_from_cache(strategy, "mean_cache")  # where 1.15.2 stores it
            except CachingError:  # stored under the lookup's key already: nothing to move
                return strategy
            policy = settings.observation_nan_policy.value()
            add_to_cache(strategy, "mean_cache", cache, policy)  # where the lookup reads it
        return strategy

    setattr(get_fantasy_strategy, _MARK, True)
    DefaultPredictionStrategy.get_fantasy_strategy = get_fantasy_strategy


@contextlib.contextmanager
def fantasy_mean_cache(model: Any) -> Iterator[None]:
    """Fantasy models of ``model`` built within keep their bordered-solve mean cache; the
    model's parameters are frozen within (gradients w.r.t. the inputs only, as an acquisition
    optimiser takes them) and restored after."""
    _install()
    frozen = [(p, p.requires_grad) for p in model.parameters()]
    for p, _ in frozen:
        p.requires_grad_(False)
    token = _ACTIVE.set(True)
    try:
        yield
    finally:
        _ACTIVE.reset(token)
        for p, flag in frozen:
            p.requires_grad_(flag)
