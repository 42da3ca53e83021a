"""``bo``'s acquisition optimiser on continuous spaces (moved out of search/bo.py unchanged)."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["optimize_continuous"]


def optimize_continuous(
    acq: Any,
    q: int,
    bounds: Any,
    top: np.ndarray,
    raw_samples: int,
    num_restarts: int,
    maxiter: int,
) -> Any:
    """Sequential greedy q-batch: each point maximises the acquisition with the ones
    chosen before it pending. Restarts start from the best of ``raw_samples`` uniform
    points *and* as many Gaussian perturbations of ``top`` (the best observed points, unit
    cube; the peak of EI near the incumbent is narrow in 6-10 dimensions; uniform points
    rarely land on it)."""
    import torch
    from botorch.optim import optimize_acqf

    d = bounds.shape[-1]
    base_pending = acq.X_pending
    chosen: list[Any] = []
    for _ in range(q):
        n_local = raw_samples
        centres = top[torch.randint(len(top), (n_local,)).numpy()]
        scale = np.exp(
            torch.empty(n_local, 1, dtype=torch.double).uniform_(np.log(0.01), np.log(0.2)).numpy()
        )
        local = np.clip(centres + scale * torch.randn(n_local, d, dtype=torch.double).numpy(), 0, 1)
        raw = torch.cat(
            [
                torch.rand(raw_samples, d, dtype=torch.double),
                torch.as_tensor(local, dtype=torch.double),
            ]
        ).unsqueeze(1)
        with torch.no_grad():
            vals = acq(raw)
        ics = raw[torch.topk(vals, num_restarts).indices]
        x, _ = optimize_acqf(
            acq,
            bounds=bounds,
            q=1,
            num_restarts=num_restarts,
            batch_initial_conditions=ics,
            options={"maxiter": maxiter},
            retry_on_optimization_warning=False,
        )
        chosen.append(x)
        pend = torch.cat([base_pending, *chosen]) if base_pending is not None else torch.cat(chosen)
        acq.set_X_pending(pend)
    acq.set_X_pending(base_pending)
    return torch.cat(chosen)
