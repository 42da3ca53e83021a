"""What a ``tell`` of a trial lab campaign records (:mod:`perturbo.lab.trials`): the told
values checked against the open trials, all or nothing, and the line that says what was
recorded; a results file named that does not exist is said to be missing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from perturbo.history import History
from perturbo.types import Observation, PerturboError, Status

__all__ = ["RESULTS_SUFFIXES", "outcomes", "refuse_missing_file", "told_line"]

RESULTS_SUFFIXES = frozenset({".csv", ".tsv", ".json", ".txt"})
"""Suffixes that make a ``tell`` argument a results file, not a trial id."""


def outcomes(
    lab: Any,
    config: Mapping[str, Any],
    name: str,
    history: History,
    state: Any,
    values: Sequence[tuple[str, float | None]],
) -> list[Observation]:
    """The observations ``values`` record, in the order the trials were proposed; one clear
    error (nothing recorded) for an id told twice, told before, or never handed out."""
    objective = str(config.get("objective") or "value").split(",")[0]
    open_by_id = {s.id: s for s in state.open}
    told = {o.spec.id: o for o in history}
    seen: set[str] = set()
    for tid, _ in values:
        if tid in seen:
            raise PerturboError(
                f"trial {tid} is given twice; tell each trial once (nothing recorded)"
            )
        seen.add(tid)
        if tid in told:
            o = told[tid]
            was, why = o.outcome.status.value, o.outcome.error
            if o.outcome.status is Status.COMPLETED:
                was = f"value {o.outcome.metrics.get(objective)}"
            elif why and not why.startswith(was):  # e.g. failed by an ask: handed out N times
                was = f"{was}: {why}"
            raise PerturboError(
                f"trial {tid} of campaign {name!r} was already told ({was}); a trial is told "
                "once (nothing recorded)"
            )
        if tid not in open_by_id:
            have = ", ".join(list(open_by_id)[:8]) or "none: `perturbo ask` hands some out"
            raise PerturboError(
                f"campaign {name!r} has no open trial {tid!r} (open: {have}); nothing recorded"
            )
    order = {s.id: i for i, s in enumerate(state.open)}
    pairs = sorted(values, key=lambda p: order[p[0]])
    return [Observation(open_by_id[t], lab.outcome(objective, v)) for t, v in pairs]


def told_line(parts: Any, obs: Sequence[Observation], history: History) -> str:
    sign = 1.0 if parts.direction == "max" else -1.0
    done = [
        o
        for o in history
        if o.outcome.status is Status.COMPLETED and parts.objective in o.outcome.metrics
    ]
    best = max(done, key=lambda o: sign * o.outcome.metrics[parts.objective]) if done else None
    what = ", ".join(
        f"{o.spec.id}={o.outcome.metrics[parts.objective]:g}"
        if o.outcome.status is Status.COMPLETED
        else f"{o.spec.id} failed"
        for o in obs
    )
    line = f"recorded {len(obs)} trial(s): {what}"
    if best is not None:
        line += f"; best {parts.objective} so far {best.outcome.metrics[parts.objective]:g} ({best.spec.id})"
    return line


def refuse_missing_file(arg: str) -> None:
    """``tell CAMPAIGN ARG`` where ARG names a file (a results suffix or a path separator) that
    does not exist: say so, rather than that it is neither a file nor TRIAL_ID VALUE."""
    import os
    from pathlib import Path

    p = Path(arg)
    looks_like_path = p.suffix.lower() in RESULTS_SUFFIXES or os.sep in arg or "/" in arg
    if looks_like_path and not p.exists():
        raise PerturboError(
            f"results file {arg} not found (in {Path.cwd()}); check the path, or give "
            "TRIAL_ID VALUE"
        )
