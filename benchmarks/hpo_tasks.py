"""Benchmark-only tasks for ``benchmarks/hyperparameter.py`` (not in the product's task table).

``ackley10-shifted``: botorch's Ackley-10D on its own box [-32.768, 32.768]^10, evaluated at
``x - SHIFT``. Plain Ackley has its optimum at the centre of the box, a point that a GP's
first proposals or a Sobol' design often hit (Ax 1.3's default generation strategy,
Center+Sobol+MBM, evaluates the box's centre first: its 1-seed regret 2e-17 on ``ackley10``). The shift moves the optimum to ``SHIFT`` -- off-centre and
off the box's corners -- with the optimum value unchanged (0; botorch's float rounding gives
4.4e-16 at the optimum, shifted or not). Points with ``x - SHIFT`` outside the box are
evaluated with the same Ackley formula (botorch's ``_evaluate_true``, which skips the bounds
check): the function is defined everywhere, and near 20-22 out there, like in the box's rim.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from perturbo.kinds.hyperparameter.tasks import make_task as _product_task

__all__ = ["SHIFT", "ShiftedTask", "make_task", "noise_free"]

SHIFT = np.random.default_rng(2026).uniform(-16.0, 16.0, 10)  # the optimum of ackley10-shifted
SHIFTED = {"ackley10-shifted": ("ackley10", SHIFT)}


class ShiftedTask:
    """A synthetic task evaluated at ``x - shift``: the same space, objective, direction and
    optimum value; ``evaluate_array`` (used for the noise-free value and the reference median)
    is the shifted function."""

    def __init__(self, name: str, base: Any, shift: np.ndarray) -> None:
        self.name, self.base, self.shift = name, base, np.asarray(shift, float)
        self.objective, self.direction = base.objective, base.direction
        self.max_epochs, self.noise_std = base.max_epochs, base.noise_std

    def metric_names(self) -> tuple[str, ...]:
        return self.base.metric_names()

    @property
    def optimum(self) -> float:
        return self.base.optimum

    def space(self) -> Any:
        return self.base.space()

    def evaluate_array(self, x: np.ndarray) -> np.ndarray:
        import torch

        z = torch.as_tensor(np.atleast_2d(x) - self.shift, dtype=torch.double)
        with torch.no_grad():
            return self.base._fn._evaluate_true(z).numpy()

    def evaluate(self, params: Mapping[str, Any], report: Any = None) -> dict[str, float]:
        x = np.array([[float(params[f"x{i}"]) for i in range(len(self.shift))]])
        return {self.objective: float(self.evaluate_array(x)[0])}


def make_task(name: str, **kw: Any) -> Any:
    """The product's ``make_task``, plus the benchmark's shifted functions and the unseen
    scikit-learn tasks (``hpo_unseen.py``)."""
    from hpo_unseen import UNSEEN, UnseenTask

    if name in UNSEEN:
        return UnseenTask(name)
    if name in SHIFTED:
        base, shift = SHIFTED[name]
        return ShiftedTask(name, _product_task(base, **kw), shift)
    return _product_task(name, **kw)


def noise_free(task: Any) -> bool:
    """A synthetic function without noise (the product's ``--deterministic`` is automatic on
    these; trainers and table lookups are noisy across seeds): ``bo`` runs with it there, and
    GPSampler gets ``deterministic_objective`` on the same tasks (equal information)."""
    return hasattr(task, "evaluate_array") and not getattr(task, "noise_std", 0.0)
