"""The masked-gradient check a campaign runs before its first trial.

AutoAttack reports a robust accuracy whatever the gradients look like; a model whose
logits saturate (scaled by 1e4, a hard softmax), or whose preprocessing is not
differentiable, gives the cross-entropy loss a zero or non-finite gradient almost
everywhere, and every CE-gradient attack then finds nothing: robustness by masking, not by
design. :func:`masked_gradients` measures the share of samples where that happens (one
forward and one backward per sample checked, at the clean inputs); :func:`warn_if_masked`
says so at the start and steers to what still works: scale-invariant losses (DLR: apgd-dlr,
apgd-t, pgd with ``loss dlr``) and the gradient-free Square attack, and warns when
``--methods`` keeps only attacks that cannot work there.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

MASKED_SHARE = 0.5
"""Warn when the gradient is zero or non-finite at more than this share of samples."""
CHECKED = 100
"""Samples the check looks at (the first correctly classified ones)."""

CE_ONLY = frozenset({"apgd-ce"})
"""Attacks that only ever follow the cross-entropy gradient."""
GRADIENT_FREE = frozenset({"square", "onepixel"})


@dataclass(frozen=True)
class GradientCheck:
    checked: int
    ce_masked: int
    """Samples where the cross-entropy gradient is all zero or has a non-finite entry."""
    margin_masked: int
    """The same for the logit margin (what DLR and CW follow)."""
    passes: int
    """Forward + backward passes the check spent."""

    @property
    def ce_share(self) -> float:
        return self.ce_masked / self.checked if self.checked else 0.0

    @property
    def margin_share(self) -> float:
        return self.margin_masked / self.checked if self.checked else 0.0


def _masked(g: Any) -> Any:
    import torch

    flat = g.flatten(1)
    return ~torch.isfinite(flat).all(1) | (flat == 0).all(1)


def masked_gradients(target: Any, n: int = CHECKED) -> GradientCheck:
    """Check the gradients of ``target`` at its first ``n`` correctly classified samples."""
    import torch
    import torch.nn.functional as F

    ok = (target.clean_pred == target.y).nonzero()[:, 0][:n]
    if len(ok) == 0:
        return GradientCheck(0, 0, 0, 0)
    model = target.model
    before = model.counts() if hasattr(model, "counts") else None
    x = target.x[ok].detach().clone().requires_grad_(True)
    y = target.y[ok]
    with torch.enable_grad():
        z = model(x)
        ce = F.cross_entropy(z, y, reduction="sum")
        g_ce = torch.autograd.grad(ce, x, retain_graph=True)[0]
        other = z.masked_fill(F.one_hot(y, z.shape[1]).bool(), float("-inf")).max(1).values
        margin = (other - z.gather(1, y[:, None])[:, 0]).sum()
        g_m = torch.autograd.grad(margin, x)[0]
    spent = 0
    if before is not None:
        after = model.counts()
        spent = sum(after[k] - before[k] for k in after)
    return GradientCheck(len(ok), int(_masked(g_ce).sum()), int(_masked(g_m).sum()), int(spent))


def masked_warning(check: GradientCheck, methods: Sequence[str] | None, norm: str) -> str | None:
    """The warning for ``check`` (``None``: the gradients look usable)."""
    if check.checked == 0 or check.ce_share <= MASKED_SHARE:
        return None
    margin_too = check.margin_share > MASKED_SHARE
    text = (
        f"the loss gradient is zero or non-finite at {check.ce_masked} of {check.checked} "
        "correctly classified samples (masked or saturated logits, or non-differentiable "
        "preprocessing): gradient attacks on cross-entropy (AutoAttack's APGD-CE included) "
        "see nothing and overstate robustness; "
    )
    if margin_too:
        useful = {"square", "onepixel"}
        text += "the logit margin's gradient is masked too: use the gradient-free square attack"
    else:
        useful = {"apgd-dlr", "apgd-t", "pgd", "fgsm", "square", "cw-l2", "deepfool", "onepixel"}
        text += (
            "use scale-invariant losses (apgd-dlr, apgd-t, pgd with loss dlr) and the "
            "gradient-free square attack"
        )
    if methods:
        if not useful & set(methods):
            fix = "square" if margin_too or norm == "l0" else "apgd-dlr,square"
            text += (
                f"; --methods {','.join(methods)} keeps only attacks that cannot work here: "
                f"add {fix}"
            )
    return text


def warn_if_masked(target: Any, norm: str, methods: Sequence[str] | None) -> GradientCheck:
    """Run :func:`masked_gradients` on ``target`` and warn (one line under the CLI); l0
    campaigns (the gradient-free one-pixel attack) are not checked."""
    if norm == "l0":
        return GradientCheck(0, 0, 0, 0)
    check = masked_gradients(target)
    why = masked_warning(check, methods, norm)
    if why is not None:
        warnings.warn(why, stacklevel=2)
    return check


__all__ = [
    "CE_ONLY",
    "GRADIENT_FREE",
    "GradientCheck",
    "masked_gradients",
    "masked_warning",
    "warn_if_masked",
]
