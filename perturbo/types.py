"""The data that crosses module boundaries: frozen, typed, picklable.

One experiment is an :class:`ExperimentSpec` (what to do), its result an :class:`Outcome`
(what happened), and the pair an :class:`Observation` (what the history keeps).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any


class Status(str, Enum):
    """How an experiment ended.

    ``REJECTED``: the proposal never ran (invalid, duplicate, unknown gene...): ``Outcome.error``
    says why, and the planner sees it through ``tell``. ``FAILED``: it ran and raised, or its
    objective was NaN/inf. ``PRUNED``: stopped early by a scheduler (ASHA); its intermediate
    values are kept.
    """

    COMPLETED = "completed"
    FAILED = "failed"
    REJECTED = "rejected"
    PRUNED = "pruned"


@dataclass(frozen=True)
class ExperimentSpec:
    """One proposed experiment.

    ``params`` holds the experiment's parameters (what the kind's space validates).
    ``kind`` names the kind (a registry name) that runs it. ``id`` and ``round`` are stamped by the campaign loop, so a
    planner may leave them empty. ``planner`` names who proposed it (a hybrid planner marks
    ``"agent"``, ``"bo"`` or ``"fallback"``) and ``note`` carries a short rationale.
    """

    params: Mapping[str, Any]
    kind: str = ""
    id: str = ""
    round: int = -1
    planner: str = ""
    note: str = ""

    def stamped(self, id: str, round: int) -> ExperimentSpec:
        return replace(self, id=id, round=round)

    def to_dict(self) -> dict[str, Any]:
        return {
            "params": dict(self.params),
            "kind": str(self.kind),
            "id": self.id,
            "round": self.round,
            "planner": self.planner,
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ExperimentSpec:
        return cls(
            params=dict(d["params"]),
            kind=str(d.get("kind", "")),
            id=str(d.get("id", "")),
            round=int(d.get("round", -1)),
            planner=str(d.get("planner", "")),
            note=str(d.get("note", "")),
        )


@dataclass(frozen=True)
class Outcome:
    """What one experiment returned.

    ``metrics`` are the final scalar results the kind's executor reports. ``intermediate`` holds per-step values (per epoch) in
    order, for early stopping and plots. ``error`` is the reason for REJECTED/FAILED.
    """

    status: Status
    metrics: Mapping[str, float] = field(default_factory=dict)
    intermediate: tuple[float, ...] = ()
    error: str = ""
    duration_s: float = 0.0
    worker: str = ""

    @property
    def ok(self) -> bool:
        return self.status is Status.COMPLETED

    def value(self, name: str) -> float:
        """The metric ``name``, or NaN where the experiment has none (failed, rejected)."""
        v = self.metrics.get(name)
        return float(v) if v is not None else math.nan

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "metrics": {k: float(v) for k, v in self.metrics.items()},
            "intermediate": list(self.intermediate),
            "error": self.error,
            "duration_s": self.duration_s,
            "worker": self.worker,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Outcome:
        return cls(
            status=Status(d["status"]),
            metrics={k: float(v) for k, v in dict(d.get("metrics", {})).items()},
            intermediate=tuple(float(x) for x in d.get("intermediate", ())),
            error=str(d.get("error", "")),
            duration_s=float(d.get("duration_s", 0.0)),
            worker=str(d.get("worker", "")),
        )


def rejected(reason: str) -> Outcome:
    return Outcome(status=Status.REJECTED, error=reason)


def failed(reason: str, duration_s: float = 0.0) -> Outcome:
    return Outcome(status=Status.FAILED, error=reason, duration_s=duration_s)


def describe_error(exc: BaseException) -> str:
    """``Type: message (at file:line in func)``: short enough for a planner (or an LLM) to read
    in a FAILED outcome's ``error``."""
    import traceback

    text = f"{type(exc).__name__}: {exc}".strip()
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        f = frames[-1]
        text += f" (at {f.filename.rsplit('/', 1)[-1]}:{f.lineno} in {f.name})"
    return text


def counted(n: int, noun: str) -> str:
    """``1 experiment``, ``3 experiments``: ``noun`` given in the plural (experiments, rounds,
    trials), made singular for one."""
    return f"{n} {noun[:-1] if n == 1 and noun.endswith('s') else noun}"


def finite_float(value: Any) -> float | None:
    """``value`` as a finite float (a number, or text or a logged param that reads as one);
    None where it is none: missing, not a number, NaN or infinite."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


@dataclass(frozen=True)
class Observation:
    """An experiment and what came of it: the unit the history stores and planners learn from."""

    spec: ExperimentSpec
    outcome: Outcome

    def to_dict(self) -> dict[str, Any]:
        return {"spec": self.spec.to_dict(), "outcome": self.outcome.to_dict()}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Observation:
        return cls(ExperimentSpec.from_dict(d["spec"]), Outcome.from_dict(d["outcome"]))


class PerturboError(Exception):
    """An error a user can cause and fix: the message names the input and the fix.

    The CLI prints it as one line and exits non-zero, with no traceback.
    """


class InvalidSpec(ValueError):
    """A proposal that cannot run; the campaign records it as REJECTED with this reason."""


@dataclass(frozen=True)
class CampaignSummary:
    """One campaign as the store lists it (``perturbo show``, the chat's campaign list)."""

    name: str
    kind: str
    status: str
    rounds: int
    started: float
    params: Mapping[str, str] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    run_tags: Mapping[str, str] = field(default_factory=dict)
    """The parent run's ``perturbo.*`` tags: its driver, heartbeat, progress, stop request."""
