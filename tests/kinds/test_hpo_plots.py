"""Hyperparameter plots draw from a history (PNG bytes), and skip what they cannot draw."""

from __future__ import annotations

import io

import numpy as np

from perturbo.kinds.hyperparameter.plots import (
    learning_curves_plot,
    parallel_coordinates_plot,
    pareto_front_plot,
)
from perturbo.plots import PlotData
from perturbo.types import ExperimentSpec, Observation, Outcome, Status


def _history(n: int = 12) -> list[Observation]:
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        p = {
            "lr": float(10 ** rng.uniform(-4, -1)),
            "opt": ["adam", "sgd"][i % 2],
            "width": int(rng.integers(8, 64)),
        }
        curve = tuple(float(x) for x in np.cumsum(rng.uniform(0, 0.1, 9 if i % 3 else 1)))
        st = Status.PRUNED if len(curve) == 1 else Status.COMPLETED
        out.append(
            Observation(
                ExperimentSpec(p, "hyperparameter", f"t{i}", 0),
                Outcome(st, {"acc": curve[-1], "cost": float(p["width"])}, curve),
            )
        )
    return out


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def test_plots_render_and_skip_empty_histories() -> None:
    data = PlotData("c", _history(), {}, "acc", "max")
    for plot in (parallel_coordinates_plot, learning_curves_plot):
        [(name, fig)] = plot(data).items()
        assert name.endswith(".png") and _png(fig)[:4] == b"\x89PNG"
    [(name, fig)] = pareto_front_plot(data, ("acc", "cost"), ("max", "min")).items()
    assert name == "pareto_front.png" and _png(fig)[:4] == b"\x89PNG"
    empty = PlotData("c", [], {}, "acc", "max")
    assert parallel_coordinates_plot(empty) == {} and learning_curves_plot(empty) == {}
