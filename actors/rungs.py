"""One campaign's ASHA rung keeper, shared by every worker: a small Ray actor, or the same
logic in-process where Ray is not running (LocalExecutorPool).

:class:`SharedRungs` is a picklable handle: the executor factory carries it into each Ray
actor, and the first ``report`` there finds (or creates) the named rung actor of the
campaign (``get_if_exists``), so all workers see the same rungs without the driver having
to create anything. The rung logic itself is :class:`perturbo.search.asha.ASHA`.

The rungs are not the source of truth: on resume the driver calls :meth:`SharedRungs.seed`
with the recorded history (``CampaignParts.run`` does, through the executor factory's
``resume``), so rung state lost with the actor (or a dead driver's Ray) is rebuilt.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from perturbo.search.asha import ASHA, trials_of
from perturbo.types import Observation

_LOCAL: dict[str, ASHA] = {}
_HANDLES: dict[str, Any] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True)
class SharedRungs:
    """``name`` must be unique per campaign (the CLI uses a random suffix)."""

    name: str
    max_epochs: int
    min_epochs: int = 1
    eta: float = 3.0
    direction: str = "max"

    def _asha(self) -> ASHA:
        return ASHA(self.max_epochs, self.min_epochs, self.eta, self.direction)

    def report(self, trial_id: str, epoch: int, value: float) -> bool:
        """True to continue the trial, False to stop it (see :meth:`ASHA.report`)."""
        ray = sys.modules.get("ray")
        if ray is not None and ray.is_initialized():
            return bool(ray.get(self._actor(ray).report.remote(trial_id, epoch, value)))
        with _LOCK:  # held for the report too: several threads report (a local pool's, or
            # rung_link.py's answering child processes), and ASHA's rungs are plain lists
            asha = _LOCAL.setdefault(self.name, self._asha())
            return asha.report(trial_id, epoch, value)

    def seed(self, history: Iterable[Observation]) -> int:
        """Rebuild the rungs from recorded observations (see :meth:`ASHA.seed`); returns the
        number of rung entries seeded."""
        trials = trials_of(history)
        ray = sys.modules.get("ray")
        if ray is not None and ray.is_initialized():
            return int(ray.get(self._actor(ray).seed.remote(trials)))
        with _LOCK:
            asha = _LOCAL.setdefault(self.name, self._asha())
            return asha.seed(trials)

    def _actor(self, ray: Any) -> Any:
        with _LOCK:
            h = _HANDLES.get(self.name)
            if h is None:
                cls = ray.remote(num_cpus=0)(_RungActor)
                h = cls.options(name=f"perturbo-rungs-{self.name}", get_if_exists=True).remote(
                    self.max_epochs, self.min_epochs, self.eta, self.direction
                )
                _HANDLES[self.name] = h
            return h

    def stats(self) -> list[Any]:
        ray = sys.modules.get("ray")
        if ray is not None and ray.is_initialized():
            return ray.get(self._actor(ray).stats.remote())
        with _LOCK:
            asha = _LOCAL.setdefault(self.name, self._asha())
        return asha.stats()


class _RungActor:
    def __init__(self, max_epochs: int, min_epochs: int, eta: float, direction: str) -> None:
        self._asha = ASHA(max_epochs, min_epochs, eta, direction)

    def report(self, trial_id: str, epoch: int, value: float) -> bool:
        return self._asha.report(trial_id, epoch, value)

    def seed(self, trials: list[tuple[str, bool, tuple[float, ...]]]) -> int:
        return self._asha.seed(trials)

    def stats(self) -> list[Any]:
        return self._asha.stats()
