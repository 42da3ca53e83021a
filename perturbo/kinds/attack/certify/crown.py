"""CROWN (Zhang et al. 2018; auto_LiRPA's backward mode) and alpha-CROWN.

CROWN bounds ``A h_k`` (``h_k`` the input of op ``k``) from below by walking the chain
backwards, replacing each nonlinearity with linear functions that bound it over the
interval its input is known to lie in:

- ReLU with input in ``[l, u]``: stable neurons are exact (slope 1 or 0); an unstable one
  (``l < 0 < u``) is bounded above by the chord ``u (z - l) / (u - l)`` and below by
  ``alpha z`` with ``alpha`` in ``[0, 1]`` -- CROWN's adaptive choice is ``alpha = 1`` if
  ``u > -l`` else ``0``; alpha-CROWN optimises it per neuron and per specification row by
  a few Adam steps on the bound (any alpha in ``[0, 1]`` is sound).
- MaxPool over a window: where one input's lower bound is at least every other input's
  upper bound the max *is* that input (exact); otherwise the max is bounded below by the
  input ``j*`` with the largest lower bound and above by the constant ``max_i u_i`` (the
  DeepPoly relaxation: sound, loose where the window is undecided).

A positive coefficient takes the lower relaxation, a negative one the upper; at the input
the remaining linear function is minimised over the domain (:func:`.ibp.concretize`).
Intermediate bounds (the ``[l, u]`` of every ReLU/MaxPool input) are computed the same way,
layer by layer (full CROWN, not CROWN-IBP), and intersected with IBP's.
"""

from __future__ import annotations

import torch

from perturbo.kinds.attack.certify.ibp import Domain, concretize, ibp_bounds
from perturbo.kinds.attack.certify.layers import Affine, MaxPool, Op, Relu, window

Bounds = list[tuple[torch.Tensor, torch.Tensor]]
ROW_BLOCK = 2**22
"""Floats per block of specification rows (memory cap of the intermediate bounds)."""


def relu_relax(
    lo: torch.Tensor, up: torch.Tensor, alpha: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(lower slope, upper slope, upper intercept) of ReLU on ``[lo, up]`` ``(B, n)``; the
    lower slope is ``(B, S, n)`` when ``alpha`` is given per specification row."""
    unstable = (lo < 0) & (up > 0)
    active = (lo >= 0).to(lo.dtype)
    denom = torch.where(unstable, up - lo, torch.ones_like(up))
    up_s = torch.where(unstable, up / denom, active)
    up_b = torch.where(unstable, -lo * up / denom, torch.zeros_like(up))
    if alpha is None:
        lo_s = torch.where(unstable, (up > -lo).to(lo.dtype), active)
    else:
        lo_s = torch.where(unstable[:, None, :], alpha, active[:, None, :])
    return lo_s, up_s, up_b


def _maxpool_back(
    op: MaxPool, A: torch.Tensor, lo: torch.Tensor, up: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    B, S, n_out = A.shape
    wl = window(lo, op, float("-inf"))
    wu = window(up, op, float("-inf"))
    jl = wl.argmax(-1)  # (B, n_out): position in the window
    jstar = op.idx[torch.arange(n_out, device=A.device)[None, :], jl]  # (B, n_out)
    others = wu.scatter(-1, jl[..., None], float("-inf")).max(-1).values
    decided = (wl.max(-1).values >= others).to(A.dtype)
    U = wu.max(-1).values
    Ap, An = A.clamp_min(0), A.clamp_max(0)
    coef = Ap + An * decided[:, None, :]
    bias = (An * (U * (1 - decided))[:, None, :]).sum(-1)
    out = torch.zeros((B, S, op.n_in), dtype=A.dtype, device=A.device)
    out.scatter_add_(2, jstar[:, None, :].expand(B, S, n_out), coef)
    return out, bias


def backward(
    ops: list[Op],
    k: int,
    A: torch.Tensor,
    bias: torch.Tensor,
    bounds: Bounds,
    d: Domain,
    alphas: dict[int, torch.Tensor] | None = None,
) -> torch.Tensor:
    """Lower bound ``(B, S)`` of ``A h_k + bias`` over the domain (``A``: ``(B, S, n_k)``)."""
    for j in range(k - 1, -1, -1):
        op = ops[j]
        if isinstance(op, Affine):
            bias = bias + A @ op.b
            A = A @ op.W
        elif isinstance(op, Relu):
            lo, up = bounds[j]
            alpha = alphas.get(j) if alphas else None
            lo_s, up_s, up_b = relu_relax(lo, up, alpha)
            Ap, An = A.clamp_min(0), A.clamp_max(0)
            bias = bias + (An * up_b[:, None, :]).sum(-1)
            lo_s = lo_s if lo_s.dim() == 3 else lo_s[:, None, :]
            A = Ap * lo_s + An * up_s[:, None, :]
        else:
            A, b = _maxpool_back(op, A, *bounds[j])
            bias = bias + b
    return concretize(A, bias, d)


def crown_bounds(ops: list[Op], d: Domain, ibp: Bounds | None = None) -> Bounds:
    """Bounds at every position (as :func:`.ibp.ibp_bounds`), by CROWN where an op needs
    them (the input of a ReLU or MaxPool that follows a linear layer), intersected with
    IBP; elsewhere by interval arithmetic from the refined bounds before."""
    ibp = ibp if ibp is not None else ibp_bounds(ops, d)
    out: Bounds = [ibp[0]]
    B = d.x0.shape[0]
    for k in range(1, len(ops) + 1):
        prev, il, iu = ops[k - 1], *ibp[k]
        needed = k < len(ops) and not isinstance(ops[k], Affine)
        if isinstance(prev, Affine) and needed:
            # only the neurons whose bounds are used: a ReLU relaxes a neuron IBP already
            # finds stable exactly, but a MaxPool after it reads the bounds of active ones
            nxt = ops[k + 1] if isinstance(ops[k], Relu) and k + 1 < len(ops) else None
            if isinstance(ops[k], MaxPool):
                used = torch.ones_like(il, dtype=torch.bool)
            elif nxt is not None and not isinstance(nxt, Affine):
                used = iu > 0
            else:
                used = (il < 0) & (iu > 0)
            rows = used.any(0).nonzero()[:, 0]
            width = max(max(op.W.shape) for op in ops[:k] if isinstance(op, Affine))
            blk = max(1, ROW_BLOCK // max(1, B * width * 2))
            lo, up = il.clone(), iu.clone()
            for s in range(0, len(rows), blk):
                r = rows[s : s + blk]
                W, b = prev.W[r], prev.b[r]
                A = torch.cat([W, -W])[None].expand(B, -1, -1)
                bb = torch.cat([b, -b])[None].expand(B, -1)
                lb = backward(ops, k - 1, A, bb, out, d)
                m = len(r)
                lo[:, r] = torch.maximum(lb[:, :m], il[:, r])
                up[:, r] = torch.minimum(-lb[:, m:], iu[:, r])
        else:
            lo, up = _interval(prev, out[k - 1])
            lo, up = torch.maximum(lo, il), torch.minimum(up, iu)
        out.append((lo, up))
    return out


def _interval(op: Op, b: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    lo, up = b
    if isinstance(op, Affine):
        c, r = (lo + up) / 2, (up - lo) / 2
        c, r = c @ op.W.T + op.b, r @ op.W.abs().T
        return c - r, c + r
    if isinstance(op, Relu):
        return lo.clamp_min(0), up.clamp_min(0)
    return (
        window(lo, op, float("-inf")).max(-1).values,
        window(up, op, float("-inf")).max(-1).values,
    )


def spec_lower_crown(
    ops: list[Op],
    bounds: Bounds,
    d: Domain,
    C: torch.Tensor,
    alphas: dict[int, torch.Tensor] | None = None,
) -> torch.Tensor:
    """CROWN lower bound of ``C f(x)`` ``(B, S)``, ``C`` folded into the last linear layer."""
    last = ops[-1]
    assert isinstance(last, Affine)
    return backward(ops, len(ops) - 1, C @ last.W, C @ last.b, bounds, d, alphas)


def spec_lower_alpha(
    ops: list[Op],
    bounds: Bounds,
    d: Domain,
    C: torch.Tensor,
    steps: int = 20,
    lr: float = 0.1,
) -> torch.Tensor:
    """alpha-CROWN: the lower ReLU slopes of the final bound optimised per specification
    row by ``steps`` Adam steps (intermediate bounds kept from CROWN); the best bound seen
    per row is returned, so it is never looser than CROWN's."""
    best = spec_lower_crown(ops, bounds, d, C)
    S = C.shape[1]
    alphas: dict[int, torch.Tensor] = {}
    for j, op in enumerate(ops):
        if isinstance(op, Relu):
            lo, up = bounds[j]
            init = (up > -lo).to(lo.dtype)[:, None, :].expand(-1, S, -1).clone()
            alphas[j] = init.requires_grad_(True)
    if not alphas:
        return best
    opt = torch.optim.Adam(list(alphas.values()), lr=lr)
    for _ in range(steps):
        with torch.enable_grad():
            lb = spec_lower_crown(ops, bounds, d, C, alphas)
            loss = -lb.sum()
            opt.zero_grad()
            loss.backward()
        opt.step()
        with torch.no_grad():
            for a in alphas.values():
                a.clamp_(0, 1)
            best = torch.maximum(best, lb.detach())
    with torch.no_grad():
        best = torch.maximum(best, spec_lower_crown(ops, bounds, d, C, alphas))
    return best


__all__ = ["backward", "crown_bounds", "relu_relax", "spec_lower_alpha", "spec_lower_crown"]
