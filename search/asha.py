"""Asynchronous successive halving (ASHA) over epochs: pure logic, no Ray.

Rungs sit at ``min_epochs * eta**k`` epochs (below ``max_epochs``). When a trial reaches a
rung it is compared with every trial that reached that rung before it: it goes on only if
its value is in the top ``1/eta`` of them (the cut-off is the ``1 - 1/eta`` quantile of the
values already recorded there, as in Ray Tune's ``AsyncHyperBandScheduler``); the first
trial at a rung always goes on. No trial waits for others, so it suits parallel workers.

Executors never see this class directly: they get a ``report(trial_id, epoch, value)``
callable, backed by an in-process :class:`ASHA` or by the shared Ray actor in
:mod:`perturbo.actors.rungs`. The rungs are state rebuilt from the store, as Optuna's
pruners read intermediate values from storage: :meth:`ASHA.seed` replays the recorded
trials' per-epoch values (``Outcome.intermediate``) on resume, so a resumed campaign cuts
new trials against the old ones instead of starting with empty rungs.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from perturbo.types import Observation, Status


def in_top(value: float, others: Sequence[float], eta: float) -> bool:
    """ASHA's cut, larger is better: ``value`` is at or above the ``1 - 1/eta`` quantile of
    ``others`` (the values already at the rung); with no others it goes on."""
    if not len(others):
        return True
    return value >= float(np.percentile(np.asarray(others), (1 - 1 / eta) * 100))


@dataclass(frozen=True)
class RungStats:
    epoch: int
    n_reached: int
    n_stopped: int


class ASHA:
    """Decides, epoch by epoch, whether a trial continues.

    ``direction``: ``"max"`` (accuracy) or ``"min"`` (loss). Thread-safe (one lock), so one
    instance may serve threads of an in-process pool.
    """

    def __init__(
        self, max_epochs: int, min_epochs: int = 1, eta: float = 3.0, direction: str = "max"
    ) -> None:
        if max_epochs < 1 or min_epochs < 1 or min_epochs > max_epochs:
            raise ValueError(
                f"ASHA needs 1 <= min_epochs <= max_epochs, got {min_epochs}, {max_epochs}"
            )
        if eta <= 1:
            raise ValueError(f"ASHA's reduction factor eta must be > 1, got {eta}")
        if direction not in ("max", "min"):
            raise ValueError(f"direction must be 'max' or 'min', got {direction!r}")
        self.max_epochs, self.min_epochs, self.eta, self.direction = (
            max_epochs,
            min_epochs,
            eta,
            direction,
        )
        rungs, r = [], float(min_epochs)
        while r < max_epochs:
            rungs.append(int(round(r)))
            r *= eta
        self.rungs: tuple[int, ...] = tuple(sorted(set(rungs)))
        self._recorded: dict[int, dict[str, float]] = {r: {} for r in self.rungs}
        self._stopped: dict[int, set[str]] = {r: set() for r in self.rungs}
        self._lock = threading.Lock()

    def report(self, trial_id: str, epoch: int, value: float) -> bool:
        """Record ``value`` after ``epoch`` (1-based) of ``trial_id``: True to continue, False to stop.

        A NaN/inf value stops the trial. Reporting the same (trial, epoch) again (a retried
        trial) replaces the earlier value.
        """
        if not math.isfinite(value):
            return False
        if epoch not in self._recorded:
            return True
        with self._lock:
            recorded = self._recorded[epoch]
            sign = 1 if self.direction == "max" else -1
            others = [sign * v for t, v in recorded.items() if t != trial_id]
            keep = in_top(sign * value, others, self.eta)
            recorded[trial_id] = float(value)
            if not keep:
                self._stopped[epoch].add(trial_id)
            return keep

    def seed(self, trials: Iterable[tuple[str, bool, Sequence[float]]]) -> int:
        """Replay recorded trials: ``(trial_id, pruned, per-epoch values)``, the values in
        epoch order from epoch 1. Each value at a rung is recorded there (as if reported);
        a pruned trial counts as stopped at the rung of its last value. Earlier decisions are
        kept, not re-judged. Returns the number of rung entries seeded."""
        n = 0
        with self._lock:
            for trial_id, pruned, values in trials:
                for epoch, v in enumerate(values, start=1):
                    if epoch in self._recorded and math.isfinite(v):
                        self._recorded[epoch][trial_id] = float(v)
                        n += 1
                        if pruned and epoch == len(values):
                            self._stopped[epoch].add(trial_id)
        return n

    def stats(self) -> list[RungStats]:
        with self._lock:
            return [RungStats(r, len(self._recorded[r]), len(self._stopped[r])) for r in self.rungs]


def trials_of(history: Iterable[Observation]) -> list[tuple[str, bool, tuple[float, ...]]]:
    """What :meth:`ASHA.seed` replays from a campaign history: every trial that ran and
    reported per-epoch values (small and picklable, to ship to the rung actor)."""
    return [
        (o.spec.id, o.outcome.status is Status.PRUNED, tuple(o.outcome.intermediate))
        for o in history
        if o.outcome.intermediate and o.outcome.status is not Status.REJECTED
    ]


def savings(epochs_run: list[int], max_epochs: int) -> dict[str, float]:
    """Epochs spent vs training every trial fully: ``{"epochs_spent", "epochs_full", "epochs_saved_frac"}``."""
    spent = float(sum(epochs_run))
    full = float(max_epochs * len(epochs_run))
    return {
        "epochs_spent": spent,
        "epochs_full": full,
        "epochs_saved_frac": 0.0 if full == 0 else 1 - spent / full,
    }
