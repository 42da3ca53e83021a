"""``perturbo ask`` and ``perturbo tell``, and ``perturbo run KIND --lab``: campaigns whose
experiments run in a lab (:mod:`perturbo.lab`).

    perturbo run genetic --lab --library lib.csv --hit-rule "score>=2" --task task.json
    perturbo ask CAMPAIGN [--out batch.csv]          # the batch waiting for results
    perturbo tell CAMPAIGN results.csv [--next-batch N] [--drop-failed]

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

if TYPE_CHECKING:
    from perturbo.config import RunOptions
    from perturbo.kindspec import KindSpec
    from perturbo.lab import LabStep

__all__ = ["add_ask_parser", "add_tell_parser", "start_lab"]

ASK_EPILOG = """\
examples:
  perturbo ask my-screen                       # the pending batch sheet, as CSV on stdout
  perturbo ask my-screen --out round2.csv      # ... written to a file
"""
TELL_EPILOG = """\
examples:
  perturbo tell my-screen results.csv          # Gene,Score[,Hit][,Replicate]: record, propose next
  perturbo tell my-screen part1.csv            # part of the batch: the rest stays pending
  perturbo tell my-screen --drop-failed        # the genes with no result failed: go on
  perturbo tell my-screen results.csv --next-batch 64

exit status: 0 recorded (or already recorded); 2 an error, nothing recorded (one line says why)
"""


def _store_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--tracking-uri",
        default=None,
        metavar="URI",
        help="MLflow store (default: $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db)",
    )


def _uri(tracking_uri: str | None) -> str:
    from perturbo import config as cfg

    return tracking_uri or cfg.env_tracking_uri() or cfg.default_tracking_uri()


def _kind_of(name: str) -> KindSpec:
    from perturbo import kinds

    return kinds.get(name)


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


def _write_sheet(step: LabStep, out: str | None, uri: str, default: bool) -> None:
    """The pending batch's sheet to ``out``, to a default file (``default``), or stdout."""
    from perturbo.tracking import store_flag

    for line in step.lines:
        _say(line)
    if step.pending is None:
        return
    text = sheet_csv(step.sheet)
    if out is None and default:
        out = f"{step.campaign}-round{step.pending.round + 1}.csv"
    if out is None:
        sys.stdout.write(text)
        return
    Path(out).write_text(text)
    _say(
        f"batch sheet: {out}; when the lab has measured it: `perturbo tell "
        f"{shlex.quote(step.campaign)} RESULTS.csv{store_flag(uri)}`"
    )


def start_lab(spec: KindSpec, config: Mapping[str, Any], options: RunOptions) -> int:
    """``perturbo run KIND --lab ...``: start the campaign, write round 1's sheet, exit 0."""
    from perturbo import lab

    name = options.name or f"{spec.default_name(config)}-{time.strftime('%Y%m%d-%H%M%S')}"
    uri = options.resolved_tracking_uri()
    _say(f"starting lab campaign {name!r} in {uri} ...")
    step = lab.start(spec, config, uri, name)
    _write_sheet(step, None, uri, default=True)
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
    p.add_argument("--out", default=None, metavar="FILE", help="write the sheet here")
    _store_option(p)

    def ask(ns: argparse.Namespace) -> int:
        from perturbo import lab

        uri = _uri(ns.tracking_uri)
        step = lab.ask(_kind_of, uri, _resolve(uri, ns.campaign))
        _write_sheet(step, ns.out, uri, default=False)
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
    p.add_argument("results", nargs="?", default=None, metavar="RESULTS.csv")
    p.add_argument("--next-batch", type=int, default=None, metavar="N", help="next round's size")
    p.add_argument(
        "--drop-failed",
        action="store_true",
        help="the batch's genes with no result failed: record them so and go on",
    )
    p.add_argument("--out", default=None, metavar="FILE", help="write the next sheet here")
    _store_option(p)

    def tell(ns: argparse.Namespace) -> int:
        from perturbo import lab
        from perturbo.types import PerturboError

        if ns.next_batch is not None and ns.next_batch <= 0:
            raise PerturboError(f"--next-batch {ns.next_batch}: give a positive number")
        uri = _uri(ns.tracking_uri)
        step = lab.tell(
            _kind_of,
            uri,
            _resolve(uri, ns.campaign),
            ns.results,
            next_batch=ns.next_batch,
            drop_failed=ns.drop_failed,
        )
        _write_sheet(step, ns.out, uri, default=True)
        return 0

    return tell
