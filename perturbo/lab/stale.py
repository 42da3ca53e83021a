"""Trials left open by a worker that died: ``perturbo ask NAME --stale-after 2h`` (Python:
``ask(n, stale_after="2h")``) hands a trial open longer than that to the asker again.

What Optuna does with a heartbeat, ``fail_stale_trials`` and ``RetryFailedTrialCallback``,
without a heartbeat (no process lives between steps: the store knows only when a trial was
handed out). A stale trial is handed out again *as itself*: the same trial id and params, its
hand-out time now, oldest first, before the planner is asked for new trials. So a late tell
from the worker first handed it still counts -- the first tell of a trial wins and a second
is refused, as any second tell -- and the planner's view does not change (the trial stayed
open, its pending, all along). Without ``--stale-after`` nothing is handed out again.

A trial that kills every worker it is handed to (out of memory, a segfault in its params)
would go round for ever: as Optuna's ``RetryFailedTrialCallback(max_retry=...)``, a stale trial
is handed out again at most ``--max-retries`` (``max_retries=``, default
:data:`DEFAULT_MAX_RETRIES`) times. Stale once more, it is recorded failed, with a reason that
says so, by the ``ask`` that finds it -- under the campaign's hold, as a ``tell --failed`` is,
so two askers never both fail (or both hand out) one trial. As any failed trial it counts
against ``--trials``: its slot is spent, not handed to a new trial.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from perturbo.types import ExperimentSpec, PerturboError

__all__ = [
    "DEFAULT_MAX_RETRIES",
    "DURATION_EXAMPLE",
    "age_text",
    "check_retries",
    "parse_duration",
    "reissue_line",
    "take_stale",
    "worn_out",
    "worn_out_line",
    "worn_out_reason",
]

DEFAULT_MAX_RETRIES = 3
"""How many times a stale trial is handed out again before it is recorded failed."""

DURATION_EXAMPLE = "e.g. 30m, 2h, 1h30m, 1d or 90s; a number alone is seconds"
_UNIT_S = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}
_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)\s*([dhms]))", re.IGNORECASE)


def parse_duration(value: Any, what: str = "--stale-after") -> float:
    """Seconds in ``value``: ``"2h"``, ``"30m"``, ``"1h30m"``, ``"90s"``, ``"1d"``, a number of
    seconds, or a :class:`~datetime.timedelta`; more than 0. ``what`` names the input in the
    one-line error."""
    seconds: float | None = None
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().replace(" ", "")
        try:
            seconds = float(text)
        except ValueError:
            parts = _DURATION.findall(text)
            if parts and "".join(n + u for n, u in parts).lower() == text.lower():
                seconds = sum(float(n) * _UNIT_S[u.lower()] for n, u in parts)
    if seconds is None or not math.isfinite(seconds) or seconds <= 0:
        shown = value if isinstance(value, str) else repr(value)
        sep = " " if what.startswith("-") else "="
        raise PerturboError(
            f"{what}{sep}{shown}: give how long a trial may stay open before it is handed out "
            f"again, more than 0 ({DURATION_EXAMPLE})"
        )
    return seconds


def age_text(seconds: float) -> str:
    """ "2h 05m", "4m 10s", "12s", "3d 02h": an age for a person."""
    s = int(max(0.0, seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600:02d}h"


def check_retries(value: Any, stale_after: Any, what: str = "--max-retries") -> int | None:
    """``value`` (``None``: not given) as how many times a stale trial is handed out again, 0
    or more (0: failed once stale, never handed out again); ``what`` names the input in the
    one-line error. It limits only what ``stale_after`` does: given without it, it would do
    nothing, so it is refused rather than ignored."""
    import operator

    if value is None:
        return None
    try:
        n = None if isinstance(value, bool) else operator.index(value)
    except TypeError:
        n = None
    flag = what.startswith("-")
    if n is None or n < 0:
        raise PerturboError(
            f"{what}{' ' if flag else '='}{value!r}: give how many times a stale trial is handed "
            f"out again before it is recorded failed, 0 or more (default {DEFAULT_MAX_RETRIES})"
        )
    if stale_after is None:
        stale = "--stale-after DURATION" if flag else "stale_after="
        raise PerturboError(
            f"{what}{' ' if flag else '='}{n} without {stale}: only a trial open longer than "
            "that is handed out again; give both"
        )
    return n


def _stale(state: Any, stale_after: float, now: float) -> list[ExperimentSpec]:
    stale = [s for s in state.open if now - state.handed_at(s.id) > stale_after]
    return sorted(stale, key=lambda s: (state.handed_at(s.id), s.id))


def _handed(state: Any, trial_id: str) -> int:
    return len(state.handed.get(trial_id, ()))


def worn_out(state: Any, stale_after: float, max_retries: int, now: float) -> list[ExperimentSpec]:
    """``state``'s stale trials already handed out again ``max_retries`` times, oldest first:
    those an ``ask`` records failed instead of handing them out once more."""
    return [s for s in _stale(state, stale_after, now) if _handed(state, s.id) > max_retries]


def worn_out_reason(state: Any, trial_id: str, stale_after: float, max_retries: int) -> str:
    """The failed trial's error: what happened to it (a person reads it in ``show``/the UI)."""
    return (
        f"handed out {_handed(state, trial_id)} times and never told, each time open longer "
        f"than --stale-after {age_text(stale_after)} (its workers died?); --max-retries "
        f"{max_retries} reached: failed by `perturbo ask`, not handed out again"
    )


def worn_out_line(specs: Sequence[ExperimentSpec], state: Any) -> str:
    """What ``ask`` says about the stale trials it recorded failed."""
    what = ", ".join(f"{s.id} (handed out {_handed(state, s.id)} times)" for s in specs)
    return (
        f"recorded failed, not handed out again, {len(specs)} stale trial(s) that reached "
        f"--max-retries (trials that kill their workers?): {what}; a failed trial counts "
        "against --trials"
    )


def take_stale(
    state: Any, n: int, stale_after: float, now: float, max_retries: int | None = None
) -> list[ExperimentSpec]:
    """Up to ``n`` of ``state``'s open trials last handed out more than ``stale_after`` seconds
    before ``now``, oldest first (then by id), each stamped handed out again at ``now``; with
    ``max_retries``, none already handed out again that many times (:func:`worn_out`)."""
    stale = _stale(state, stale_after, now)
    if max_retries is not None:
        stale = [s for s in stale if _handed(state, s.id) <= max_retries]
    taken = stale[:n]
    state.hand_out(taken, now)
    return taken


def reissue_line(specs: Sequence[ExperimentSpec], ages: dict[str, float], after: float) -> str:
    """What ``ask`` says about the stale trials it handed out again."""
    what = ", ".join(f"{s.id} (open {age_text(ages[s.id])})" for s in specs)
    return (
        f"handed out again {len(specs)} trial(s) open longer than --stale-after "
        f"{age_text(after)} (a dead worker's?): {what}; a late tell from its first worker "
        "still counts, the first tell wins"
    )
