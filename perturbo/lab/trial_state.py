"""What a trial lab campaign (:mod:`perturbo.lab.trials`) keeps in its store between steps:
``lab/trials.json`` on the parent run -- the ask log, the open trials, and when each trial was
handed out (every time: a stale trial handed out again, :mod:`perturbo.lab.stale`, has
several) -- and the waiting line ``status``/``show`` print (:mod:`perturbo.lab.pending`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from perturbo.history import History
from perturbo.lab.pending import LAB_TAG, Pending, write_pending
from perturbo.lab.stale import age_text
from perturbo.types import ExperimentSpec

__all__ = [
    "TRIALS_FILE",
    "TrialsState",
    "open_ages",
    "open_lines",
    "read_state",
    "waiting_line",
    "write_state",
]

TRIALS_FILE = "lab/trials.json"


@dataclass
class TrialsState:
    """The ask log and the trials handed out and not yet told (see the module docstring).
    ``handed``: trial id -> the times (epoch seconds) it was handed out, oldest first."""

    asks: list[dict[str, Any]] = field(default_factory=list)
    open: list[ExperimentSpec] = field(default_factory=list)
    next_number: int = 0
    handed: dict[str, list[float]] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(
            {
                "asks": self.asks,
                "open": [s.to_dict() for s in self.open],
                "next_number": self.next_number,
                "handed": self.handed,
            },
            indent=1,
        )

    @classmethod
    def from_json(cls, text: str) -> TrialsState:
        d = json.loads(text)
        asks = list(d["asks"])
        handed = {str(k): [float(t) for t in v] for k, v in dict(d.get("handed", {})).items()}
        for a in asks:  # a log written before hand-out times were kept: its asks' times
            for t in a.get("got", ()):
                handed.setdefault(str(t), [float(a.get("at", 0.0))])
        open_ = [ExperimentSpec.from_dict(s) for s in d["open"]]
        return cls(asks, open_, int(d["next_number"]), handed)

    def handed_at(self, trial_id: str) -> float:
        """When trial ``trial_id`` was last handed out (0.0: unknown)."""
        times = self.handed.get(trial_id)
        return times[-1] if times else 0.0

    def hand_out(self, specs: Sequence[ExperimentSpec], now: float) -> None:
        for s in specs:
            self.handed.setdefault(s.id, []).append(now)


def read_state(client: Any, run_id: str, history: History) -> TrialsState:
    """The campaign's state, its open trials less those the history holds (a tell killed after
    recording and before writing the log: its trials are told)."""
    import tempfile
    from pathlib import Path

    names = {f.path for f in client.list_artifacts(run_id, "lab")}
    if TRIALS_FILE not in names:
        return TrialsState()
    with tempfile.TemporaryDirectory(prefix="perturbo-lab-") as tmp:
        state = TrialsState.from_json(
            Path(client.download_artifacts(run_id, TRIALS_FILE, tmp)).read_text()
        )
    told = {o.spec.id for o in history}
    state.open = [s for s in state.open if s.id not in told]
    return state


def write_state(client: Any, run_id: str, state: TrialsState) -> None:
    """The log first, then what ``status``/``show`` read (the pending trials and the tag: how
    many are open, the one handed out longest ago and when)."""
    client.log_text(run_id, state.to_json(), TRIALS_FILE)
    client.set_tag(run_id, LAB_TAG, "1")
    if state.open:
        oldest = min(state.open, key=lambda s: state.handed_at(s.id))
        noun = f"{len(state.open)} open trials, the oldest {oldest.id}"
        pending = Pending(len(state.asks) - 1, state.handed_at(oldest.id), state.open, noun=noun)
        write_pending(client, run_id, pending)
    else:
        write_pending(client, run_id, None)


def open_ages(state: TrialsState, now: float) -> dict[str, float]:
    """Each open trial's age: seconds since it was last handed out."""
    return {s.id: max(0.0, now - state.handed_at(s.id)) for s in state.open}


def open_lines(state: TrialsState, name: str, now: float, limit: int = 10) -> list[str]:
    """One line per open trial, the one handed out longest ago first -- "t0003  open 2h 05m
    (handed out 2 times)" -- for ``perturbo show``: the waiting tag names only the oldest, and
    which of several workers died shows in the ages. At most ``limit`` lines, then "and N
    more" (a campaign may have hundreds open)."""
    import shlex

    ages = open_ages(state, now)
    specs = sorted(state.open, key=lambda s: (state.handed_at(s.id), s.id))
    lines = [
        f"{s.id}  open {age_text(ages[s.id])}"
        + (f" (handed out {k} times)" if (k := len(state.handed.get(s.id, ()))) > 1 else "")
        for s in specs[:limit]
    ]
    if len(specs) > limit:
        more = f"`perturbo ask {shlex.quote(name)}` lists them all"
        lines.append(f"and {len(specs) - limit} more ({more})")
    return lines


def waiting_line(state: TrialsState, name: str, now: float, limit: int = 6) -> str:
    """ "waiting for 2 trial(s): t0001 open 2h 05m, t0002 open 4m 10s" (the first ``limit``),
    or how to get more when none is open."""
    import shlex

    if not state.open:
        return f"no trial open: `perturbo ask {shlex.quote(name)} -n K` hands out K more"
    ages = open_ages(state, now)
    shown = ", ".join(
        f"{s.id} open {age_text(ages[s.id])}"
        + (f" (handed out {k} times)" if (k := len(state.handed.get(s.id, ()))) > 1 else "")
        for s in state.open[:limit]
    )
    more = " ..." if len(state.open) > limit else ""
    return f"waiting for {len(state.open)} trial(s): {shown}{more}"
