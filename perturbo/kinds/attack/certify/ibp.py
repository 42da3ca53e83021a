"""The input domain and interval bound propagation (IBP, Gowal et al. 2018).

Shapes: a batch of ``B`` samples, vectors flattened: bounds are ``(B, n)``; a
*specification* ``C`` ``(B, S, n_out)`` asks for bounds on ``C f(x)`` (the margins
``z_y - z_j`` are ``C`` = one-hot(y) - one-hot(j)), folded into the last linear layer
(``C W``, ``C b``) as CROWN does, which is tighter than subtracting logit intervals.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from perturbo.kinds.attack.certify.layers import Affine, MaxPool, Op, Relu, window

NORMS = ("linf", "l2")


@dataclass
class Domain:
    """The perturbation set: the ``norm`` eps-ball around ``x0`` intersected with the
    input range ``[lo, hi]``. ``xl``, ``xu``: the box that contains it (the ball's box
    clipped to the range; exactly the set for ``linf``)."""

    x0: torch.Tensor  # (B, n)
    eps: float
    norm: str
    xl: torch.Tensor
    xu: torch.Tensor


def domain(x: torch.Tensor, eps: float, norm: str, lo: float, hi: float) -> Domain:
    x0 = x.reshape(len(x), -1).to(torch.float32)
    xl = (x0 - eps).clamp(lo, hi)
    xu = (x0 + eps).clamp(lo, hi)
    return Domain(x0, float(eps), norm, xl, xu)


def concretize(A: torch.Tensor, bias: torch.Tensor, d: Domain) -> torch.Tensor:
    """The lower bound of ``A x + bias`` over the domain, ``(B, S)``. For ``l2`` the set is
    the ball AND the box: the larger of the two lower bounds is sound for both."""
    c = (d.xl + d.xu) / 2
    r = (d.xu - d.xl) / 2
    box = torch.einsum("bsn,bn->bs", A, c) - torch.einsum("bsn,bn->bs", A.abs(), r)
    if d.norm == "l2":
        ball = torch.einsum("bsn,bn->bs", A, d.x0) - d.eps * A.norm(dim=-1)
        box = torch.maximum(box, ball)
    return box + bias


def ibp_bounds(ops: list[Op], d: Domain) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Interval bounds at every position of the chain: entry ``k`` bounds the input of op
    ``k`` (entry 0: the input box; the last: the logits)."""
    lo, up = d.xl, d.xu
    out = [(lo, up)]
    for op in ops:
        if isinstance(op, Affine):
            c, r = (lo + up) / 2, (up - lo) / 2
            c = c @ op.W.T + op.b
            r = r @ op.W.abs().T
            lo, up = c - r, c + r
        elif isinstance(op, Relu):
            lo, up = lo.clamp_min(0), up.clamp_min(0)
        elif isinstance(op, MaxPool):
            lo = window(lo, op, float("-inf")).max(-1).values
            up = window(up, op, float("-inf")).max(-1).values
        out.append((lo, up))
    return out


def spec_lower_ibp(
    ops: list[Op], bounds: list[tuple[torch.Tensor, torch.Tensor]], C: torch.Tensor
) -> torch.Tensor:
    """IBP lower bound of ``C f(x)`` ``(B, S)``, ``C`` folded into the last linear layer."""
    last = ops[-1]
    assert isinstance(last, Affine)
    lo, up = bounds[-2]
    CW = C @ last.W  # (B, S, n)
    c, r = (lo + up) / 2, (up - lo) / 2
    return torch.einsum("bsn,bn->bs", CW, c) - torch.einsum("bsn,bn->bs", CW.abs(), r) + C @ last.b


def margin_spec(y: torch.Tensor, n_classes: int) -> torch.Tensor:
    """``C`` ``(B, K, K)``: row ``j`` is ``e_y - e_j`` (row ``y`` is zero and ignored)."""
    eye = torch.eye(n_classes, device=y.device)
    return eye[y][:, None, :] - eye[None, :, :]


__all__ = ["NORMS", "Domain", "concretize", "domain", "ibp_bounds", "margin_spec", "spec_lower_ibp"]
