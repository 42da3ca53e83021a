"""``bo``'s reference point with several objectives: inferred, or thresholds a user gives.

qLogNEHVI scores a proposal by the hypervolume it adds between the Pareto front and a
reference point; a trial worse than the reference point on any objective adds none. BoTorch
infers the point from the observed front's nadir (``"front"``; ``"data"``: from every
observation, under test, docs/findings/hyperparameter.md session 20; ``"capped"``: the
front's, no worse than the 90th percentile of all observations, session 23; ``"auto"``, the
default: ``"capped"`` with three or more objectives, ``"front"`` with two). Ax asks the user
for *objective thresholds* instead: the worst value of each objective still worth having
(accuracy at least 0.9, at most 50,000 parameters). Given, they keep the search where the
user cares, and a front found first at one end no longer fences the rest off (the trap
``benchmarks/pareto.py`` found on ZDT1). Objectives without a threshold keep the inferred
coordinate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from perturbo.objective import Objective

__all__ = ["CAP_QUANTILE", "RULES", "cap_at_bulk", "given_thresholds", "parse_thresholds",
           "reference_rule", "resolved"]  # fmt: skip

RULES = ("auto", "front", "data", "capped")
CAP_QUANTILE = 0.1
"""``"capped"``: the reference point no worse than this quantile of all observed values (in
maximised units: their 90th percentile of badness); fixed before any run (session 23)."""


def resolved(rule: str, n_objectives: int) -> str:
    """``"auto"`` (the default): ``"capped"`` with three or more objectives, ``"front"`` with
    two (adopted under session 23's protocol: docs/findings/hyperparameter.md,
    ``benchmarks/results/pareto_refcap_heldout.md``); any other rule as given."""
    if rule != "auto":
        return rule
    return "capped" if n_objectives >= 3 else "front"


def cap_at_bulk(ref: Any, Y: Any) -> Any:
    """``ref`` (maximised units), each coordinate raised to at least the
    :data:`CAP_QUANTILE` quantile of that objective over all observations ``Y`` (n x m)."""
    import torch

    return torch.maximum(ref, torch.quantile(Y, CAP_QUANTILE, dim=0).to(ref))


def parse_thresholds(spec: str | Mapping[str, Any], names: tuple[str, ...]) -> dict[str, float]:
    """``"acc=0.9,size=5e4"`` (or a mapping) as ``{objective: threshold}``; ``ValueError``
    naming the bad part and the fix."""
    if isinstance(spec, Mapping):
        items = [(str(k), v) for k, v in spec.items()]
    else:
        items = []
        for term in (t.strip() for t in str(spec).split(",")):
            name, eq, value = term.partition("=")
            if not eq or not name.strip():
                raise ValueError(
                    f"reference point term {term!r} is not NAME=VALUE; e.g. "
                    f"{names[0]}=0.9 (the worst {names[0]} still worth having), one per "
                    "objective, comma-separated"
                )
            items.append((name.strip(), value.strip()))
    out: dict[str, float] = {}
    for name, value in items:
        if name not in names:
            raise ValueError(
                f"reference point names {name!r}, which is not an objective; use one of "
                f"{', '.join(names)}"
            )
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"reference point {name}={value!r} is not a number") from None
        if not math.isfinite(v):
            raise ValueError(f"reference point {name}={value!r} must be finite")
        if name in out:
            raise ValueError(f"reference point names {name!r} twice")
        out[name] = v
    if not out:
        raise ValueError("the reference point names no objective")
    return out


def reference_rule(rule: str | Mapping[str, Any], objective: Objective) -> str | dict[str, float]:
    """One of :data:`RULES` or the parsed thresholds (checked against ``objective``)."""
    if isinstance(rule, str) and rule in RULES:
        return rule
    if isinstance(rule, str) and "=" not in rule:
        raise ValueError(
            f"ref_point must be one of {', '.join(RULES)} or objective thresholds, not {rule!r}"
        )
    if not objective.multi:
        raise ValueError("a reference point needs several objectives (a Pareto front)")
    return parse_thresholds(rule, objective.names)


def given_thresholds(inferred: Any, rule: str | Mapping[str, float], objective: Objective) -> Any:
    """``inferred`` (a tensor, maximised units) with each given threshold in its place."""
    if isinstance(rule, str):
        return inferred
    ref = inferred.clone()
    for i, (name, sign) in enumerate(zip(objective.names, objective.signs, strict=True)):
        if name in rule:
            ref[i] = float(sign) * rule[name]
    return ref
