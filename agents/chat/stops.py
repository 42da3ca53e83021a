"""Why a campaign stopped and why its experiments failed, and the figures it logged once at its
end (``final_<metric>``, e.g. an attack's certified accuracy): what the chat says when asked
"why did it fail?" or "what is its certified accuracy?", read from the store's summary and
history only."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from perturbo.types import Observation, Status

__all__ = ["error_lines", "errors_of", "final_headline", "stop_reason"]

_DONE = ("", "finished", "done")


def stop_reason(summary: Any) -> str:
    """Why the campaign stopped, where it says more than "finished": the driver's
    ``perturbo.stopped`` tag (a failure, a stop request), else the kind's ``stopped_by``."""
    tags = dict(summary.run_tags or {})
    why = str(tags.get("perturbo.stopped", "") or "").strip()
    if why.lower() not in _DONE:
        return why
    return str(summary.params.get("stopped_by", "") or "").strip()


def errors_of(history: Sequence[Observation]) -> list[tuple[str, int]]:
    """The errors of the experiments that did not complete, most common first."""
    errs = Counter(
        o.outcome.error.strip()
        for o in history
        if o.outcome.status is not Status.COMPLETED and o.outcome.error.strip()
    )
    return errs.most_common()


def error_lines(history: Sequence[Observation], where: str = "", limit: int = 3) -> list[str]:
    """One line per distinct error (``where``: e.g. " in round 2")."""
    failed = [o for o in history if o.outcome.status is not Status.COMPLETED]
    if not failed:
        return []
    by = Counter(o.outcome.status.value for o in failed)
    head = ", ".join(f"{n} {s}" for s, n in sorted(by.items()))
    lines = [f"Did not complete{where}: {head}."]
    for err, n in errors_of(failed)[:limit]:
        lines.append(f"  {n} x: {err[:300]}")
    return lines


def final_headline(
    metrics: Mapping[str, float], keys: Sequence[str], completed: int
) -> dict[str, float]:
    """The kind's headline figures (``keys``), each from its metric or from the ``final_``
    one the campaign logged once at its end (an attack's ``final_certified_accuracy``). None
    where no experiment completed: figures over nothing (``n_still_robust = 0`` of a campaign
    whose every trial failed) would read as a result."""
    if completed == 0:
        return {}
    out: dict[str, float] = {}
    for k in keys:
        v = metrics.get(k, metrics.get(f"final_{k}"))
        if v is not None and math.isfinite(float(v)):
            out[k] = float(v)
    return out
