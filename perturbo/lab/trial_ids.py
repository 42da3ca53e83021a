"""A trial of a trial-by-trial lab campaign as people name it (``t0003`` or ``3``) and as
``ask`` hands it out (``{"trial_id", "number", "params"}``): one home for the CLI, the Python
API and the kinds' results readers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from perturbo.types import ExperimentSpec


def trial_id(text: Any) -> str:
    """A trial id as the user gave it: ``t0003`` or its number ``3``."""
    s = str(text).strip()
    return f"t{int(s):04d}" if s.isdigit() else s


def trial_rows(specs: Sequence[ExperimentSpec]) -> list[dict[str, Any]]:
    """Trials as ``{"trial_id", "number", "params"}`` (Optuna's ``ask`` output plus the id)."""
    return [
        {"trial_id": s.id, "number": int(s.id.lstrip("t") or 0), "params": dict(s.params)}
        for s in specs
    ]


__all__ = ["trial_id", "trial_rows"]
