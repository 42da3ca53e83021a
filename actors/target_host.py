"""``TargetHost``: a Ray actor holding an attack target, serving forward/gradient calls.

The attack kind does **not** use it for campaigns: there each executor actor is its own
host (it loads the target once, see :mod:`perturbo.kinds.attack.executor`), because
shipping a batch and its gradient through Ray on every PGD step costs more than the step
itself for small models on a CPU. ``benchmarks/attack.py`` ("hosting") measures exactly
that with this actor; it is the starting point for a shared GPU host of a large model.

Usage::

    host = TargetHost.start(TargetRecipe("digits-cnn"))
    logits, grad = host.loss_grad(x, y)          # numpy in, numpy out
    host.shutdown()
"""

from __future__ import annotations

from typing import Any

import numpy as np


class _TargetHostActor:
    def __init__(self, recipe: Any) -> None:  # the actor process's entry point
        from perturbo.config_env import set_torch_threads

        set_torch_threads(1)
        self.target = recipe.load()

    def info(self) -> dict[str, Any]:
        t = self.target
        return {
            "name": t.name,
            "n_classes": t.n_classes,
            "device": t.device,
            "input_shape": list(t.input_shape),
        }

    def loss_grad(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        import torch
        import torch.nn.functional as F

        dev = self.target.x.device
        xt = torch.from_numpy(x).to(dev).requires_grad_(True)
        z = self.target.model(xt)
        loss = F.cross_entropy(z, torch.from_numpy(y).to(dev), reduction="sum")
        (g,) = torch.autograd.grad(loss, xt)
        return z.detach().cpu().numpy(), g.cpu().numpy()

    def counts(self) -> dict[str, int]:
        return self.target.model.counts()


class TargetHost:
    """Client of the host actor (picklable: it holds only the actor handle)."""

    def __init__(self, actor: Any) -> None:
        self._actor = actor

    @classmethod
    def start(cls, recipe: Any, num_cpus: float = 1.0, timeout_s: float = 300.0) -> TargetHost:
        import ray

        actor = ray.remote(_TargetHostActor).options(num_cpus=num_cpus).remote(recipe)
        ray.get(actor.info.remote(), timeout=timeout_s)
        return cls(actor)

    def loss_grad(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        import ray

        return ray.get(self._actor.loss_grad.remote(x, y))

    def counts(self) -> dict[str, int]:
        import ray

        return ray.get(self._actor.counts.remote())

    def shutdown(self) -> None:
        import ray

        if self._actor is not None and ray.is_initialized():
            ray.kill(self._actor)
        self._actor = None


__all__ = ["TargetHost"]
