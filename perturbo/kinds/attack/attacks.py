"""One entry point for every attack: ``run_attack(target, params, eps, norm, idx, seed)``.

``params`` are an attack config as the campaign's space validates it (``method`` and its
conditional parameters, see :mod:`perturbo.kinds.attack.space`). Which implementation runs:

==============  ======================================  ================================
method          implementation                          parameters
==============  ======================================  ================================
fgsm            ours (:mod:`.pgd`)                      loss
pgd             ours, batched, early stop               steps, step_rel, restarts, loss
apgd-ce         pyautoattack APGD (CE)                  steps, restarts
apgd-dlr        pyautoattack APGD (DLR)                 steps, restarts
apgd-t          pyautoattack APGD-T (targeted DLR)      steps, targets
square          pyautoattack Square (black box)         queries, p_init
cw-l2           ART Carlini-Wagner L2                   steps, confidence
deepfool        ART DeepFool                            steps
onepixel        ours, perturbo's DE (:mod:`.onepixel`)  popsize, iters (eps = pixels)
==============  ======================================  ================================
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

METHODS = (
    "fgsm",
    "pgd",
    "apgd-ce",
    "apgd-dlr",
    "apgd-t",
    "square",
    "cw-l2",
    "deepfool",
    "onepixel",
)
CHUNK = 25
"""Samples per library-attack call under a pass limit (what a budget stop can lose)."""
METHODS_BY_NORM: dict[str, tuple[str, ...]] = {
    "linf": ("fgsm", "pgd", "apgd-ce", "apgd-dlr", "apgd-t", "square"),
    "l2": ("fgsm", "pgd", "apgd-ce", "apgd-dlr", "apgd-t", "square", "cw-l2", "deepfool"),
    "l0": ("onepixel",),
}


def run_attack(
    target: Any,
    params: Mapping[str, Any],
    *,
    eps: float,
    norm: str,
    idx: torch.Tensor,
    seed: int = 0,
) -> torch.Tensor:
    """Adversarial examples for the samples ``idx`` of ``target`` (``(m, *shape)``).

    Under a pass limit on the model (:attr:`CountingModel.limit`, a campaign's
    ``--max-passes``) the attack stops cleanly when the next forward would cross it: our
    PGD/FGSM per step (every sample fooled so far kept), the library attacks per chunk of
    :data:`CHUNK` samples (the chunks done kept, the rest returned unperturbed)."""
    from perturbo.kinds.attack.model import BudgetSpent

    x, y = target.x[idx], target.y[idx]
    method = str(params["method"])
    if getattr(target.model, "limit", None) is None or method in ("fgsm", "pgd"):
        return _dispatch(target, params, x, y, eps=eps, norm=norm, seed=seed)
    out = x.clone()
    m = target.model
    for i in range(0, len(x), CHUNK):
        left = m.limit - m.forward_passes - m.backward_passes
        fitted = fit_steps(params, left, len(x[i : i + CHUNK]))
        if fitted is not params:
            m.limit_hit = True  # the budget cut this attack short
        if fitted is None:
            break  # not even a few steps fit: the chunks attacked so far are the result
        try:
            out[i : i + CHUNK] = _dispatch(
                target, fitted, x[i : i + CHUNK], y[i : i + CHUNK], eps=eps, norm=norm, seed=seed
            )
        except BudgetSpent:
            break  # the budget is spent: the chunks attacked so far are the result
    return out


MIN_STEPS = 5


def fit_steps(params: Mapping[str, Any], left: float, m: int) -> Mapping[str, Any] | None:
    """``params`` with APGD's ``steps`` cut to what ``left`` passes buy on ``m`` samples
    (a shorter APGD: its step-size schedule follows its step count), ``None`` when not even
    :data:`MIN_STEPS` fit; other methods as they are (their calls stop at the limit)."""
    method = str(params["method"])
    if method not in ("apgd-ce", "apgd-dlr", "apgd-t"):
        return params
    runs = int(params.get("targets", 3)) if method == "apgd-t" else int(params.get("restarts", 1))
    per_step = 2.0 * m * max(1, runs)  # a forward and a backward per sample, per run
    overhead = 4.0 * m * max(1, runs)  # the start and the checks of each run
    steps = int((left - overhead) // per_step)
    if steps >= int(params.get("steps", 20)):
        return params
    if steps >= MIN_STEPS:
        return {**params, "steps": steps}
    if method != "apgd-t" and runs > 1:  # fewer restarts, then fewer steps
        return fit_steps({**params, "restarts": 1}, left, m)
    return None


def _dispatch(
    target: Any,
    params: Mapping[str, Any],
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    eps: float,
    norm: str,
    seed: int,
) -> torch.Tensor:
    from perturbo.kinds.attack import library as lib
    from perturbo.kinds.attack.onepixel import one_pixel
    from perturbo.kinds.attack.pgd import fgsm, pgd

    m = target.model
    lo, hi, ncls = target.lo, target.hi, target.n_classes
    method = str(params["method"])
    steps = int(params.get("steps", 20))
    if method != "onepixel" and norm not in ("linf", "l2"):
        raise ValueError(f"method {method!r} attacks linf or l2, not {norm}")
    if method == "fgsm":
        return fgsm(
            m, x, y, eps=eps, norm=norm, loss=str(params.get("loss", "ce")), lo=lo, hi=hi
        ).x_adv
    if method == "pgd":
        return pgd(
            m,
            x,
            y,
            eps=eps,
            norm=norm,
            steps=steps,
            step_size=float(params.get("step_rel", 2.5 / max(1, steps))) * eps,
            restarts=int(params.get("restarts", 1)),
            loss=str(params.get("loss", "ce")),
            lo=lo,
            hi=hi,
            seed=seed,
        ).x_adv
    if method in ("apgd-ce", "apgd-dlr"):
        if method == "apgd-dlr" and ncls < 3:
            raise ValueError("apgd-dlr needs at least 3 classes; use apgd-ce")
        return lib.apgd(
            m,
            x,
            y,
            eps=eps,
            norm=norm,
            lo=lo,
            hi=hi,
            steps=steps,
            restarts=int(params.get("restarts", 1)),
            loss="ce" if method == "apgd-ce" else "dlr",
            seed=seed,
        )
    if method == "apgd-t":
        if ncls < 4:
            raise ValueError("apgd-t needs at least 4 classes; use apgd-dlr or apgd-ce")
        return lib.apgd_t(
            m,
            x,
            y,
            eps=eps,
            norm=norm,
            lo=lo,
            hi=hi,
            steps=steps,
            targets=int(params.get("targets", 3)),
            n_classes=ncls,
            seed=seed,
        )
    if method == "square":
        return lib.square(
            m,
            x,
            y,
            eps=eps,
            norm=norm,
            lo=lo,
            hi=hi,
            queries=int(params.get("queries", 1000)),
            p_init=float(params.get("p_init", 0.3)),
            seed=seed,
        )
    if method == "cw-l2":
        return lib.cw_l2(
            m,
            x,
            y,
            lo=lo,
            hi=hi,
            steps=steps,
            confidence=float(params.get("confidence", 0.0)),
            n_classes=ncls,
        )
    if method == "deepfool":
        return lib.deepfool(m, x, y, lo=lo, hi=hi, steps=steps, n_classes=ncls)
    if method == "onepixel":
        return one_pixel(
            m,
            x,
            y,
            pixels=int(round(eps)),
            popsize=int(params.get("popsize", 100)),
            iters=int(params.get("iters", 30)),
            lo=lo,
            hi=hi,
            seed=seed,
        ).x_adv
    raise ValueError(f"unknown attack method {method!r}; use one of {', '.join(METHODS)}")


__all__ = ["CHUNK", "MIN_STEPS", "METHODS", "fit_steps", "METHODS_BY_NORM", "run_attack"]
