"""What a campaign logs on its parent run when it ends: the kind's plots (PNGs under
``plots/``) and, with several objectives, the Pareto set (``pareto_front.json``/``.csv``)."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

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
    from perturbo.search.objective import pareto_set

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
