"""Local Lipschitz bounds of the margins by the same propagation (Fast-Lip, Weng et al.
2018, on CROWN's intermediate bounds).

What is bounded: for each sample and each other class ``j``, the margin
``m_j(x) = z_y(x) - z_j(x)`` is piecewise linear; its gradient is
``c_j^T W_L D_{L-1} W_{L-1} ... D_1 W_1`` where ``D_i`` is the ReLU's (or MaxPool's)
derivative pattern. Over the domain, the intermediate bounds fix every stable neuron's
derivative (0 or 1) and leave the unstable ones in ``[0, 1]``; propagating *intervals* of
the gradient backwards through that product gives ``|d m_j / d x_i| <= g_ij`` for every
point of the domain. The bound reported is

    L_j = || g_j ||_q   (q the dual norm: 1 for ``linf``, 2 for ``l2``)

so ``|m_j(x') - m_j(x)| <= L_j ||x' - x||_p`` for all ``x, x'`` in the domain (the ball
intersected with the input range: the segment between them stays in it, it is convex).
:func:`lipschitz_bounds` returns ``L_j`` per sample and class; ``certify`` reports the max
over ``j != y`` per sample.
"""

from __future__ import annotations

import torch

from perturbo.kinds.attack.certify.layers import Affine, Op, Relu, window

Bounds = list[tuple[torch.Tensor, torch.Tensor]]


def _times_interval(
    gl: torch.Tensor, gu: torch.Tensor, dl: torch.Tensor, du: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """``[gl, gu] * [dl, du]`` elementwise for ``0 <= dl <= du``."""
    a, b = gl * dl, gl * du
    c, e = gu * dl, gu * du
    return torch.minimum(a, b), torch.maximum(c, e)


def gradient_interval(
    ops: list[Op], bounds: Bounds, C: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Elementwise bounds ``(B, S, n_in)`` on the input gradient of every row of ``C f``."""
    last = ops[-1]
    assert isinstance(last, Affine)
    gl = gu = C @ last.W
    for j in range(len(ops) - 2, -1, -1):
        op = ops[j]
        if isinstance(op, Affine):
            c, r = (gl + gu) / 2, (gu - gl) / 2
            c, r = c @ op.W, r @ op.W.abs()
            gl, gu = c - r, c + r
        elif isinstance(op, Relu):
            lo, up = bounds[j]
            dl = (lo > 0).to(gl.dtype)[:, None, :]
            du = (up > 0).to(gl.dtype)[:, None, :]
            gl, gu = _times_interval(gl, gu, dl, du)
        else:
            lo, up = bounds[j]
            B, S, n_out = gl.shape
            wl = window(lo, op, float("-inf"))
            wu = window(up, op, float("-inf"))
            # an input can be the max somewhere in the domain iff its upper bound reaches
            # the largest lower bound of its window; it then gets 0 or the gradient
            cand = (wu >= wl.max(-1, keepdim=True).values) & (op.idx >= 0)  # (B, n_out, k)
            k = cand.shape[-1]
            single = (cand.sum(-1) == 1)[:, None, :]  # decided: the gradient goes to j*
            add_l = torch.where(single, gl, gl.clamp_max(0))
            add_u = torch.where(single, gu, gu.clamp_min(0))
            new_l = torch.zeros((B, S, op.n_in), dtype=gl.dtype, device=gl.device)
            new_u = torch.zeros_like(new_l)
            idx = op.idx.clamp_min(0)
            for t in range(k):
                m = cand[:, None, :, t].to(gl.dtype)
                col = idx[:, t][None, None, :].expand(B, S, n_out)
                new_l.scatter_add_(2, col, add_l * m)
                new_u.scatter_add_(2, col, add_u * m)
            gl, gu = new_l, new_u
    return gl, gu


def lipschitz_bounds(ops: list[Op], bounds: Bounds, C: torch.Tensor, norm: str) -> torch.Tensor:
    """``L`` ``(B, S)``: a bound on the local Lipschitz constant of each row of ``C f`` over
    the domain, from the ``norm`` in the input to the absolute value (see the module)."""
    gl, gu = gradient_interval(ops, bounds, C)
    g = torch.maximum(gl.abs(), gu.abs())
    return g.sum(-1) if norm == "linf" else g.norm(dim=-1)


__all__ = ["gradient_interval", "lipschitz_bounds"]
