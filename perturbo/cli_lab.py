"""``perturbo ask`` and ``perturbo tell``, and ``perturbo run KIND --lab``: campaigns whose
experiments run in a lab (:mod:`perturbo.lab`).

    perturbo run genetic --lab --library lib.csv --hit-rule "score>=2" --task task.json
    perturbo ask CAMPAIGN [--out batch.csv]          # the batch waiting for results
    perturbo tell CAMPAIGN results.csv [--next-batch N] [--drop-failed] [--correct]

    perturbo run hyperparameter --lab --space space.toml --objective loss --direction min
    perturbo ask CAMPAIGN [-n K] [--format json|csv] [--stale-after 2h] # trials trained elsewhere
    perturbo tell CAMPAIGN TRIAL_ID VALUE | results.csv | --failed TRIAL_ID  # (perturbo.cli_trials)

Every command exits when its step is done; the store holds everything between them.
"""

from __future__ import annotations

import argparse
import csv
import io
import shlex
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from perturbo.cli_trials import RETRIES_HELP, STALE_HELP, negative_values_are_values

if TYPE_CHECKING:
    from perturbo.config import RunOptions
    from perturbo.kindspec import KindSpec
    from perturbo.lab import LabStep
    from perturbo.lab.pending import Pending

__all__ = ["add_ask_parser", "add_tell_parser", "resume_lab", "sheet_csv", "start_lab"]

ASK_EPILOG = """\
examples:
  perturbo ask my-screen                       # the pending batch sheet, as CSV on stdout
  perturbo ask my-screen --out round2.csv      # ... written to a file
  perturbo ask my-screen --to-come             # only the genes whose results are still to come
  perturbo ask my-hpo --format json            # the open trials of a hyperparameter lab campaign
  perturbo ask my-hpo -n 2 --format json       # two more trials (the open ones count as pending)
  perturbo ask my-hpo --stale-after 2h         # one trial: one open > 2h (a dead worker's), else new
  perturbo ask my-hpo --stale-after 2h --max-retries 1  # ... one stale twice: recorded failed

another `perturbo ask`/`tell` of the same campaign holding it is waited for (--wait, 30 s).
"""
TELL_EPILOG = """\
examples:
  perturbo tell my-screen results.csv          # Gene,Score[,Hit][,Replicate]: record, propose next
  perturbo tell my-screen part1.csv            # part of the batch: the rest stays pending
  perturbo tell my-screen --drop-failed        # the genes with no result failed: go on
  perturbo tell my-screen results.csv --next-batch 64
  perturbo tell my-screen fixed.csv --correct  # replace values told before (round still pending)
  perturbo tell my-screen redo.csv --correct --reason "well B3 re-measured"  # a recorded round:
      # a dated correction (old -> new kept); the next batch learns from the new values
  perturbo tell my-hpo t0003 0.914             # one trial of a hyperparameter lab campaign
  perturbo tell my-hpo results.csv             # several: trial_id,value (or .json)
  perturbo tell my-hpo --failed t0004          # a trial that failed

another `perturbo ask`/`tell` of the same campaign holding it is waited for (--wait, 30 s).

exit status: 0 recorded (a batch's results file told again: 0 too, nothing new recorded);
2 an error, nothing recorded, one line says why (e.g. a trial told twice)
"""


def _store_option(p: argparse.ArgumentParser) -> None:
    from perturbo.show import store_option

    store_option(p, None)
    p.add_argument(
        "--wait",
        type=float,
        default=None,
        metavar="SECONDS",
        help="how long to wait for another `perturbo ask`/`tell` that holds the campaign "
        "(default: 30)",
    )


def _wait(ns: argparse.Namespace) -> float | None:
    from perturbo.types import PerturboError

    if ns.wait is not None and not ns.wait >= 0:
        raise PerturboError(f"--wait {ns.wait:g}: give a number of seconds, 0 or more")
    return ns.wait


def _uri(tracking_uri: str | None) -> str:
    from perturbo import config as cfg

    return tracking_uri or cfg.env_tracking_uri() or cfg.default_tracking_uri()


def _kind_of(name: str) -> KindSpec:
    from perturbo import kinds

    return kinds.get(name)


def _trials_mode(spec: KindSpec) -> bool:
    """Whether the kind's lab hands out trials one by one (:mod:`perturbo.lab.trials`)."""
    from perturbo.lab import lab_side

    return getattr(lab_side(spec), "mode", "") == "trials"


def _campaign_trials_mode(uri: str, name: str) -> bool:
    """Whether lab campaign ``name`` hands out trials (refusing a campaign that is no lab's)."""
    from perturbo import tracking
    from perturbo.lab.stored import lab_run

    store = tracking.open_store(uri)
    lab_run(store, name)
    kind = str(store.config(name).get("kind", ""))
    return _trials_mode(_kind_of(kind))


def _resolve(uri: str, name: str) -> str:
    from perturbo import tracking
    from perturbo.launch_checks import resolve_campaign

    return resolve_campaign(tracking.open_store(uri), name)


def sheet_csv(rows: Sequence[Mapping[str, str]]) -> str:
    buf = io.StringIO()
    if rows:
        w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return buf.getvalue()


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _write_sheet(
    step: LabStep, out: str | None, uri: str, default: bool, since: float, to_come: bool = False
) -> None:
    """The pending batch's sheet to ``out``, to a default file (``default``), or stdout
    (``to_come``: only the rows still to come). A file is never overwritten with what it
    holds, nor where it differs from what perturbo wrote
    (:func:`perturbo.lab.stored.place_sheet`)."""
    from perturbo.lab.pending import NAMED_TO_COME
    from perturbo.lab.stored import place_sheet
    from perturbo.tracking import store_flag

    for line in step.lines:
        _say(line)
    pending = step.pending
    if pending is None or not step.sheet:
        return
    rows = _rows_to_come(step.sheet, pending) if to_come else step.sheet
    text = sheet_csv(rows)
    name = shlex.quote(step.campaign)
    rest = pending.to_come() if pending.told else []
    more = f"`perturbo ask {name} --to-come{store_flag(uri)}` lists the {len(rest)} to come"
    if out is None and not default:
        sys.stdout.write(text)
        if len(rest) > NAMED_TO_COME and not to_come:
            _say(more)
        return
    path = Path(out) if out is not None else Path(f"{step.campaign}-round{pending.round + 1}.csv")
    try:  # fresh: proposed by this step (a later step of the same round rewrites nothing)
        said = place_sheet(
            path, text, out is not None, pending.proposed >= since, uri, step.campaign
        )
    except OSError as e:
        from perturbo.types import PerturboError

        done = "" if step.recorded is None else f"round {step.recorded + 1} was recorded; "
        again = f"perturbo ask {name} --out FILE{store_flag(uri)}"
        raise PerturboError(
            f"--out {path}: the batch sheet cannot be written ({e.strerror or e}); {done}"
            f"get it again with `{again}`"
        ) from None
    _say(f"batch sheet: {said}; when the lab has measured it: `perturbo tell {name} "
         f"RESULTS.csv{store_flag(uri)}`")  # fmt: skip
    if len(rest) > NAMED_TO_COME and not to_come:
        _say(more)


def _rows_to_come(rows: Sequence[Mapping[str, str]], pending: Pending) -> list[Mapping[str, str]]:
    """The sheet's rows with no result yet (the controls, measured in every batch, stay)."""
    rest = {g.strip().upper() for g in pending.to_come()}
    return [r for r in rows if not r.get("Rank") or str(r.get("Gene", "")).strip().upper() in rest]


def start_lab(
    spec: KindSpec,
    config: Mapping[str, Any],
    options: RunOptions,
    pinned: Sequence[Mapping[str, Any]] = (),
) -> int:
    """``perturbo run KIND --lab ...``: start the campaign, write round 1's sheet, exit 0.
    ``pinned`` (``--pin``): experiments handed out first."""
    from perturbo import lab
    from perturbo.names import auto_name

    name = options.name or auto_name(spec.default_name(config))
    uri = options.resolved_tracking_uri()
    from perturbo.tracking.uri import shown_uri

    _say(f"starting lab campaign {name!r} in {shown_uri(uri)} ...")
    if _trials_mode(spec):
        from perturbo.cli_trials import print_trials
        from perturbo.lab import trials

        tstep = trials.start(spec, config, uri, name, pinned)
        print_trials(tstep, "json", uri)
        return 0
    since = time.time()
    step = lab.start(spec, config, uri, name, pinned)
    _write_sheet(step, None, uri, default=True, since=since)
    return 0


def add_ask_parser(sub: Any) -> Any:
    p = sub.add_parser(
        "ask",
        help="the batch a lab campaign waits for results of (its sheet, CSV)",
        description="Write the pending batch sheet of a lab campaign (stdout without --out).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=ASK_EPILOG,
    )
    p.add_argument("campaign", metavar="CAMPAIGN")
    p.add_argument(
        "--out",
        default=None,
        metavar="FILE",
        help="write the sheet here (a file "
        "that is an edited batch sheet is kept: the sheet goes beside it, FILE-v2)",
    )
    p.add_argument("--to-come", action="store_true", help="only the genes with no result told "
                   "yet (part of the batch told; the controls stay)")  # fmt: skip
    p.add_argument(
        "-n",
        type=int,
        default=None,
        metavar="K",
        help="trials: propose K more (the open ones are the planner's pending); "
        "without -n: the open trials (a new --batch of them when none is open); "
        "Python: open_campaign(NAME).ask(K), open() for the open ones",
    )
    p.add_argument("--stale-after", default=None, metavar="DURATION", help=STALE_HELP)
    p.add_argument("--max-retries", type=int, default=None, metavar="N", help=RETRIES_HELP)
    p.add_argument(
        "--format",
        choices=("json", "csv"),
        default=None,
        help="trials: print them as JSON (default; trial_id, number, params) or a CSV table",
    )
    _store_option(p)

    def ask(ns: argparse.Namespace) -> int:
        from perturbo import lab
        from perturbo.cli_trials import ask_trials, stale_seconds
        from perturbo.lab.stale import check_retries
        from perturbo.lab.step_checks import check_out
        from perturbo.types import PerturboError

        # a bad duration or retry count: one line before the store is read
        check_retries(ns.max_retries, stale_seconds(ns.stale_after))
        uri = _uri(ns.tracking_uri)
        name = _resolve(uri, ns.campaign)
        check_out(ns.out)  # before a step that may record (a repair)
        if _campaign_trials_mode(uri, name):
            if ns.to_come:
                raise PerturboError(f"campaign {name!r} hands out trials: --to-come is for a "
                                    "batch sheet; `perturbo ask` prints the open trials")  # fmt: skip
            fmt, wait = ns.format or "json", _wait(ns)
            more = {"stale_after": ns.stale_after, "max_retries": ns.max_retries}
            return ask_trials(_kind_of, uri, name, ns.n, fmt, ns.out, wait, **more)
        if ns.n is not None or ns.format == "json" or ns.stale_after is not None:
            raise PerturboError(
                f"campaign {name!r} asks in batches: -n, --stale-after and --format json are "
                "for trials "
                "(hyperparameter lab campaigns); `perturbo ask` writes its batch sheet (CSV)"
            )
        since = time.time()
        step = lab.ask(_kind_of, uri, name, wait_s=_wait(ns))
        _write_sheet(step, ns.out, uri, default=False, since=since, to_come=ns.to_come)
        return 0

    return ask


def add_tell_parser(sub: Any) -> Any:
    p = sub.add_parser(
        "tell",
        help="record what the lab measured and propose the next batch",
        description="Record a lab campaign's results (Gene,Score; optional Hit and Replicate "
        "columns) exactly once, then propose the next batch and write its sheet.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=TELL_EPILOG,
    )
    p.add_argument("campaign", metavar="CAMPAIGN")
    p.add_argument(
        "results", nargs="?", default=None, metavar="RESULTS.csv|TRIAL_ID",
        help="the results file; for trials also a trial id followed by its VALUE",
    )  # fmt: skip
    p.add_argument("value", nargs="?", default=None, metavar="VALUE", help="trials: its value")
    negative_values_are_values(p)
    p.add_argument(
        "--failed",
        action="append",
        default=[],
        metavar="TRIAL_ID",
        help="trials: this trial failed (no value); repeat for several",
    )
    p.add_argument("--next-batch", type=int, default=None, metavar="N", help="next round's size")
    p.add_argument(
        "--drop-failed",
        action="store_true",
        help="the batch's genes with no result failed: record them so and go on",
    )
    p.add_argument("--correct", action="store_true", help="replace values told before, pending "
                   "or recorded (a typo, a re-measured well); old values kept, dated")  # fmt: skip
    p.add_argument("--reason", default=None, help="with --correct: why, kept with the correction")
    p.add_argument("--out", default=None, metavar="FILE", help="write the next sheet here")
    _store_option(p)

    def tell(ns: argparse.Namespace) -> int:
        from perturbo import lab
        from perturbo.lab.step_checks import check_out
        from perturbo.types import PerturboError

        if ns.next_batch is not None and ns.next_batch <= 0:
            raise PerturboError(f"--next-batch {ns.next_batch}: give a positive number")
        uri = _uri(ns.tracking_uri)
        name = _resolve(uri, ns.campaign)
        if _campaign_trials_mode(uri, name):
            from perturbo.cli_trials import tell_trials

            return tell_trials(
                _kind_of, uri, name, ns.results, ns.value, ns.failed, _wait(ns), ns.correct
            )
        if ns.value is not None or ns.failed:
            raise PerturboError(
                f"campaign {name!r} is told a results file (Gene,Score): TRIAL_ID VALUE and "
                "--failed are for trials (hyperparameter lab campaigns)"
            )
        check_out(ns.out)
        since = time.time()
        step = lab.tell(
            _kind_of,
            uri,
            name,
            ns.results,
            next_batch=ns.next_batch,
            drop_failed=ns.drop_failed,
            wait_s=_wait(ns),
            correct=ns.correct,
            reason=ns.reason,
        )
        _write_sheet(step, ns.out, uri, default=True, since=since)
        return 0

    return tell


def resume_lab(ns: argparse.Namespace, values: dict[str, Any]) -> int | None:
    """``perturbo resume`` of a lab campaign: one step, no driver (:mod:`perturbo.lab.extend`:
    raise its budget, go on once finished or stopped), the next batch's sheet written as
    ``perturbo tell`` writes it; ``None`` for a campaign that is not a lab's."""
    from perturbo import config as cfg
    from perturbo import kinds, tracking
    from perturbo.lab.pending import LAB_TAG
    from perturbo.launch_checks import resolve_campaign
    from perturbo.types import PerturboError

    uri = values.get("tracking_uri") or cfg.env_tracking_uri() or cfg.default_tracking_uri()
    try:
        store = tracking.open_store(uri)
        name = resolve_campaign(store, ns.campaign)
        _, parent = store._open(name)  # noqa: SLF001
    except PerturboError:
        return None  # `resume` says what is wrong, in its own words
    if parent.data.tags.get(LAB_TAG) != "1":
        return None
    if getattr(ns, "pin", None):
        raise PerturboError(
            f"--pin: campaign {name!r} is a lab campaign; its pins are given when it starts "
            "(`perturbo run KIND --lab --pin JSON`)"
        )
    from perturbo.lab.extend import resume_lab as extend

    since = time.time()
    step = extend(kinds.get, uri, name, {"rounds": ns.rounds, "trials": ns.trials})
    _write_sheet(step, None, uri, default=True, since=since)  # as `perturbo tell` writes it
    return 0
