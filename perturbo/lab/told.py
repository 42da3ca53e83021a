"""What a ``perturbo tell`` says about the results it was told, in the lab's words: experiments
named as the lab names them (a genetic campaign's genes, through the kind's ``label`` hook),
values told twice with the recorded and the new value, the experiments dropped as failed, and
the corrections (``perturbo tell --correct``) kept with the campaign."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from perturbo.history import History
from perturbo.lab.pending import Pending
from perturbo.types import ExperimentSpec, Observation, Outcome, PerturboError

__all__ = [
    "already_recorded",
    "correction_csv",
    "dropped_line",
    "label",
    "names",
    "recorded_line",
    "refuse_or_correct",
]

SHOWN = 10
"""How many names a line lists before ``...``."""


def label(lab: Any, spec: ExperimentSpec) -> str:
    """How the lab names ``spec`` (the kind's ``label`` hook; its id where the kind has none)."""
    hook = getattr(lab, "label", None)
    return str(hook(spec)) if callable(hook) else spec.id


def names(lab: Any, specs: Sequence[ExperimentSpec]) -> str:
    shown = [label(lab, s) for s in specs[:SHOWN]]
    return ", ".join(shown) + (", ..." if len(specs) > SHOWN else "")


def value(outcome: Outcome) -> str:
    """An outcome in one word: its first metric (a genetic result's score), or its status."""
    if not outcome.ok or not outcome.metrics:
        return outcome.status.value
    return f"{float(next(iter(outcome.metrics.values()))):g}"


def _pair(before: Outcome, now: Outcome) -> str:
    """``recorded A, this file B``: every metric where the first one is the same (a Hit column
    changed and not the score)."""
    a, b = value(before), value(now)
    if a == b:
        a, b = (", ".join(f"{k} {float(v):g}" for k, v in o.metrics.items()) for o in (before, now))
    return f"recorded {a}, this file {b}"


def _changes(
    lab: Any, specs: Mapping[str, ExperimentSpec], before: Mapping[str, Outcome], now: Any
) -> str:
    shown = [f"{label(lab, specs[k])}: {_pair(before[k], o)}" for k, o in list(now.items())[:SHOWN]]
    return "; ".join(shown) + ("; ..." if len(now) > SHOWN else "")


def refuse_or_correct(
    lab: Any,
    client: Any,
    run_id: str,
    name: str,
    path: str,
    pending: Pending,
    told: Mapping[str, Outcome],
    correct: bool,
) -> str | None:
    """Results of the pending round that ``path`` tells with other values than told before:
    refused in one line naming each one, its recorded and its new value and how to go on; or
    (``correct``) replaced in ``pending``, the old values kept on the campaign's run
    (``lab/correction-rNNN-TIME.csv``), and a line saying what changed. None where no value
    differs from one told before."""
    changed = {k: v for k, v in told.items() if k in pending.told and pending.told[k] != v}
    if not changed:
        return None
    specs = {s.id: s for s in pending.specs}
    what = _changes(lab, specs, pending.told, changed)
    if not correct:
        raise PerturboError(
            f"{path}: {len(changed)} result(s) were told before with other values ({what}); "
            f"nothing recorded; remove those rows to keep the values told, or `perturbo tell "
            f"{name} {path} --correct` to replace them (round {pending.round + 1} is not "
            "recorded yet)"
        )
    stamp = time.strftime("%Y%m%d-%H%M%S")
    record = correction_csv(lab, path, specs, pending.told, changed)
    client.log_text(run_id, record, f"lab/correction-r{pending.round + 1:03d}-{stamp}.csv")
    pending.told.update(changed)
    return f"{path}: corrected {len(changed)} result(s) of round {pending.round + 1} ({what})"


def already_recorded(
    lab: Any, config: Mapping[str, Any], path: str, history: History
) -> int | None:
    """The recorded round ``path`` tells exactly again (the same file told twice), else None."""
    from perturbo.lab.replay import by_round

    rounds = by_round(history)
    if not rounds:
        return None
    r, obs = rounds[-1]
    before = History([o for o in history if o.spec.round != r])
    try:
        told = lab.read_results(config, path, [o.spec for o in obs], before)
    except PerturboError:
        return None
    recorded = {o.spec.id: o.outcome.metrics for o in obs}
    if told and all(dict(recorded.get(k, {})) == dict(v.metrics) for k, v in told.items()):
        return r
    return None


def dropped_line(lab: Any, specs: Sequence[ExperimentSpec], round_no: int) -> str:
    return f"marked {len(specs)} of round {round_no + 1} failed (no result): {names(lab, specs)}"


def recorded_line(lab: Any, round_no: int, obs: Sequence[Observation]) -> str:
    """``recorded round N: R results`` and, where some failed, how many and which."""
    failed = [o.spec for o in obs if not o.outcome.ok]
    line = f"recorded round {round_no + 1}: {len(obs) - len(failed)} results"
    return line + (f", {len(failed)} failed: {names(lab, failed)}" if failed else "")


def correction_csv(
    lab: Any,
    path: str,
    specs: Mapping[str, ExperimentSpec],
    before: Mapping[str, Outcome],
    changed: Mapping[str, Outcome],
) -> str:
    """The record of one correction: which results ``path`` replaced, the old and new values."""
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["time", "file", "id", "name", "recorded", "corrected"])
    when = time.strftime("%Y-%m-%d %H:%M:%S")
    for k, o in changed.items():
        w.writerow([when, path, k, label(lab, specs[k]), value(before[k]), value(o)])
    return buf.getvalue()
