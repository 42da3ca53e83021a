"""``certify``: certified robust accuracy (a lower bound) by bound propagation.

A sample is **certified** at ``eps`` when the model classifies it correctly and the lower
bound of every margin ``z_y - z_j`` (``j != y``) over the perturbation set -- the ``norm``
eps-ball intersected with ``input_range`` -- is positive: no input in the set changes its
class. The certified accuracy is therefore <= the robust accuracy under *any* attack
(an attack's robust accuracy is an upper bound, this a lower bound).

Methods: ``ibp`` (intervals), ``crown`` (linear bounds, the larger of CROWN's and IBP's
per margin), ``alpha-crown`` (CROWN with its lower ReLU slopes optimised by Adam steps).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from perturbo.kinds.attack.certify.crown import crown_bounds, spec_lower_alpha, spec_lower_crown
from perturbo.kinds.attack.certify.ibp import (
    NORMS,
    domain,
    ibp_bounds,
    margin_spec,
    spec_lower_ibp,
)
from perturbo.kinds.attack.certify.layers import extract, forward, to_device, unwrap
from perturbo.kinds.attack.certify.lipschitz import lipschitz_bounds
from perturbo.types import PerturboError

METHODS = ("ibp", "crown", "alpha-crown")


@dataclass
class CertifyResult:
    """Per-sample results (numpy, ``(n,)`` unless noted) of one :func:`certify` call."""

    method: str
    norm: str
    eps: float
    certified: np.ndarray
    """bool: correct clean and every margin's lower bound > 0."""
    clean_correct: np.ndarray
    margin_lower: np.ndarray
    """``(n, n_classes)``: lower bound of ``z_y - z_j`` over the set (``+inf`` at ``j = y``)."""
    lipschitz: np.ndarray | None
    """A bound on the local Lipschitz constant of the margins over the set (max over
    ``j != y``; from the ``norm`` to the absolute value, see :mod:`.lipschitz`), or None."""
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def min_margin(self) -> np.ndarray:
        return self.margin_lower.min(1)

    @property
    def certified_accuracy(self) -> float:
        return float(self.certified.mean()) if len(self.certified) else float("nan")

    @property
    def clean_accuracy(self) -> float:
        return float(self.clean_correct.mean()) if len(self.clean_correct) else float("nan")


def _check(norm: str, method: str, eps: float, input_range: tuple[float, float]) -> None:
    if norm not in NORMS:
        raise PerturboError(f"certify: norm {norm!r} is not supported; use one of {NORMS}")
    if method not in METHODS:
        raise PerturboError(f"certify: method {method!r} is unknown; use one of {METHODS}")
    if not (eps >= 0 and np.isfinite(eps)):
        raise PerturboError(f"certify: eps {eps!r} must be a finite number >= 0")
    lo, hi = input_range
    if not lo < hi:
        raise PerturboError(f"certify: input_range {input_range!r} needs low < high")


def _chunk(
    ops: list[Any],
    x: torch.Tensor,
    y: torch.Tensor,
    eps: float,
    norm: str,
    method: str,
    rng: tuple[float, float],
    lipschitz: bool,
    alpha_steps: int,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    d = domain(x, eps, norm, *rng)
    K = ops[-1].W.shape[0]
    C = margin_spec(y, K)
    ibp = ibp_bounds(ops, d)
    lb = spec_lower_ibp(ops, ibp, C)
    bounds = ibp
    if method != "ibp":
        bounds = crown_bounds(ops, d, ibp)
        if method == "crown":
            lb = torch.maximum(lb, spec_lower_crown(ops, bounds, d, C))
        else:
            lb = torch.maximum(lb, spec_lower_alpha(ops, bounds, d, C, steps=alpha_steps))
    lb = lb.masked_fill(torch.nn.functional.one_hot(y, K).bool(), float("inf"))
    lip = None
    if lipschitz:
        L = lipschitz_bounds(ops, bounds, C, norm)
        lip = L.masked_fill(torch.nn.functional.one_hot(y, K).bool(), 0).max(1).values
    return lb, lip


@torch.no_grad()
def certify(
    model: Any,
    x: torch.Tensor,
    y: torch.Tensor,
    eps: float,
    norm: str = "linf",
    method: str = "crown",
    input_range: tuple[float, float] = (0.0, 1.0),
    *,
    lipschitz: bool = True,
    batch_size: int = 32,
    alpha_steps: int = 20,
) -> CertifyResult:
    """Certify ``model`` on ``x`` ``(n, *shape)``, ``y`` ``(n,)`` (see the module).

    ``model``: an ``nn.Sequential`` (eager or TorchScript) of the supported layers, or a
    :class:`~perturbo.kinds.attack.model.CountingModel` around one (its normalisation is
    folded in; its pass counters are not touched). Raises
    :class:`~perturbo.types.PerturboError` for an unsupported layer or argument."""
    _check(norm, method, eps, input_range)
    t0 = time.perf_counter()
    x = torch.as_tensor(x).float()
    y = torch.as_tensor(y).long().to(x.device)
    ops = to_device(extract(model, tuple(x.shape[1:])), x.device)
    net, pre = unwrap(model)
    logits = net(pre(x) if pre is not None else x)
    ours = forward(ops, x)
    gap = float((ours - logits).abs().max()) if len(x) else 0.0
    scale = float(logits.abs().max()) if len(x) else 1.0
    if not gap <= 1e-3 * max(1.0, scale):
        raise PerturboError(
            f"certify: the layers read from the model do not reproduce its logits (max "
            f"difference {gap:.3g}); certify needs an nn.Sequential of the supported layers "
            "in eval mode, applied in order"
        )
    clean_correct = logits.argmax(1) == y
    lbs, lips = [], []
    for i in range(0, len(x), batch_size):
        lb, lip = _chunk(
            ops,
            x[i : i + batch_size],
            y[i : i + batch_size],
            eps,
            norm,
            method,
            input_range,
            lipschitz,
            alpha_steps,
        )
        lbs.append(lb)
        lips.append(lip)
    K = int(logits.shape[1])
    margin = torch.cat(lbs) if lbs else torch.empty((0, K))
    certified = clean_correct & (margin > 0).all(1)
    return CertifyResult(
        method=method,
        norm=norm,
        eps=float(eps),
        certified=certified.cpu().numpy(),
        clean_correct=clean_correct.cpu().numpy(),
        margin_lower=margin.cpu().numpy(),
        lipschitz=torch.cat(lips).cpu().numpy() if lipschitz and lips else None,
        seconds=time.perf_counter() - t0,
    )


def certified_summary(
    model: Any,
    x: torch.Tensor,
    y: torch.Tensor,
    eps: float,
    norm: str,
    input_range: tuple[float, float],
    attacked_robust: np.ndarray | None = None,
) -> str:
    """One line for a campaign's end report: certified robust accuracy (IBP and CROWN) at
    ``eps``, and, given the attack's per-sample robust mask, the attacked upper bound and
    the samples in between (neither certified nor broken). A model certify cannot read
    gives a line saying why, never an exception."""
    if norm not in NORMS:
        return f"certified: n/a (bound propagation covers {', '.join(NORMS)}, not {norm})"
    try:
        ibp = certify(model, x, y, eps, norm, "ibp", input_range, lipschitz=False)
        crown = certify(model, x, y, eps, norm, "crown", input_range, lipschitz=False)
    except PerturboError as e:
        return f"certified: n/a ({e})"
    n = len(crown.certified)
    line = (
        f"certified >= {crown.certified_accuracy:.3f} (CROWN; IBP {ibp.certified_accuracy:.3f})"
        f" at {norm} eps={eps:g} on {n} samples"
    )
    if attacked_robust is not None:
        rob = np.asarray(attacked_robust, bool)
        between = int((rob & ~crown.certified).sum())
        line += f", attacked <= {rob.mean():.3f}; {between} samples in between"
        broken = int((crown.certified & ~rob).sum())
        if broken:
            line += f"; BUG: {broken} certified samples broken by the attack"
    return line + f" ({ibp.seconds + crown.seconds:.1f} s)"


__all__ = ["METHODS", "CertifyResult", "certified_summary", "certify"]
