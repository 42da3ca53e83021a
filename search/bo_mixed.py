"""``bo``'s acquisition optimiser on spaces with integer or categorical columns: BoTorch's
``optimize_acqf_mixed_alternating`` (moved out of search/bo.py), with one-value columns fixed.

A categorical (or integer range) with a single value, e.g. ``optimizer: [adam]`` while a user
narrows a space, reached BoTorch's optimiser as a categorical of one value: its neighbour
sampling draws an index among zero alternatives and fails (``random_ expects 'from' to be less
than 'to'``), so every ask of ``bo`` fell back to Sobol points. Such a column is now a fixed
feature, as its value is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["optimize_mixed"]


def optimize_mixed(
    acq: Any,
    q: int,
    bounds: Any,
    discrete: Mapping[int, Sequence[float]],
    cat_dims: Sequence[int],
    num_restarts: int,
    raw_samples: int,
    options: Mapping[str, Any],
) -> Any:
    """``q`` candidates (``q x d``) maximising ``acq`` over the unit ``bounds`` (``2 x d``),
    the columns in ``discrete`` restricted to their (encoded) values, those in ``cat_dims``
    unordered."""
    from botorch.optim.optimize_mixed import optimize_acqf_mixed_alternating

    fixed = {i: float(v[0]) for i, v in discrete.items() if len(v) == 1}
    free = {i: list(v) for i, v in discrete.items() if len(v) > 1}
    cat = {i: free[i] for i in cat_dims if i in free}
    disc = {i: v for i, v in free.items() if i not in cat}
    bounds = bounds.clone()
    # BoTorch wants a discrete column's bounds to be its values' range
    for i, v in discrete.items():
        bounds[0, i], bounds[1, i] = min(v), max(v)
    cand, _ = optimize_acqf_mixed_alternating(
        acq,
        bounds=bounds,
        discrete_dims=disc or None,
        cat_dims=cat or None,
        q=q,
        num_restarts=num_restarts,
        raw_samples=raw_samples,
        fixed_features=fixed or None,
        return_acq_values=False,
        options={**options, "initialization_strategy": "random", "batch_limit": num_restarts},
    )
    return cand
