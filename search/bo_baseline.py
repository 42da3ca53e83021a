"""qLogNEI's baseline: the observed points that may still be the best, at most ``cap`` of them.

qLogNEI samples the incumbent as the best of its baseline, so every proposal's cost grows
with the baseline's size. BoTorch's ``prune_baseline`` keeps each observed point that is the
argmax in at least one of 2,048 joint posterior samples. On a task whose values move in
steps (digits-cnn: accuracy in steps of one validation image) many configs tie near the top,
the GP cannot tell them apart, and the baseline stays large: 66 of 84 points, 1.78 CPU s
for one proposal (``benchmarks/results/bo_baseline_probe.md``).

:func:`pruned_baseline` keeps BoTorch's rule and, past ``cap`` points, the ``cap`` that are
the argmax in the most samples; :func:`baseline_for` says what to hand qLogNEI. Hand-written because BoTorch's own cap
(``prune_inferior_points(max_frac=...)``, botorch 0.18.1) returns the wrong rows: it indexes
``X`` with positions in its list of unique argmaxes (``order_idcs[:max_points]``) instead of
the argmaxes themselves, i.e. the first ``cap`` rows of ``X`` whatever their values
(tests/search/test_bo_baseline.py shows it). Below the cap the rows, and the random numbers
drawn, are BoTorch's own.
"""

from __future__ import annotations

from typing import Any

BASELINE_CAP = 32


def pruned_baseline(model: Any, X: Any, cap: int | None = BASELINE_CAP) -> Any:
    """The rows of ``X`` (``n x d``) that are the argmax of ``model``'s joint posterior in
    at least one of 2,048 samples (BoTorch's ``prune_inferior_points``); past ``cap`` rows,
    the ``cap`` that are the argmax most often (ties: the earlier row)."""
    import torch
    from botorch.acquisition.utils import _prune_inferior_shared_processing

    _, obj_vals, _ = _prune_inferior_shared_processing(
        model=model,
        X=X,
        is_moo=False,
        objective=None,
        posterior_transform=None,
        constraints=None,
        num_samples=2048,
        max_frac=1.0,
        sampler=None,
        marginalize_dim=None,
    )
    idcs, counts = torch.unique(torch.argmax(obj_vals, dim=-1), return_counts=True)
    if cap is not None and len(idcs) > cap:
        order = torch.sort(counts, stable=True, descending=True).indices
        idcs = torch.sort(idcs[order[:cap]]).values
    return X[idcs]


def baseline_for(model: Any, X: Any, cap: int | None = BASELINE_CAP) -> tuple[Any, bool]:
    """``(X_baseline, prune_baseline)`` for qLogNEI. Within the cap (or without one): ``X``
    and True, BoTorch prunes inside qLogNEI as it always did, so a run whose baseline never
    passes the cap proposes bit for bit what it proposed before the cap (handing qLogNEI the
    same rows pruned outside it changed proposals in the 8th digit, measured on Branin). Past
    the cap: the capped rows and False, drawn from the random stream BoTorch's pruning
    would have used."""
    import torch

    if cap is None:
        return X, True
    with torch.random.fork_rng():
        n_kept = len(pruned_baseline(model, X, None))
    if n_kept <= cap:
        return X, True
    return pruned_baseline(model, X, cap), False


__all__ = ["BASELINE_CAP", "baseline_for", "pruned_baseline"]
