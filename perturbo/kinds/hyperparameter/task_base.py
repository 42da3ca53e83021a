"""What every hyperparameter task is: :class:`Task` (its space, its objective, ``evaluate``) and
the ``report(epoch, value)`` callback a trial calls after each epoch."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from perturbo.space import SearchSpace

Report = Callable[[int, float], bool]
"""``report(epoch, value) -> continue?``; epochs count from 1."""


def _always(epoch: int, value: float) -> bool:
    return True


class Task(Protocol):
    name: str
    objective: str
    direction: str
    max_epochs: int  # 0: no epochs (a function or a lookup without fidelities)

    def space(self) -> SearchSpace: ...

    def evaluate(self, params: Mapping[str, Any], report: Report = _always) -> dict[str, float]: ...


__all__ = ["Report", "Task"]
