"""qLogNEI's baseline: the observed points that may still be the best, at most ``cap`` of them.

qLogNEI samples the incumbent as the best of its baseline, so every proposal's cost grows
with the baseline's size. BoTorch's ``prune_baseline`` keeps each observed point that is the
argmax in at least one of 2,048 joint posterior samples. On a task whose values move in
steps (digits-cnn: accuracy in steps of one validation image) many configs tie near the top,
the GP cannot tell them apart, and the baseline stays large: 161 of 200 points, 33 CPU s
for one proposal (``benchmarks/results/bo_baseline_probe.md``).

:func:`pruned_baseline` keeps BoTorch's rule and, past ``cap`` points, the ``cap`` that are
the argmax in the most samples; :func:`baseline_for` says what to hand qLogNEI. Hand-written
because BoTorch's own cap (``prune_inferior_points(max_frac=...)``, botorch 0.18.1) returns
the wrong rows: it indexes ``X`` with positions in its list of unique argmaxes
(``order_idcs[:max_points]``) instead of the argmaxes themselves, i.e. the first ``cap`` rows
of ``X`` whatever their values (tests/search/test_bo_baseline.py shows it). Below the cap the
rows, and the random numbers drawn, are BoTorch's own.

The cap is 16 (32 in session 18): at 32, digits-cnn still took over 1 s per proposal past ~116
observations; 16 halves the optimiser's time there, and over the benchmark's 200 paired runs
at 50 evaluations it ended lower on 20 seeds, the same on 160, higher on 20
(``benchmarks/results/bo_cap_compare.md``, under a protocol fixed before the runs).
"""

from __future__ import annotations

from typing import Any

BASELINE_CAP = 16


def _best_counts(model: Any, X: Any) -> tuple[Any, Any]:
    """BoTorch's pruning samples (2,048 joint posterior draws at ``X``): the rows that are the
    argmax in at least one, ascending, and in how many each."""
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
    return torch.unique(torch.argmax(obj_vals, dim=-1), return_counts=True)


def _most_often(idcs: Any, counts: Any, cap: int) -> Any:
    """The ``cap`` of ``idcs`` with the largest ``counts`` (ties: the earlier row), ascending."""
    import torch

    order = torch.sort(counts, stable=True, descending=True).indices
    return torch.sort(idcs[order[:cap]]).values


def pruned_baseline(model: Any, X: Any, cap: int | None = BASELINE_CAP) -> Any:
    """The rows of ``X`` (``n x d``) that are the argmax of ``model``'s joint posterior in
    at least one of 2,048 samples (BoTorch's ``prune_inferior_points``); past ``cap`` rows,
    the ``cap`` that are the argmax most often (ties: the earlier row)."""
    idcs, counts = _best_counts(model, X)
    if cap is not None and len(idcs) > cap:
        idcs = _most_often(idcs, counts, cap)
    return X[idcs]


def baseline_for(model: Any, X: Any, cap: int | None = BASELINE_CAP) -> tuple[Any, bool]:
    """``(X_baseline, prune_baseline)`` for qLogNEI. Within the cap (or without one): ``X``
    and True, BoTorch prunes inside qLogNEI as it always did, so a run whose baseline never
    passes the cap proposes bit for bit what it proposed before the cap (handing qLogNEI the
    same rows pruned outside it changed proposals in the 8th digit, measured on Branin); the
    random stream is put back, so its pruning draws what this one drew. Past the cap: the
    capped rows and False, from the draws BoTorch's pruning would have made."""
    import torch

    if cap is None:
        return X, True
    state = torch.get_rng_state()
    idcs, counts = _best_counts(model, X)
    if len(idcs) <= cap:
        torch.set_rng_state(state)
        return X, True
    return X[_most_often(idcs, counts, cap)], False


__all__ = ["BASELINE_CAP", "baseline_for", "pruned_baseline"]
