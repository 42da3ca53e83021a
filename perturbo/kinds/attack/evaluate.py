"""The robust-accuracy definition, one place for every attack, ours or a library's.

A sample is **robust** when the model classifies it correctly clean *and* the attack's
example, moved into the threat model (the eps-ball of the norm and the valid range), is
still classified correctly (AutoAttack's definition). A sample misclassified clean is never
robust, and never counted as an attack's success. The attack's output is projected before
it is judged, so an attack that oversteps eps (CW, DeepFool, a buggy library) cannot score.

For ``l0`` (few-pixel attacks) eps is the number of pixels (spatial positions) allowed to
change; an example changing more is reset to the clean input.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def robust_mask(clean_correct: np.ndarray, adv_correct: np.ndarray) -> np.ndarray:
    """Per-sample robustness: correct clean AND correct under attack, ``(n,)`` bool."""
    return np.asarray(clean_correct, bool) & np.asarray(adv_correct, bool)


@dataclass(frozen=True)
class Assessment:
    """Per-sample results of one attack on ``n`` samples (numpy, ``(n,)`` each)."""

    clean_correct: np.ndarray
    robust: np.ndarray
    norms: np.ndarray
    """Lp norm of the perturbation (the campaign's norm; l0: pixels changed)."""
    adv_pred: np.ndarray

    @property
    def success(self) -> np.ndarray:
        return self.clean_correct & ~self.robust

    def summary(self) -> dict[str, float]:
        n = len(self.robust)
        n_clean = int(self.clean_correct.sum())
        succ = self.success
        norms = self.norms[succ]
        return {
            "clean_accuracy": n_clean / n if n else math.nan,
            "robust_accuracy": float(self.robust.sum()) / n if n else math.nan,
            "success_rate": float(succ.sum()) / n_clean if n_clean else 0.0,
            "median_norm": float(np.median(norms)) if len(norms) else 0.0,
            "mean_norm": float(np.mean(norms)) if len(norms) else 0.0,
            "n_attacked": float(n),
            "n_robust": float(self.robust.sum()),
        }


def perturbation_norms(x: object, x_adv: object, norm: str) -> np.ndarray:
    import torch

    d = (x_adv - x).flatten(1)  # type: ignore[operator]
    if norm == "linf":
        return d.abs().max(1).values.cpu().numpy()
    if norm == "l2":
        return d.norm(dim=1).cpu().numpy()
    # l0 over spatial positions: a pixel changed in any channel counts once
    dd = (x_adv - x).abs()  # type: ignore[operator]
    if dd.dim() >= 4:
        dd = dd.amax(1)
    return (dd.flatten(1) > 1e-8).sum(1).to(torch.float32).cpu().numpy()


def assess(
    model: object,
    x: object,
    y: object,
    x_adv: object,
    *,
    eps: float,
    norm: str,
    lo: float,
    hi: float,
    clean_pred: object | None = None,
) -> Assessment:
    """Judge ``x_adv`` (see the module docstring). Raises ``FloatingPointError`` where the
    model's logits or the examples are not finite (a diverged attack, a broken model)."""
    import torch

    from perturbo.kinds.attack.pgd import project

    x_adv = torch.as_tensor(x_adv).to(x)  # type: ignore[attr-defined]
    if not torch.isfinite(x_adv).all():
        raise FloatingPointError("the attack returned non-finite inputs (NaN/inf): it diverged")
    if norm in ("linf", "l2"):
        # a small tolerance: libraries project in float32 and land a hair outside the ball
        x_adv = project(x, x_adv, eps * (1 + 1e-5), norm, lo, hi)  # type: ignore[arg-type]
    else:
        x_adv = x_adv.clamp(lo, hi)
        over = perturbation_norms(x, x_adv, "l0") > eps + 1e-9
        if over.any():
            x_adv[torch.from_numpy(over)] = x[torch.from_numpy(over)]  # type: ignore[index]
    with torch.no_grad():
        if clean_pred is None:
            z = model.predict(x)  # type: ignore[attr-defined]
            if not torch.isfinite(z).all():
                raise FloatingPointError(
                    "the model's logits are not finite (NaN/inf) on clean inputs"
                )
            clean_pred = z.argmax(1)
        za = model.predict(x_adv)  # type: ignore[attr-defined]
    if not torch.isfinite(za).all():
        raise FloatingPointError("the model's logits are NaN/inf on the attack's examples")
    adv_pred = za.argmax(1)
    yy = torch.as_tensor(y)
    clean_correct = (torch.as_tensor(clean_pred).cpu() == yy.cpu()).numpy()
    adv_correct = (adv_pred.cpu() == yy.cpu()).numpy()
    robust = robust_mask(clean_correct, adv_correct)
    return Assessment(
        clean_correct, robust, perturbation_norms(x, x_adv, norm), adv_pred.cpu().numpy()
    )


__all__ = ["Assessment", "assess", "perturbation_norms", "robust_mask"]
