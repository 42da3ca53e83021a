"""Hand-written batched gradient attacks on the hosted model: FGSM and PGD.

Why hand-written: ART's ``ProjectedGradientDescentPyTorch`` moves every step through numpy
and its estimator layer; on a small model on a CPU that overhead is most of the time
(``benchmarks/attack.py`` measures ours against it on the same model and batch, and
``tests/kinds/attack`` checks both reach the same robust accuracy on the same inputs).

Shapes: ``x`` ``(n, *input_shape)`` in ``[lo, hi]``; ``y`` ``(n,)`` int labels.

PGD (Madry et al. 2018): random start in the eps-ball, ``steps`` ascent steps of size
``step_size`` (sign of the gradient for Linf, the normalised gradient for L2), projection
onto the ball and the valid range after each, ``restarts`` fresh starts for the samples
still not fooled. Losses: ``ce`` (cross entropy), ``cw`` (the margin
``max_{j != y} z_j - z_y``, Carlini & Wagner) and ``dlr`` (Croce & Hein 2020, the margin
over ``z_pi1 - z_pi3``; needs >= 3 classes). ``early_stop``: a sample leaves the batch as
soon as a forward pass shows it fooled (its adversarial example is kept), which is what
makes a robust-accuracy evaluation cheap; ``False`` runs every sample for every step (the
fixed-work setting of the speed bar).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from perturbo.kinds.attack.model import BudgetSpent

LOSSES = ("ce", "cw", "dlr")


@dataclass
class AttackResult:
    x_adv: torch.Tensor
    fooled: torch.Tensor  # (n,) bool: a forward pass saw the sample misclassified


def _other_max(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    mask = F.one_hot(y, z.shape[1]).bool()
    return z.masked_fill(mask, float("-inf")).max(1).values


def attack_loss(z: torch.Tensor, y: torch.Tensor, loss: str) -> torch.Tensor:
    """Per-sample loss to *maximise*, shape ``(n,)``."""
    zy = z.gather(1, y[:, None])[:, 0]
    if loss == "ce":
        return F.cross_entropy(z, y, reduction="none")
    if loss == "cw":
        return _other_max(z, y) - zy
    if loss == "dlr":
        if z.shape[1] < 3:
            raise ValueError("the DLR loss needs at least 3 classes; use loss ce or cw")
        zs = z.sort(1).values
        return (_other_max(z, y) - zy) / (zs[:, -1] - zs[:, -3] + 1e-12)
    raise ValueError(f"unknown loss {loss!r}; use one of {', '.join(LOSSES)}")


def _flat_norm(t: torch.Tensor) -> torch.Tensor:
    return t.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, *([1] * (t.dim() - 1)))


def project(
    x: torch.Tensor, x_adv: torch.Tensor, eps: float, norm: str, lo: float, hi: float
) -> torch.Tensor:
    """``x_adv`` moved into the ``norm`` eps-ball around ``x`` and the range ``[lo, hi]``."""
    d = x_adv - x
    if norm == "linf":
        d = d.clamp(-eps, eps)
    elif norm == "l2":
        d = d * (eps / _flat_norm(d)).clamp(max=1.0)
    return (x + d).clamp(lo, hi)


def _random_start(x: torch.Tensor, eps: float, norm: str, gen: torch.Generator) -> torch.Tensor:
    if norm == "linf":
        return (torch.rand(x.shape, generator=gen, device="cpu").to(x) * 2 - 1) * eps
    d = torch.randn(x.shape, generator=gen, device="cpu").to(x)
    r = torch.rand((x.shape[0],), generator=gen, device="cpu").to(x)
    return d / _flat_norm(d) * eps * r.view(-1, *([1] * (x.dim() - 1)))


def pgd(
    model: torch.nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    eps: float,
    norm: str = "linf",
    steps: int = 20,
    step_size: float | None = None,
    restarts: int = 1,
    loss: str = "ce",
    lo: float = 0.0,
    hi: float = 1.0,
    random_start: bool = True,
    early_stop: bool = True,
    seed: int = 0,
) -> AttackResult:
    """PGD (see the module docstring); ``step_size`` defaults to ``2.5 eps / steps``."""
    if norm not in ("linf", "l2"):
        raise ValueError(f"PGD norm {norm!r}: use linf or l2")
    alpha = float(step_size if step_size is not None else 2.5 * eps / max(1, steps))
    gen = torch.Generator().manual_seed(int(seed))
    x = x.detach()
    best = x.clone()
    fooled = torch.zeros(len(x), dtype=torch.bool, device=x.device)
    try:
        _pgd_loop(
            model, x, y, best, fooled, eps, norm, steps, alpha, restarts, loss, lo, hi,
            random_start, early_stop, gen,
        )  # fmt: skip
    except BudgetSpent:
        pass  # the model's pass limit: keep what was found (fooled so far), stop cleanly
    return AttackResult(best, fooled)


def _pgd_loop(
    model: torch.nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    best: torch.Tensor,
    fooled: torch.Tensor,
    eps: float,
    norm: str,
    steps: int,
    alpha: float,
    restarts: int,
    loss: str,
    lo: float,
    hi: float,
    random_start: bool,
    early_stop: bool,
    gen: torch.Generator,
) -> None:
    """PGD's restarts and steps, writing into ``best`` and ``fooled`` as it goes (so a
    :class:`BudgetSpent` mid-way leaves every sample fooled so far in ``best``)."""
    for _ in range(max(1, restarts)):
        todo = (~fooled).nonzero()[:, 0]
        if len(todo) == 0:
            break
        x0, y0 = x[todo], y[todo]
        xa = x0 + _random_start(x0, eps, norm, gen) if random_start else x0.clone()
        xa = project(x0, xa, eps, norm, lo, hi)
        live = torch.arange(len(todo), device=x.device)  # rows of x0 still attacked
        for step in range(steps + 1):
            xl = xa[live].requires_grad_(step < steps)
            with torch.set_grad_enabled(step < steps):
                z = model(xl)
            wrong = z.argmax(1) != y0[live]
            if wrong.any():
                hit = live[wrong]
                best[todo[hit]] = xl.detach()[wrong]
                fooled[todo[hit]] = True
            if step == steps:
                break
            if early_stop:
                keep = ~wrong
                if not keep.any():
                    break
            else:
                keep = torch.ones_like(wrong)
            g = torch.autograd.grad(attack_loss(z, y0[live], loss).sum(), xl)[0]
            g, rows = g[keep], live[keep]
            with torch.no_grad():
                if norm == "linf":
                    upd = xa[rows] + alpha * g.sign()
                else:
                    upd = xa[rows] + alpha * g / _flat_norm(g)
                xa[rows] = project(x0[rows], upd, eps, norm, lo, hi)
            live = rows
        if not early_stop:  # fixed work: keep the last iterate of the samples never fooled
            miss = ~fooled[todo]
            best[todo[miss]] = xa[miss].detach()


def fgsm(
    model: torch.nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    eps: float,
    norm: str = "linf",
    loss: str = "ce",
    lo: float = 0.0,
    hi: float = 1.0,
) -> AttackResult:
    """One gradient step of size eps (Goodfellow et al. 2015; normalised gradient for L2)."""
    return pgd(
        model,
        x,
        y,
        eps=eps,
        norm=norm,
        steps=1,
        step_size=eps,
        loss=loss,
        lo=lo,
        hi=hi,
        random_start=False,
        early_stop=False,
    )


__all__ = ["LOSSES", "AttackResult", "attack_loss", "fgsm", "pgd", "project"]
