"""Hyperparameter plots draw from a history (PNG bytes), and skip what they cannot draw."""

from __future__ import annotations

import io

import numpy as np

from perturbo.kinds.hyperparameter.plots import (
    fidelity_plot,
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


def test_a_continued_run_is_drawn_at_the_epochs_it_trained() -> None:
    """mf-bo promotes a config from 9 to 27 epochs: the run records its 18 new epochs and
    ``epochs`` = 27. Its curve is drawn over epochs 10..27 joined to its 9-epoch run's last
    point, not over 1..18 as if from scratch; a run from scratch (and one without an
    ``epochs`` metric) still starts at 1."""
    a, b = {"lr": 0.01, "epochs": 9}, {"lr": 0.01, "epochs": 27}
    runs = [
        (a, Outcome(Status.COMPLETED, {"acc": 0.8, "epochs": 9}, tuple(np.linspace(0.3, 0.8, 9)))),
        (b, Outcome(Status.COMPLETED, {"acc": 0.9, "epochs": 27}, tuple(np.linspace(0.81, 0.9, 18)))),
        ({"lr": 0.1}, Outcome(Status.COMPLETED, {"acc": 0.7}, tuple(np.linspace(0.3, 0.7, 5)))),
    ]  # fmt: skip
    hist = [Observation(ExperimentSpec(p, "hyperparameter", f"t{i}", 0), o) for i, (p, o) in
            enumerate(runs)]  # fmt: skip
    fig = learning_curves_plot(PlotData("c", hist, objective="acc"))["learning_curves.png"]
    lines = fig.axes[0].get_lines()
    xs = [list(line.get_xdata()) for line in lines]
    assert xs == [list(range(1, 10)), list(range(9, 28)), list(range(1, 6))], xs
    assert lines[1].get_ydata()[0] == lines[0].get_ydata()[-1] == 0.8
    assert "1 continued a shorter run" in " ".join(fig.axes[0].get_title().split())


def test_an_mf_bo_campaign_shows_each_fidelity_and_the_best_fully_trained() -> None:
    """The best-so-far line counts only trials at the highest fidelity: a 1-epoch trial's 0.95
    (a lucky cheap look) is not what any config reached trained in full. Another planner's
    campaign gets no fidelity plot."""
    rows = [(1, 0.95), (3, 0.6), (9, 0.7), (1, 0.5), (9, 0.8), (3, 0.9), (9, 0.75)]
    hist = [
        Observation(
            ExperimentSpec({"lr": 0.01 * (i + 1), "epochs": e}, "hyperparameter", f"t{i}", i),
            Outcome(Status.COMPLETED, {"acc": v}),
        )
        for i, (e, v) in enumerate(rows)
    ]
    data = PlotData("c", hist, objective="acc", params={"planner": "mf-bo"})
    fig = fidelity_plot(data)["fidelity.png"]
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["epochs = 1", "epochs = 3", "epochs = 9", "best at epochs = 9"], labels
    (best,) = ax.get_lines()
    assert list(best.get_xdata()) == [3, 5, 7, 7] and list(best.get_ydata()) == [0.7, 0.8, 0.8, 0.8]
    assert len(_png(fig)) > 1000
    assert fidelity_plot(PlotData("c", hist, objective="acc", params={"planner": "bo"})) == {}
    named = PlotData("c", hist, objective="acc", params={"planner": "mf-bo", "fidelity": "lr"})
    assert "best at lr = 0.07" in [t.get_text() for t in fidelity_plot(named)["fidelity.png"]
                                     .axes[0].get_legend().get_texts()]  # fmt: skip


def test_the_pareto_plot_draws_the_ref_point_and_counts_the_front_within_it() -> None:
    from perturbo.objective import pareto_mask

    hist = _history()
    ok = [o for o in hist if o.outcome.ok]
    y = np.array([[o.outcome.metrics["acc"], o.outcome.metrics["cost"]] for o in ok])
    front = y[pareto_mask(y * np.array([1, -1]))]
    cut = float(np.median(front[:, 1]))  # some of the front on each side
    data = PlotData(
        "c", hist, {}, "acc", "max", ("acc", "cost"), ("max", "min"),
        {"ref_point": f"cost={cut!r}"},
    )  # fmt: skip
    [(_, fig)] = pareto_front_plot(data, ("acc", "cost"), ("max", "min")).items()
    ax = fig.axes[0]
    dashed = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--" and len(ln.get_ydata())]
    assert [tuple(ln.get_ydata()) for ln in dashed] == [(cut, cut)]  # cost: a horizontal line
    within = int((front[:, 1] <= cut).sum())
    assert 0 < within < len(front)
    title = ax.get_title().replace("-\n", "-").replace("\n", " ")
    assert f"{within} of {len(front)} within --ref-point" in title, title
    plain = PlotData("c", hist, {}, "acc", "max", ("acc", "cost"), ("max", "min"))
    [(_, fig)] = pareto_front_plot(plain, ("acc", "cost"), ("max", "min")).items()
    assert "ref-" not in fig.axes[0].get_title()
