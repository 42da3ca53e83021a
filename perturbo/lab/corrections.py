"""Corrections of recorded results, kept as a lab notebook keeps them: append-only and dated.

A recorded round's results are never rewritten. ``perturbo tell CAMPAIGN FILE --correct``
with a file that gives genes of a recorded round other values appends one entry to the
campaign's run: ``lab/corrections/corrected-TIME.json`` (the machine's record: round, id, name,
old and new outcome, who, when, the file, the reason) beside ``lab/correction-rNNN-TIME.csv``
(the same, for people), and counts them in the run's ``lab.corrections`` tag. The old values
stay readable in the round's own record and in every correction entry.

From then on readers take the latest correction of each result (:func:`corrected`). The
planner is rebuilt by replaying the recorded rounds with the values they were proposed from
(so the recorded batches reproduce, :mod:`perturbo.lab.replay`), then told the corrected
observations before it proposes again (:func:`tell_corrections`): the genetic planners keep
one label and score per gene, so a later tell replaces the earlier one. Rounds already
proposed are not proposed again.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from perturbo.history import History
from perturbo.lab.told import label, value
from perturbo.tracking.corrections_read import (
    CORRECTIONS_DIR,
    CORRECTIONS_TAG,
    corrected,
    read_corrections,
)
from perturbo.types import Observation, Outcome, PerturboError

__all__ = [
    "CORRECTIONS_DIR",
    "CORRECTIONS_TAG",
    "correct_recorded",
    "correct_step",
    "due",
    "corrected",
    "read_corrections",
    "recorded_round_of",
    "tell_corrections",
]

SHOWN = 10


def due(entries: Sequence[Mapping[str, Any]], round_no: int) -> list[Mapping[str, Any]]:
    """The corrections made before round ``round_no`` (0-based) was proposed: those its
    proposal (and a replay of it) learns from."""
    return [e for e in entries if int(e.get("applies_from", 0)) <= round_no]


def tell_corrections(planner: Any, history: Sequence[Observation], entries: Sequence[Any]) -> int:
    """Tell a replayed ``planner`` the corrected observations of ``history`` (after the rounds
    proposed before the corrections, before the next ask); how many it was told."""
    ids = {str(e["id"]) for e in entries}
    if not ids:
        return 0
    fixed = [o for o in corrected(history, entries) if o.spec.id in ids]
    if fixed:
        planner.tell(fixed)
    return len(fixed)


def recorded_round_of(
    lab: Any, config: Mapping[str, Any], path: str, history: History
) -> tuple[int, dict[str, Outcome]] | None:
    """The recorded round whose genes the results file ``path`` gives, with their outcomes
    read as that round's (its hit rule, its controls); ``None`` where it is no recorded
    round's (latest round tried first)."""
    from perturbo.lab.replay import by_round

    for r, obs in reversed(by_round(history)):
        before = History([o for o in history if o.spec.round != r])
        try:
            told = lab.read_results(config, path, [o.spec for o in obs], before)
        except PerturboError:
            continue
        if told:
            return r, told
    return None


def correct_recorded(
    lab: Any,
    client: Any,
    run_id: str,
    path: str,
    round_no: int,
    told: Mapping[str, Outcome],
    history: History,
    *,
    later: Sequence[int] = (),
    applies_from: int,
    reason: str | None = None,
    hit_call: str | None = None,
) -> list[str]:
    """Append the correction of recorded round ``round_no`` (0-based) that ``path`` gives
    (``told``: its outcomes by id) to the run ``run_id``; the lines that say what changed,
    old -> new per gene, and which ``later`` rounds (0-based) were proposed from the old
    values. Values equal to those in force are not recorded again. ``hit_call``: what the
    correction's hit call stood on (the kind's ``hit_call`` hook), kept beside it."""
    entries = read_corrections(client, run_id)
    now = {o.spec.id: o for o in corrected(history, entries)}
    changed = {k: o for k, o in told.items() if k in now and _differs(now[k].outcome, o)}
    r1 = round_no + 1
    if not changed:
        return [f"{path}: round {r1}'s values are already these; nothing corrected"]
    who, when = _who(), time.strftime("%Y-%m-%d %H:%M:%S")
    new = [
        {
            "round": r1,
            "id": k,
            "name": label(lab, now[k].spec),
            "old": now[k].outcome.to_dict(),
            "new": o.to_dict(),
            "who": who,
            "when": when,
            "file": path,
            "reason": reason or "",
            "applies_from": applies_from,
        }
        for k, o in changed.items()
    ]
    stamp = time.strftime("%Y%m%d-%H%M%S") + f"-{time.time_ns() % 10**9:09d}"
    client.log_text(run_id, _csv(new), f"lab/correction-r{r1:03d}-{stamp}.csv")
    client.log_text(
        run_id, json.dumps({"corrections": new}), f"{CORRECTIONS_DIR}/corrected-{stamp}.json"
    )
    if hit_call:
        client.log_text(run_id, hit_call, f"lab/hit-call-r{r1:03d}-correction-{stamp}.csv")
    client.set_tag(run_id, CORRECTIONS_TAG, str(len(entries) + len(new)))
    pairs = [
        f"{e['name']}: {value(Outcome.from_dict(e['old']))} -> {value(Outcome.from_dict(e['new']))}"
        for e in new[:SHOWN]
    ]
    more = "; ..." if len(new) > SHOWN else ""
    lines = [
        f"{path}: corrected {len(new)} recorded result(s) of round {r1} "
        f"({'; '.join(pairs)}{more}); the old values are kept (lab/correction-r{r1:03d}-"
        f"{stamp}.csv)"
    ]
    if later:
        which = ", ".join(str(r + 1) for r in later)
        was = "was" if len(later) == 1 else "were"
        lines.append(
            f"round {which} {was} proposed from the old value(s) and is not proposed again; "
            "the next batch is proposed from the corrected ones"
        )
    else:
        lines.append("the next batch is proposed from the corrected value(s)")
    return lines


def _differs(a: Outcome, b: Outcome) -> bool:
    return a.status != b.status or dict(a.metrics) != dict(b.metrics)


def _who() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name known: the record says so
        return "unknown"


def _csv(entries: Sequence[Mapping[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["time", "who", "file", "round", "id", "name", "recorded", "corrected", "reason"])
    for e in entries:
        old, new = Outcome.from_dict(e["old"]), Outcome.from_dict(e["new"])
        w.writerow(
            [e["when"], e["who"], e["file"], e["round"], e["id"], e["name"], value(old),
             value(new), e["reason"]]
        )  # fmt: skip
    return buf.getvalue()


def correct_step(
    lab: Any,
    store: Any,
    run_id: str,
    config: Mapping[str, Any],
    path: str,
    history: History,
    pending: Any,
    reason: str | None = None,
) -> list[str] | None:
    """``perturbo tell --correct`` of a file that gives a recorded round's results: the
    correction recorded (:func:`correct_recorded`) and what to say; ``None`` where the file
    gives no recorded round's genes (a pending round's correction, or an error, read as
    before)."""
    found = recorded_round_of(lab, config, path, history)
    if found is None:
        return None
    r, told = found
    hook = getattr(lab, "hit_call", None)
    specs = [o.spec for o in history if o.spec.round == r]
    before = History([o for o in history if o.spec.round != r])
    hit_call = hook(config, path, specs, before) if hook is not None else None
    proposed = history.last_round if pending is None else max(pending.round, history.last_round)
    lines = correct_recorded(
        lab,
        store.client,
        run_id,
        path,
        r,
        told,
        history,
        later=list(range(r + 1, proposed + 1)),
        applies_from=proposed + 1,
        reason=reason,
        hit_call=hit_call,
    )
    if pending is not None:
        lines.append(pending.line())
    return lines
