"""What a campaign logs on its parent run beside its rounds: the kind's plots (PNGs under
``plots/``, at the end), with several objectives the Pareto set (``pareto_front.json``/``.csv``)
and, for a kind that finds things, the CSV of its finds (``hits.csv``: with each round and at
the end)."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from perturbo.findings import Findings, found, to_csv
from perturbo.plots import PlotData, Plotter, save_png
from perturbo.tracking.layout import PARETO_FILE, jsonable
from perturbo.types import Observation

if TYPE_CHECKING:
    from mlflow import MlflowClient


def log_plots(
    client: MlflowClient, run_id: str, data: PlotData, plotters: Sequence[Plotter]
) -> list[str]:
    """Draw every plotter's figures and log them under ``plots/``; returns the file names."""
    names: list[str] = []
    with tempfile.TemporaryDirectory(prefix="perturbo-plots-") as tmp:
        for plotter in plotters:
            for name, fig in plotter(data).items():
                save_png(fig, str(Path(tmp) / name))
                names.append(name)
        if names:
            client.log_artifacts(run_id, tmp, "plots")
    return names


def findings_files(
    findings: Findings | None, history: Sequence[Observation], upto: int
) -> dict[str, str]:
    """``{file: CSV}`` of the finds in ``history`` up to the loop's round ``upto``, for
    :func:`~perturbo.tracking.rounds.write_round`; empty for a kind without findings. Written
    with each round, so a campaign killed midway still has it. Its rounds are numbered 1..N as
    ``perturbo show --hits`` prints them (in a campaign recorded with rounds from 0 too)."""
    if findings is None:
        return {}
    rows = [f for f in found(findings, history) if f.round <= upto]
    return {findings.file: to_csv(findings, rows)}


def log_findings(
    client: MlflowClient,
    run_id: str,
    findings: Findings | None,
    history: Sequence[Observation],
) -> None:
    """The CSV of every find in ``history`` on the parent run (at the end, or on abort)."""
    if findings is not None and history:
        client.log_text(run_id, to_csv(findings, found(findings, history)), findings.file)


def log_pareto(
    client: MlflowClient,
    run_id: str,
    history: Sequence[Observation],
    objectives: Sequence[str],
    directions: Sequence[str],
) -> None:
    """Several objectives: the completed trials none beats on all of them, as
    ``pareto_front.json`` (ids, params, objective values) and ``pareto_front.csv``."""
    if len(objectives) < 2:
        return
    from perturbo.objective import pareto_set

    front = pareto_set(history, tuple(objectives), tuple(directions))
    rows = [
        {
            "id": o.spec.id,
            "params": jsonable(dict(o.spec.params)),
            "values": {n: float(o.outcome.metrics[n]) for n in objectives},
        }
        for o in front
    ]
    client.log_dict(
        run_id,
        {"objectives": list(objectives), "directions": list(directions), "trials": rows},
        PARETO_FILE,
    )
    names = sorted({k for r in rows for k in r["params"]})
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["id", *objectives, *names])
    for r in rows:
        w.writerow(
            [
                r["id"],
                *(r["values"][n] for n in objectives),
                *(r["params"].get(k, "") for k in names),
            ]
        )
    client.log_text(run_id, buf.getvalue(), PARETO_FILE.replace(".json", ".csv"))
