"""What a general planner optimises: one or more named metrics, each maximised or minimised."""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from perturbo.types import Observation, Status

FIDELITY_SHARE = "fidelity_share"
"""A multi-fidelity campaign's trial metric: its fidelity over the top one (1 = trained in full)."""


def at_top_fidelity(candidates: Sequence[Observation]) -> list[Observation]:
    """The ``candidates`` a best may be chosen from. Trials of a multi-fidelity campaign record
    :data:`FIDELITY_SHARE`; then only those at the highest share recorded count, because a
    1-epoch look is not what a config reaches trained in full (SMAC3's incumbent is chosen at
    the highest budget observed; ASHA's stopped trials do not count either). Without it: all."""
    shares = [o.outcome.metrics.get(FIDELITY_SHARE) for o in candidates]
    known = [s for s in shares if s is not None and math.isfinite(s)]
    if not known:
        return list(candidates)
    top = max(known)
    return [o for o, s in zip(candidates, shares, strict=True) if s is not None and s >= top]


def missing_metric(name: str, got: object) -> str:
    """The failure of a trial whose function returned no metric ``name`` (``got``: what it
    returned, a mapping or not): ``objective returned no 'x' metric (got [...])``, the names
    it did return sorted. :func:`misnamed_objective` reads it back; one wording for both."""
    names = sorted(str(k) for k in got) if isinstance(got, Mapping) else []
    return f"objective returned no {name!r} metric (got {names!r})"


_MISSING = re.compile(
    r"objective returned no (?P<name>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\") metric "
    r"\(got (?P<got>\[.*\])\)"
)
"""What :func:`missing_metric` writes (Python reprs: a name may hold quotes)."""


def misnamed_objective(reason: str) -> tuple[str, list[str]] | None:
    """(the objective's name, the metric names the function returned) where the failure
    ``reason`` says the function returned no metric of that name; None otherwise. Such a
    failure is the campaign's setting (``--objective``, a ``--desirability`` term), not the
    trial's: every trial fails the same way and a resume, which keeps the setting, too."""
    m = _MISSING.search(reason)
    if m is None:
        return None
    try:
        name, got = ast.literal_eval(m["name"]), ast.literal_eval(m["got"])
    except (ValueError, SyntaxError):
        return None
    return str(name), [str(g) for g in got]


def rename_advice(name: str, got: Sequence[str]) -> str:
    """What to do about an objective the function does not return: a new campaign that names
    the returned metric closest to ``name`` (difflib), else one of those returned."""
    import difflib

    close = difflib.get_close_matches(name, list(got), n=1, cutoff=0.5)
    if close:
        instead = f"{close[0]!r}"
    elif got:
        instead = f"one of {', '.join(repr(g) for g in got)}"
    else:
        instead = "a metric it returns (it returned none)"
    return (
        "the objective's name is a setting `perturbo resume` keeps (it would fail the same "
        f"way): start a new campaign (a new --name) naming {instead} instead, in --objective "
        f"or in the --desirability term that names {name!r}"
    )


@dataclass(frozen=True)
class Objective:
    """``names[i]`` is maximised where ``directions[i] == "max"``, else minimised."""

    names: tuple[str, ...]
    directions: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.names or len(self.names) != len(self.directions):
            raise ValueError(
                f"objective names {self.names} and directions {self.directions} must pair up"
            )
        for d in self.directions:
            if d not in ("max", "min"):
                raise ValueError(f"direction must be 'max' or 'min', got {d!r}")

    @classmethod
    def of(
        cls, objective: str | Sequence[str], direction: str | Sequence[str] = "max"
    ) -> Objective:
        names = (objective,) if isinstance(objective, str) else tuple(objective)
        dirs = (direction,) * len(names) if isinstance(direction, str) else tuple(direction)
        return cls(names, dirs)

    @property
    def multi(self) -> bool:
        return len(self.names) > 1

    @property
    def signs(self) -> np.ndarray:
        return np.array([1.0 if d == "max" else -1.0 for d in self.directions])

    def signed(self, obs: Observation) -> np.ndarray | None:
        """The outcome's objective values, negated where minimised (larger is better), or
        None where it is unusable: rejected, failed, or any value missing/NaN/inf. A PRUNED
        trial counts with the value it was stopped at (a pessimistic but honest signal)."""
        if obs.outcome.status not in (Status.COMPLETED, Status.PRUNED):
            return None
        vals = [obs.outcome.value(n) for n in self.names]
        if not all(math.isfinite(v) for v in vals):
            return None
        return np.asarray(vals) * self.signs


def pareto_mask(y: np.ndarray) -> np.ndarray:
    """Rows of ``y`` (shape ``(n, m)``, larger is better) not dominated by another row."""
    y = np.asarray(y, dtype=float)
    n = y.shape[0]
    mask = np.ones(n, dtype=bool)
    for i in range(n):
        dom = np.all(y >= y[i], axis=1) & np.any(y > y[i], axis=1)
        if dom.any():
            mask[i] = False
    return mask


def pareto_set(
    observations: Sequence[Observation], names: Sequence[str], directions: Sequence[str]
) -> list[Observation]:
    """The completed observations whose values of ``names`` no other completed observation
    dominates (each name maximised or minimised per ``directions``), in history order.
    Observations missing a value (or with NaN/inf) are left out."""
    obj = Objective(tuple(names), tuple(directions))
    done = [
        o
        for o in observations
        if o.outcome.status is Status.COMPLETED
        and all(math.isfinite(o.outcome.value(n)) for n in obj.names)
    ]
    if not done:
        return []
    y = np.array([[o.outcome.value(n) for n in obj.names] for o in done]) * obj.signs
    return [o for o, keep in zip(done, pareto_mask(y), strict=True) if keep]
