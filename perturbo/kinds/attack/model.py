"""The wrapped target model: normalisation inside, passes counted.

:class:`CountingModel` is what every attack sees: it takes inputs in the *input space* (the
data's value range, e.g. ``[0, 1]``), applies ``(x - mean) / std`` itself, and counts the
work done, in samples (a batch of 250 forwarded once is 250 forward passes, as AutoAttack and
A3 count):

- ``forward_passes``: samples through ``forward``;
- ``backward_passes``: samples whose logits a gradient flowed back through (a hook on the
  output tensor, so ``torch.autograd.grad`` and ``.backward()`` both count, whoever calls
  them: our attacks, pyautoattack's, ART's).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn


class BudgetSpent(RuntimeError):
    """A forward would take the model past its pass :attr:`CountingModel.limit`: the attack
    running stops here, and what it found before is kept (see :mod:`.attacks`)."""


class CountingModel(nn.Module):
    """``net`` behind normalisation, with forward/backward pass counters (see the module)."""

    def __init__(
        self,
        net: nn.Module,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        channel_dim: int = 1,
    ) -> None:
        super().__init__()
        self.net = net
        self.forward_passes = 0
        self.backward_passes = 0
        self.calls = 0
        self.limit: int | None = None
        self.limit_hit = False
        """At most this many forward + backward passes (``None``: no limit). Checked before
        every forward, counting the backward a gradient-enabled forward may be followed by,
        so the limit is never crossed: :class:`BudgetSpent` is raised instead."""
        self._norm = mean is not None or std is not None
        m = torch.tensor(list(mean) if mean is not None else [0.0], dtype=torch.float32)
        s = torch.tensor(list(std) if std is not None else [1.0], dtype=torch.float32)
        self._channel_dim = channel_dim
        self.register_buffer("mean", m)
        self.register_buffer("std", s)

    def _shape(self, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        if t.numel() == 1 or x.dim() < 2:
            return t
        shape = [1] * x.dim()
        shape[self._channel_dim] = t.numel()
        return t.view(shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = int(x.shape[0]) if x.dim() else 1
        if self.limit is not None:
            need = n * (2 if torch.is_grad_enabled() and x.requires_grad else 1)
            if self.forward_passes + self.backward_passes + need > self.limit:
                self.limit_hit = True
                raise BudgetSpent(
                    f"pass budget {self.limit} reached ({self.forward_passes} forward + "
                    f"{self.backward_passes} backward passes spent)"
                )
        self.forward_passes += n
        self.calls += 1
        if self._norm:
            x = (x - self._shape(self.mean, x)) / self._shape(self.std, x)
        out = self.net(x)
        if isinstance(out, (tuple, list)):
            out = out[0]
        if out.requires_grad:
            out.register_hook(self._count_backward)
        return out

    def _count_backward(self, grad: torch.Tensor) -> None:
        self.backward_passes += int(grad.shape[0]) if grad.dim() else 1

    def counts(self) -> dict[str, int]:
        return {
            "forward_passes": self.forward_passes,
            "backward_passes": self.backward_passes,
        }

    def reset(self) -> None:
        self.forward_passes = self.backward_passes = self.calls = 0
        self.limit, self.limit_hit = None, False

    @torch.no_grad()
    def predict(self, x: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
        """Logits of ``x`` in batches (counted as forward passes)."""
        outs = [self(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]
        return torch.cat(outs) if outs else torch.empty(0)


class UnitRange(nn.Module):
    """``model`` seen on ``[0, 1]``: ``u -> model(lo + (hi - lo) u)``, for libraries that
    assume a unit input range (pyautoattack clamps to ``[0, 1]``)."""

    def __init__(self, model: nn.Module, lo: float, hi: float) -> None:
        super().__init__()
        self.model, self.lo, self.scale = model, float(lo), float(hi - lo)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        return self.model(self.lo + self.scale * u)


def device_of(model: nn.Module) -> Any:
    for p in model.parameters():
        return p.device
    for b in model.buffers():
        return b.device
    return torch.device("cpu")


__all__ = ["BudgetSpent", "CountingModel", "UnitRange", "device_of"]
