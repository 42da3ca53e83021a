"""qLogNEHVI's baseline (``bo`` with several objectives): BoTorch's pruning, with a sort-based
Pareto mask for two objectives.

qLogNEHVI keeps, as the points its improvement is measured against, the observed points that
are Pareto-optimal in at least one of 2,048 joint posterior samples
(``prune_inferior_points_multi_objective``). BoTorch 0.18.1 finds each sample's front with
``is_non_dominated``, which at 200 points falls back to a Python loop over the points
(``_is_non_dominated_loop``): measured 0.14 s of a 0.83 s asynchronous ask of ``bo``'s Pareto
mode at 200 observations (``benchmarks/planner_time.py``'s row, cProfile), and quadratic in
the points. With two objectives the front of each sample is one sort away:
:func:`non_dominated_2d` gives the same mask (the same weak-dominance rule, duplicates of a
front point kept, as ``deduplicate=False`` does) in a few milliseconds.

:func:`pareto_baseline` is BoTorch's function with that mask: the same posterior draws (the
same random numbers, in the same order: qLogNEHVI is then told ``prune_baseline=False``), the
same reference-point rule, the same rows, so ``bo`` proposes bit for bit what it proposed
before (``tests/search/test_pareto_baseline.py``).

With three or more objectives BoTorch's loop cost ~1 CPU s of each ask at 200 observations
(2,048 samples; session 24's cProfile of ``planner_time.py``'s three-objective row, a quarter
of the ask once the rest was made quicker). :func:`non_dominated_many` gives the same mask
there, ~5x quicker, without a quadratic pass over every point: a point dominated by one of
the 16 points of largest sum in its sample is dominated; the few left are compared with each
other only (dominance is a strict partial order, so a dominated point is dominated by a
non-dominated one, and none of those is filtered out by the first step). Both steps apply
the same definition (at least as good in all, better in one), so the mask is the same,
duplicates included. A NaN in the samples goes to BoTorch's mask.
"""

from __future__ import annotations

from typing import Any

__all__ = ["non_dominated_2d", "non_dominated_many", "pareto_baseline"]


def non_dominated_2d(Y: Any) -> Any:
    """``batch x n x 2`` values (maximised) -> ``batch x n`` bool: not weakly dominated by any
    other point (another point at least as good in both and better in one); exact duplicates
    of a front point are on the front. Equal to BoTorch's ``is_non_dominated(Y,
    deduplicate=False)`` on values without NaN."""
    import torch

    n = Y.shape[-2]
    # order: the first objective descending, ties by the second descending
    by_b = torch.argsort(Y[..., 1], dim=-1, descending=True, stable=True)
    a_by_b = Y[..., 0].gather(-1, by_b)
    order = by_b.gather(-1, torch.argsort(a_by_b, dim=-1, descending=True, stable=True))
    a, b = Y[..., 0].gather(-1, order), Y[..., 1].gather(-1, order)
    # where each point's group of equal first objective starts (that group's best second)
    starts = torch.ones_like(a, dtype=torch.bool)
    starts[..., 1:] = a[..., 1:] != a[..., :-1]
    pos = torch.arange(n, device=Y.device).expand_as(order)
    start = torch.where(starts, pos, torch.zeros_like(pos)).cummax(dim=-1).values
    # the best second objective among points with a strictly better first objective
    before = torch.full_like(b, -torch.inf)
    before[..., 1:] = b.cummax(dim=-1).values[..., :-1]
    dominated = (before.gather(-1, start) >= b) | (b.gather(-1, start) > b)
    mask = torch.empty_like(dominated)
    return mask.scatter_(-1, order, ~dominated)


def _dominated_by(Y: Any, C: Any) -> Any:
    """``batch x n x m`` values and ``batch x k x m`` candidates (maximised) -> ``batch x n``:
    dominated by one of the candidates (at least as good in all, better in one)."""
    at_least = (C.unsqueeze(-3) >= Y.unsqueeze(-2)).all(-1)
    better = (C.unsqueeze(-3) > Y.unsqueeze(-2)).any(-1)
    return (at_least & better).any(-1)


def non_dominated_many(Y: Any, k: int = 16, chunk: int = 256) -> Any:
    """``batch x n x m`` values (maximised, no NaN) -> ``batch x n`` bool, equal to BoTorch's
    ``is_non_dominated(Y, deduplicate=False)``: first out, the points one of the ``k`` points
    of largest sum dominates; the rest compared with each other. ``chunk`` samples at a time
    bound the memory (``chunk x n x k x m`` and ``chunk x survivors^2 x m`` booleans)."""
    import torch

    out = []
    for Yc in Y.split(chunk):
        b, n, m = Yc.shape
        top = Yc.sum(-1).topk(min(k, n), dim=-1).indices
        alive = ~_dominated_by(Yc, Yc.gather(-2, top.unsqueeze(-1).expand(-1, -1, m)))
        s = int(alive.sum(-1).max())
        # each sample's survivors first (padded with others to the most any sample kept)
        order = torch.argsort((~alive).to(torch.int8), dim=-1, stable=True)[:, :s]
        survivors = Yc.gather(-2, order.unsqueeze(-1).expand(-1, -1, m))
        # against the survivors alone: dominance is a strict partial order, so a dominated
        # point is dominated by a non-dominated one, and those all survived the first step
        keep = alive.gather(-1, order) & ~_dominated_by(survivors, survivors)
        out.append(torch.zeros(b, n, dtype=torch.bool).scatter_(-1, order, keep))
    return torch.cat(out)


def pareto_baseline(model: Any, X: Any, ref_point: Any) -> Any:
    """The rows of ``X`` that BoTorch's ``prune_inferior_points_multi_objective(model, X,
    ref_point)`` keeps (no objective, no constraints), drawing the same random numbers."""
    from botorch.acquisition.utils import _prune_inferior_shared_processing
    from botorch.utils.multi_objective.pareto import is_non_dominated

    # max_frac 1 (BoTorch's default, kept): no cap on the rows, so its ``max_points`` is unused
    _, obj_vals, infeas = _prune_inferior_shared_processing(
        model=model, X=X, is_moo=True, objective=None, constraints=None,
        num_samples=2048, max_frac=1.0, marginalize_dim=None,
    )  # fmt: skip
    if infeas.any():
        obj_vals[infeas] = ref_point
    if obj_vals.isnan().any():
        front = is_non_dominated(obj_vals, deduplicate=False)
    elif obj_vals.shape[-1] == 2:
        front = non_dominated_2d(obj_vals)
    else:
        front = non_dominated_many(obj_vals)
    probs = (front & (obj_vals > ref_point).all(dim=-1)).to(dtype=X.dtype).mean(dim=0)
    idcs = probs.nonzero().view(-1)
    effective_n_w = obj_vals.shape[-2] // X.shape[-2]
    return X[(idcs / effective_n_w).long().unique()]
