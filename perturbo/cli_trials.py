"""``perturbo ask`` / ``perturbo tell`` of a campaign that hands out trials one by one
(``perturbo run hyperparameter --lab``; :mod:`perturbo.lab.trials`), as Optuna's CLI does:

    perturbo ask CAMPAIGN                     # the open trials (their ages on stderr)
    perturbo ask CAMPAIGN -n K                # K more (the open ones are the planner's pending)
    perturbo ask CAMPAIGN --stale-after 2h    # one trial: a dead worker's open > 2h, else new
    perturbo ask CAMPAIGN --stale-after 2h --max-retries 1   # a stale trial handed out 2x: failed
    perturbo tell CAMPAIGN TRIAL_ID VALUE | results.csv | --failed TRIAL_ID

The parsers live in :mod:`perturbo.cli_lab` (a layer above this one), shared with the batch
kinds' ``ask``/``tell``.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "RETRIES_HELP",
    "STALE_HELP",
    "ask_trials",
    "negative_values_are_values",
    "print_trials",
    "stale_seconds",
    "tell_trials",
    "trials_text",
]

STALE_HELP = (
    "trials: hand out again, first, a trial open longer than DURATION (e.g. 2h, 30m, 1h30m, "
    "90s): a dead worker's; the same trial id and params, a late tell from its first worker "
    "still counts; without -n: one trial"
)


RETRIES_HELP = (
    "trials, with --stale-after: hand a stale trial out again at most N times (default 3); "
    "stale once more, it is recorded failed (a trial that kills its workers), which counts "
    "against --trials as any failed trial"
)


def negative_values_are_values(p: Any) -> None:
    """``perturbo tell NAME t0001 -1e-3`` (or ``-inf``): argparse takes ``-1e-3`` for an option
    (its negative-number pattern has no exponent) and said "unrecognized arguments". The tell
    parser has no option that looks like a number, so every number-like word is a value."""
    import re

    if hasattr(p, "_negative_number_matcher"):
        p._negative_number_matcher = re.compile(  # noqa: SLF001
            r"^-(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$|^-(?:inf|infinity|nan)$", re.IGNORECASE
        )


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def stale_seconds(text: str | None) -> float | None:
    """``--stale-after DURATION`` in seconds (``None``: not given); one line if it is not one."""
    from perturbo.lab.stale import parse_duration

    return None if text is None else parse_duration(text, "--stale-after")


def trials_text(specs: Sequence[Any], fmt: str) -> str:
    """Trials as JSON (a list of ``{"trial_id", "number", "params"}``, Optuna's ``ask``
    output plus the id) or a CSV table (trial_id, number, one column per parameter)."""
    import csv
    import io
    import json

    from perturbo.lab.trial_ids import trial_rows

    rows = trial_rows(specs)
    if fmt == "json":
        return json.dumps(rows, indent=1, default=str) + "\n"
    names = list(dict.fromkeys(k for r in rows for k in r["params"]))
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=["trial_id", "number", *names], lineterminator="\n")
    w.writeheader()
    for r in rows:
        params = r["params"]
        w.writerow(
            {"trial_id": r["trial_id"], "number": str(r["number"])}
            | {k: "" if params.get(k) is None else str(params[k]) for k in names}
        )
    return buf.getvalue()


def print_trials(
    step: Any, fmt: str, uri: str, out: str | None = None, show_open: bool = False
) -> None:
    """The step's lines on stderr; its new trials (``show_open``: the open ones) on stdout or
    to ``out``; none once the campaign has finished (``[]``, or the CSV's header: a worker
    that parses what ``ask`` wrote met an empty output and crashed on it)."""
    from perturbo.tracking import store_flag

    for line in step.lines:
        _say(line)
    text = trials_text([] if step.finished else step.open if show_open else step.asked, fmt)
    if out is None:
        sys.stdout.write(text)
    else:
        Path(out).write_text(text)
    if step.finished:
        return
    _say(
        f"when a trial is done: `perturbo tell {shlex.quote(step.campaign)} TRIAL_ID VALUE"
        f"{store_flag(uri)}`"
    )


def ask_trials(
    kind_of: Any,
    uri: str,
    name: str,
    n: int | None,
    fmt: str,
    out: str | None,
    wait_s: float | None = None,
    stale_after: str | None = None,
    now: float | None = None,
    max_retries: int | None = None,
) -> int:
    """``perturbo ask CAMPAIGN [-n K] [--stale-after DURATION [--max-retries N]]``: without
    ``-n`` the open trials (a new ``--batch`` when none is open), or with ``--stale-after`` one
    trial; ``now``: the time the step judges and stamps by (default: the clock)."""
    from perturbo.lab import trials
    from perturbo.lab.stale import check_retries
    from perturbo.types import PerturboError

    if n is not None and n <= 0:
        raise PerturboError(f"-n {n}: ask for a positive number of trials")
    after = stale_seconds(stale_after)
    retries = check_retries(max_retries, after)
    if after is not None and n is None:
        n = 1  # a worker asking for its next trial, a stale one first
    step = trials.ask(
        kind_of, uri, name, n, wait_s, stale_after=after, now=now, max_retries=retries
    )
    print_trials(step, fmt, uri, out, show_open=not step.asked)
    return 0


def tell_trials(
    kind_of: Any,
    uri: str,
    name: str,
    first: str | None,
    value: str | None,
    failed: list[str],
    wait_s: float | None = None,
    correct: bool = False,
) -> int:
    """``tell CAMPAIGN TRIAL_ID VALUE``, ``tell CAMPAIGN results.csv|json``, ``--failed ID``;
    ``correct`` is refused in one line (a trial's value is told once)."""
    from perturbo.lab import lab_side, trials
    from perturbo.tracking import open_store
    from perturbo.types import PerturboError

    if correct:
        raise PerturboError(
            f"--correct: campaign {name!r} hands out trials, and a trial's told value cannot "
            "be corrected yet (only a genetic lab campaign's results can); nothing recorded"
        )

    if first is not None and value is None:
        from perturbo.lab.trial_values import refuse_missing_file

        refuse_missing_file(first)
    config = open_store(uri).config(name)
    objective = str(config.get("objective") or "value").split(",")[0]
    lab = lab_side(kind_of(str(config.get("kind", ""))))
    values = lab.told(first, value, failed, objective)
    step = trials.tell(kind_of, uri, name, values, wait_s)
    for line in step.lines:
        _say(line)
    return 0
