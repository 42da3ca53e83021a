"""``bo``'s Pareto-mode acquisitions: qLogNEHVI (:func:`nehvi`) and, for many objectives,
qLogNParEGO (:func:`parego_batch`; docs/findings/hyperparameter.md, session 22).

qLogNEHVI's box decompositions grow exponentially with the number of objectives (four
objectives at 200 observations: ~4 CPU s per proposal on the benchmark's Xeon in session 22,
~1.9 since session 24's same-acquisition speed-ups: search/baseline_posterior.py,
search/fast_boxes.py). qLogNParEGO
scalarises each posterior sample with an augmented Chebyshev function of random weights, so
it needs no decomposition and its cost hardly depends on the number of objectives. As in
BoTorch's multi-objective tutorial (``optimize_acqf_list``) and Knowles' ParEGO, every pick of a
batch gets its own weights, drawn uniformly from the simplex, with the earlier picks pending:
one weight for a whole batch would aim its picks at one point of the front.

qLogNEHVI is the default whatever the number of objectives: under the protocol written before
the comparison (docs/findings/hyperparameter.md, session 22; ``benchmarks/results/pareto_many.md``)
qLogNParEGO was not significantly worse on any of five three- and four-objective functions and
~3x quicker with four objectives (1.24 s per proposal at 200 observations against ~4), but over
the 1 s the rule asked for, so it is an option (``mo_acq="parego"``), not the default.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["MO_ACQS", "choose", "nehvi", "parego_batch"]

MO_ACQS = ("nehvi", "parego")


def choose(mo_acq: str, ref_point: str | Mapping[str, float]) -> str:
    """``mo_acq`` checked: ``"nehvi"`` or ``"parego"``; objective thresholds (a hypervolume
    notion) only with qLogNEHVI."""
    if mo_acq not in MO_ACQS:
        raise ValueError(f"mo_acq must be one of {', '.join(MO_ACQS)}, not {mo_acq!r}")
    if mo_acq == "parego" and isinstance(ref_point, Mapping):
        raise ValueError(
            "objective thresholds (ref_point={...}) set qLogNEHVI's reference point; "
            "qLogNParEGO has none: drop one of mo_acq='parego' and the thresholds"
        )
    return mo_acq


def nehvi(
    model: Any, X: Any, Y: Any, Xp: Any | None, sampler: Any, ref_point: Any, objective: Any
) -> Any:
    """qLogNEHVI, its reference point from the observed front's nadir (``"front"``; with three
    or more objectives capped at the 90th percentile of all observations, the ``"auto"``
    default), or (``ref_point="data"``) from every observation's worst
    (docs/findings/hyperparameter.md, sessions 20 and 23); where the user gave an objective's
    threshold, that (search/bo_reference.py)."""
    import torch
    from botorch.utils.multi_objective.hypervolume import infer_reference_point

    from perturbo.objective import pareto_mask
    from perturbo.search import fast_boxes
    from perturbo.search.bo_reference import cap_at_bulk, given_thresholds, resolved
    from perturbo.search.pareto_baseline import pareto_baseline

    rule = resolved(ref_point, Y.shape[-1]) if isinstance(ref_point, str) else "front"
    front = Y if rule == "data" else Y[torch.as_tensor(pareto_mask(Y.numpy()))]
    inferred = infer_reference_point(front)
    inferred = cap_at_bulk(inferred, Y) if rule == "capped" else inferred
    ref = given_thresholds(inferred, ref_point, objective)
    # BoTorch's pruning with a sort-based mask for 2 objectives (the same rows and draws)
    X_base = pareto_baseline(model, X, ref.to(X))
    # BoTorch's qLogNEHVI, the same boxes found by its loops in NumPy (search/fast_boxes.py)
    return fast_boxes.NumpyBoxesNEHVI(
        model,
        ref_point=ref.tolist(),
        X_baseline=X_base,
        X_pending=Xp,
        sampler=sampler,
        prune_baseline=False,
    )


def parego_batch(
    model: Any,
    X: Any,
    Xp: Any | None,
    n: int,
    mc_samples: int,
    pick: Callable[[Any, Any], Any],
) -> Any:
    """``n`` picks, each maximising qLogNParEGO under its own random weights, the pending
    points and the earlier picks as ``X_pending``. ``pick(acq, picks)`` returns one candidate
    row (1 x d) for ``acq``; ``picks`` holds the earlier ones (k x d)."""
    import torch
    from botorch.acquisition.multi_objective.parego import qLogNParEGO
    from botorch.sampling import SobolQMCNormalSampler
    from botorch.utils.sampling import sample_simplex

    m = model.num_outputs
    picks = torch.empty(0, X.shape[-1], dtype=X.dtype)
    for _ in range(n):
        weights = sample_simplex(m, dtype=X.dtype).squeeze(0)
        pending = picks if Xp is None else torch.cat([Xp, picks])
        acq = qLogNParEGO(
            model,
            X_baseline=X,
            scalarization_weights=weights,
            sampler=SobolQMCNormalSampler(sample_shape=torch.Size([mc_samples])),
            X_pending=pending if len(pending) else None,
            prune_baseline=True,
            cache_root=True,
        )
        picks = torch.cat([picks, pick(acq, picks).reshape(1, -1).to(X)])
    return picks
