"""``perturbo export CAMPAIGN``: every recorded experiment of a campaign as one table, for a
paper, a collaborator or a notebook.

One row per experiment, in the order they were recorded: ``campaign``, ``round`` (1..N, as
``show`` numbers them), ``experiment`` (its id: a lab trial's ``t0003``, a screen's gene
row), ``status``, then one column per parameter (a screen's ``gene``), one per recorded
metric (a screen's ``score`` and ``hit``; a trial's objectives), ``duration_s`` and
``error`` (why an experiment failed or was rejected). CSV (a header, RFC 4180 quoting:
pandas ``read_csv`` and spreadsheets read it back) or JSON lines (``--format jsonl``: one
object per experiment, values typed). Nothing is computed: these are the values the store
holds, the same ones planners learnt from.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TextIO

from perturbo.show import store_option
from perturbo.types import PerturboError

__all__ = ["add_parser", "export", "rows"]

EPILOG = """\
examples:
  perturbo export my-screen                       # CSV on standard output
  perturbo export my-screen -o my-screen.csv      # to a file (refused if it exists; --force)
  perturbo export hpo-branin --format jsonl       # one JSON object per experiment

columns: campaign, round, experiment, status, one per parameter (a screen's gene), one per
metric (a screen's score and hit, a trial's objectives), a lab screen's replicates and
file (the results file each gene's value came from), duration_s, error.
"""

FIXED = ("campaign", "round", "experiment", "status")
TAIL = ("duration_s", "error")


def add_parser(sub: Any) -> Any:
    """``perturbo export`` as a plugged command (``cli.PLUGGED``)."""
    p = sub.add_parser(
        "export",
        help="write every recorded experiment of a campaign as CSV (or JSON lines)",
        description="Every experiment a campaign recorded, one row each: its round, id, "
        "status, parameters and measured values, as the store holds them.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EPILOG,
    )
    p.add_argument("campaign", metavar="CAMPAIGN", help="its name (or a unique part of it)")
    p.add_argument("-o", "--output", metavar="FILE", help="write here (default: standard output)")
    p.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    p.add_argument("--force", action="store_true", help="overwrite an existing --output file")
    store_option(p)
    return lambda ns: export(
        ns.campaign, getattr(ns, "tracking_uri", None), ns.output, ns.format, ns.force
    )


def _integral(values: Iterable[float]) -> bool:
    """Whether every finite value of a metric is a whole number (a hit call, a count): its
    column is then written 1, not 1.0. A score column with one 0.5 keeps 2.0 as 2.0."""
    finite = [v for v in values if math.isfinite(v)]
    return bool(finite) and all(v.is_integer() and abs(v) < 2**53 for v in finite)


def _value(v: float, integral: bool) -> Any:
    if math.isnan(v):
        return None
    return int(v) if integral and math.isfinite(v) else v


def rows(campaign: str, history: Iterable[Any]) -> tuple[list[str], list[dict[str, Any]]]:
    """The columns and one row per observation of ``history`` (in order)."""
    obs = list(history)
    params: list[str] = []
    metrics: list[str] = []
    for o in obs:
        params += [k for k in o.spec.params if k not in params]
        metrics += [k for k in o.outcome.metrics if k not in metrics]
    clash = set(params) & (set(metrics) | set(FIXED) | set(TAIL))
    integral = {m: _integral(float(o.outcome.metrics[m]) for o in obs if m in o.outcome.metrics)
                for m in metrics}  # fmt: skip
    out = []
    for o in obs:
        row: dict[str, Any] = {
            "campaign": campaign,
            "round": o.spec.round + 1,
            "experiment": o.spec.id,
            "status": o.outcome.status.value,
        }
        for k in params:
            row[k] = o.spec.params.get(k)
        for k, v in o.outcome.metrics.items():
            row[k if k not in clash else f"metric.{k}"] = _value(float(v), integral[k])
        row["duration_s"] = round(float(o.outcome.duration_s), 3) or None
        row["error"] = o.outcome.error or None
        out.append(row)
    shown = [m if m not in clash else f"metric.{m}" for m in metrics]
    return [*FIXED, *params, *shown, *TAIL], out


def _write(stream: TextIO, columns: Sequence[str], table: list[dict[str, Any]], fmt: str) -> None:
    if fmt == "jsonl":
        for r in table:
            stream.write(json.dumps({k: r.get(k) for k in columns}) + "\n")
        return
    w = csv.DictWriter(stream, fieldnames=list(columns), lineterminator="\n")
    w.writeheader()
    for r in table:
        w.writerow({k: "" if r.get(k) is None else r[k] for k in columns})


def export(
    campaign: str,
    tracking_uri: str | None = None,
    output: str | None = None,
    fmt: str = "csv",
    force: bool = False,
) -> int:
    """Write ``campaign``'s experiments (see the module docstring); returns the exit code."""
    from perturbo import config as cfg
    from perturbo import tracking
    from perturbo.export_lab import with_lab_files
    from perturbo.show import _uri, check_store, resolve

    path = Path(output) if output else None
    if path is not None and path.exists() and not force:
        raise PerturboError(
            f"--output {output}: the file exists; pick another name, or add --force to "
            "overwrite it (nothing written)"
        )
    if path is not None and not path.parent.is_dir():
        raise PerturboError(f"--output {output}: no folder {path.parent}; create it first")
    store = tracking.open_store(_uri(tracking_uri))
    check_store(store, cfg.default_tracking_uri())
    name = resolve(store, campaign)
    columns, table = rows(name, store.history(name))
    columns, table = with_lab_files(store, name, columns, table)  # replicates, file
    if path is None:
        _write(sys.stdout, columns, table, fmt)
    else:
        tmp = path.with_name(f".{path.name}.part")
        with tmp.open("w", newline="", encoding="utf-8") as f:
            _write(f, columns, table, fmt)
        tmp.replace(path)  # a reader never sees half a file
    what = f"{len(table)} experiment{'s' if len(table) != 1 else ''} of {name!r}"
    print(f"{what} written to {output or 'standard output'}", file=sys.stderr)
    return 0
