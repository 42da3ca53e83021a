"""A model as a chain of ops the bound propagation understands.

:func:`extract` turns an ``nn.Sequential`` (eager or TorchScript, nested, optionally behind
:class:`~perturbo.kinds.attack.model.CountingModel`'s normalisation) into a list of ops on
*flattened* per-sample vectors:

- :class:`Affine` ``h -> W h + b`` with a dense ``W``: every linear layer (Linear, Conv2d,
  AvgPool2d, AdaptiveAvgPool2d, BatchNorm in eval mode, Flatten, Dropout in eval, the
  normalisation) is read off the module itself (its outputs on the basis vectors), and
  consecutive affine layers are multiplied into one. That is BatchNorm folded into the
  preceding conv/linear (and the normalisation into the first layer), exactly.
- :class:`Relu`.
- :class:`MaxPool` (2-D, no ``ceil_mode``): the window of each output as indices into the
  flattened input.

Anything else raises a :class:`~perturbo.types.PerturboError` naming the layer type and the
supported list. Dense matrices keep the propagation simple and fast on the small targets
this project ships (digits: 64 inputs); a layer whose matrix would exceed
:data:`MAX_ENTRIES` entries is refused with a message instead of exhausting memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from perturbo.types import PerturboError

MAX_ENTRIES = 2**25
AFFINE_TYPES = (
    "Linear",
    "Conv2d",
    "Conv1d",
    "AvgPool2d",
    "AdaptiveAvgPool2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "Flatten",
    "Dropout",
    "Identity",
)
SUPPORTED = (*AFFINE_TYPES, "ReLU", "MaxPool2d", "Sequential")


@dataclass
class Affine:
    W: torch.Tensor  # (n_out, n_in)
    b: torch.Tensor  # (n_out,)


@dataclass
class Relu:
    pass


@dataclass
class MaxPool:
    idx: torch.Tensor  # (n_out, k) indices into the flattened input, -1 = padding
    n_in: int


Op = Affine | Relu | MaxPool


def _type_name(m: Any) -> str:
    return str(getattr(m, "original_name", None) or type(m).__name__)


def _leaves(m: Any) -> list[Any]:
    if _type_name(m) == "Sequential":
        out: list[Any] = []
        for c in m.children():
            out.extend(_leaves(c))
        return out
    return [m]


def _unsupported(name: str, why: str = "") -> PerturboError:
    return PerturboError(
        f"certify: layer type {name!r} is not supported{why}; supported: "
        f"{', '.join(SUPPORTED)} (an nn.Sequential of them, eager or TorchScript)"
    )


def _dense(fn: Any, in_shape: tuple[int, ...], name: str, device: Any) -> Affine:
    """``fn`` (affine) as ``W, b`` from its outputs on zero and the basis vectors."""
    n_in = 1
    for s in in_shape:
        n_in *= s
    with torch.no_grad():
        b = fn(torch.zeros((1, *in_shape), device=device)).reshape(-1)
        if b.numel() * n_in > MAX_ENTRIES:
            raise PerturboError(
                f"certify: layer {name!r} maps {n_in} to {b.numel()} values, a dense matrix "
                f"over {MAX_ENTRIES} entries; certify a smaller model or input"
            )
        eye = torch.eye(n_in, device=device).reshape(n_in, *in_shape)
        W = (fn(eye).reshape(n_in, -1) - b).T.contiguous()
    return Affine(W.float(), b.float())


def _maxpool(m: Any, in_shape: tuple[int, ...], device: Any) -> MaxPool:
    if bool(getattr(m, "ceil_mode", False)):
        raise _unsupported("MaxPool2d", " with ceil_mode=True")
    if len(in_shape) != 3:
        raise _unsupported("MaxPool2d", f" on input of shape {in_shape} (needs C, H, W)")
    c, h, w = in_shape
    n_in = c * h * w
    ids = torch.arange(1, n_in + 1, dtype=torch.float64).reshape(1, c, h, w)
    cols = F.unfold(ids, m.kernel_size, m.dilation, m.padding, m.stride)  # (1, c*k, L)
    k = cols.shape[1] // c
    idx = cols.reshape(c, k, -1).permute(0, 2, 1).reshape(-1, k).round().long() - 1
    return MaxPool(idx.to(device), n_in)


def _merge(ops: list[Op], op: Op) -> None:
    if isinstance(op, Affine) and ops and isinstance(ops[-1], Affine):
        prev = ops[-1]
        ops[-1] = Affine(op.W @ prev.W, op.W @ prev.b + op.b)
    else:
        ops.append(op)


def unwrap(model: Any) -> tuple[Any, Any | None]:
    """(the network, its input normalisation as a function or ``None``)."""
    from perturbo.kinds.attack.model import CountingModel, UnitRange

    if isinstance(model, UnitRange):
        inner, norm = unwrap(model.model)
        lo, scale = model.lo, model.scale

        def pre(u: torch.Tensor) -> torch.Tensor:
            x = lo + scale * u
            return norm(x) if norm is not None else x

        return inner, pre
    if isinstance(model, CountingModel):
        if not model._norm:
            return model.net, None

        def norm_fn(x: torch.Tensor) -> torch.Tensor:
            return (x - model._shape(model.mean, x)) / model._shape(model.std, x)

        return model.net, norm_fn
    return model, None


def extract(model: Any, in_shape: tuple[int, ...]) -> list[Op]:
    """The op chain of ``model`` for inputs of shape ``in_shape`` (see the module), on the
    model's device."""
    from perturbo.kinds.attack.model import device_of

    net, pre = unwrap(model)
    leaves = _leaves(net)
    ops: list[Op] = []
    shape = tuple(in_shape)
    dev = device_of(net) if isinstance(net, nn.Module) else torch.device("cpu")
    if pre is not None:
        _merge(ops, _dense(pre, shape, "normalisation", dev))
    for m in leaves:
        name = _type_name(m)
        if name not in SUPPORTED:
            raise _unsupported(name)
        if isinstance(m, nn.Module) and m.training and name.startswith(("BatchNorm", "Dropout")):
            raise PerturboError(
                f"certify: {name} is in training mode; call model.eval() before certifying"
            )
        mm = m
        with torch.no_grad():
            out_shape = tuple(mm(torch.zeros((1, *shape), device=dev)).shape[1:])
        if name == "ReLU":
            ops.append(Relu())
        elif name == "MaxPool2d":
            ops.append(_maxpool(mm, shape, dev))
        elif name in ("Flatten", "Dropout", "Identity"):
            pass  # the ops work on flattened vectors; dropout is the identity in eval mode
        else:
            _merge(ops, _dense(mm, shape, name, dev))
        shape = out_shape
    if not ops or not isinstance(ops[-1], Affine):
        n = _numel(shape)
        ops.append(Affine(torch.eye(n, device=dev), torch.zeros(n, device=dev)))
    return ops


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def to_device(ops: list[Op], device: Any) -> list[Op]:
    out: list[Op] = []
    for op in ops:
        if isinstance(op, Affine):
            out.append(Affine(op.W.to(device), op.b.to(device)))
        elif isinstance(op, MaxPool):
            out.append(MaxPool(op.idx.to(device), op.n_in))
        else:
            out.append(op)
    return out


def window(v: torch.Tensor, op: MaxPool, fill: float) -> torch.Tensor:
    """``v`` ``(B, n_in)`` gathered into windows ``(B, n_out, k)``, padding = ``fill``."""
    safe = op.idx.clamp_min(0)
    g = v[:, safe]
    return g.masked_fill(op.idx < 0, fill)


def forward(ops: list[Op], x: torch.Tensor) -> torch.Tensor:
    """The chain applied to ``x`` ``(B, *in_shape)``: logits ``(B, n_out)`` (a check that
    extraction reproduced the model)."""
    h = x.reshape(len(x), -1)
    for op in ops:
        if isinstance(op, Affine):
            h = h @ op.W.T + op.b
        elif isinstance(op, Relu):
            h = h.clamp_min(0)
        else:
            h = window(h, op, float("-inf")).max(-1).values
    return h


__all__ = [
    "AFFINE_TYPES",
    "SUPPORTED",
    "Affine",
    "MaxPool",
    "Op",
    "Relu",
    "extract",
    "forward",
    "to_device",
    "unwrap",
    "window",
]
