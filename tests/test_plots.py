"""Every plot of every kind, drawn as the recorder draws it: nothing cut at the figure's edges
(a generated campaign name made titles run off), the parallel coordinates write each
parameter's values on its axis, and the hit-ratio plot of a real genetic campaign, read back
from a real MLflow store, draws the campaign's own figures beside the expected hits of random
selection (``K * M / N`` with the shipped screen's own totals)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from stores import *  # noqa: F403

from perturbo.plots import PlotData
from perturbo.types import ExperimentSpec, Observation, Outcome, Status

NAMES = (
    "hyperparameter-wine-mlp-random-s0-20261205-105811",  # what `perturbo run` names one
    "attack-digits-cnn-linf-0.1-random-s0-20261205-105926-with-a-longer-name-than-usual",
)


def _hpo_history(n: int = 12) -> list[Observation]:
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        p = {
            "lr": float(10 ** rng.uniform(-4, -1)),
            "optimizer": ["adam", "sgd"][i % 2],
            "width": int(rng.integers(8, 64)),
        }
        curve = tuple(float(x) for x in np.cumsum(rng.uniform(0, 0.1, 9 if i % 3 else 1)))
        st = Status.PRUNED if len(curve) == 1 else Status.COMPLETED
        out.append(
            Observation(
                ExperimentSpec(p, "hyperparameter", f"r{i:03d}-0000", i),
                Outcome(st, {"val_accuracy": curve[-1], "n_params": float(p["width"])}, curve),
            )
        )
    return out


def _attack_history(n: int = 60, trials: int = 6) -> list[Observation]:
    from perturbo.kinds.attack.samples import CLEAN_PREFIX, pack_bits

    rng = np.random.default_rng(1)
    clean_wrong = rng.random(n) < 0.05
    out = []
    for i in range(trials):
        eps = 0.02 * (i + 1)
        bad = clean_wrong | (rng.random(n) < 0.1 * (i + 1))
        metrics = {
            "robust_accuracy": 1 - bad.mean(),
            "clean_accuracy": 1 - clean_wrong.mean(),
            "success_rate": float(bad.mean()),
            "median_norm": eps * 0.9,
            "passes": 100.0 * (i + 1),
            "n_attacked": float(n),
            "n_samples": float(n),
            "eps": eps,
            **pack_bits(bad),
            **pack_bits(clean_wrong, CLEAN_PREFIX),
        }
        spec = ExperimentSpec({"method": "pgd", "eps": eps, "samples": ""}, "attack", f"t{i}", i)
        out.append(Observation(spec, Outcome(Status.COMPLETED, metrics)))
    return out


def _genetic_data(name: str) -> PlotData:
    series = {
        "hit_ratio": [(0, 0.01), (1, 0.03), (2, 0.05)],
        "hits_total": [(0, 9.0), (1, 28.0), (2, 46.0)],
        "n_tested": [(0, 128.0), (1, 256.0), (2, 384.0)],
    }
    return PlotData(
        name, [], series, "hit", "max", params={"screen_hits": 920, "screen_genes": 18000}
    )


def _all_figures(name: str) -> list[tuple[str, Any]]:
    from perturbo.kinds.attack.plots import pareto_plot as attack_pareto
    from perturbo.kinds.attack.plots import per_sample_plot, robust_vs_eps_plot, worst_case_plot
    from perturbo.kinds.genetic.plots import hit_ratio_plot
    from perturbo.kinds.hyperparameter.plots import (
        learning_curves_plot,
        parallel_coordinates_plot,
        pareto_plot,
    )
    from perturbo.plots import optimisation_history_plot

    hpo = PlotData(
        name,
        _hpo_history(),
        {},
        "val_accuracy",
        "max",
        ("val_accuracy", "n_params"),
        ("max", "min"),
    )
    series = {"worst_case_robust_accuracy": [(i, 0.9 - 0.1 * i) for i in range(6)]}
    attack = PlotData(name, _attack_history(), series, "robust_accuracy", "min")
    figs: list[tuple[str, Any]] = []
    for plot, data in (
        (optimisation_history_plot, hpo),
        (parallel_coordinates_plot, hpo),
        (learning_curves_plot, hpo),
        (pareto_plot, hpo),
        (worst_case_plot, attack),
        (robust_vs_eps_plot, attack),
        (attack_pareto, attack),
        (per_sample_plot, attack),
        (hit_ratio_plot, _genetic_data(name)),
    ):
        drawn = plot(data)
        assert drawn, f"{plot.__name__} drew nothing"
        figs += [(f, fig) for f, fig in drawn.items() if f.endswith(".png")]
    return figs


@pytest.mark.parametrize("name", NAMES)
def test_no_text_runs_off_any_plot(name: str) -> None:
    """Every title and axis label, and everything else drawn, lies inside its figure (as the
    PNG is saved)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    for file, fig in _all_figures(name):
        canvas = FigureCanvasAgg(fig)  # what savefig(format="png") draws with
        canvas.draw()
        renderer = canvas.get_renderer()
        box = fig.bbox
        texts = [fig._suptitle] + [t for ax in fig.axes for t in (ax.title, ax._left_title)]
        texts += [t for ax in fig.axes for t in (ax.xaxis.label, ax.yaxis.label)]
        for t in texts:
            if t is None or not t.get_visible() or not t.get_text().strip():
                continue
            e = t.get_window_extent(renderer)
            inside = e.x0 >= -1 and e.x1 <= box.x1 + 1 and e.y0 >= -1 and e.y1 <= box.y1 + 1
            assert inside, f"{file}: {t.get_text()!r} is cut ({e} outside {box})"
        drawn = fig.get_tightbbox(renderer)  # everything drawn: ticks, legends, colour bars
        whole = fig.bbox_inches
        assert drawn.x0 >= -0.01 and drawn.y0 >= -0.01, (file, drawn, whole)
        assert drawn.x1 <= whole.x1 + 0.01 and drawn.y1 <= whole.y1 + 0.01, (file, drawn, whole)


def test_parallel_coordinates_write_each_axis_values() -> None:
    from perturbo.kinds.hyperparameter.plots import parallel_coordinates_plot

    history = _hpo_history()
    data = PlotData("c", history, {}, "val_accuracy", "max")
    fig = parallel_coordinates_plot(data)["parallel_coordinates.png"]
    texts = {t.get_text() for t in fig.axes[0].texts}
    widths = [o.spec.params["width"] for o in history]
    lrs = [o.spec.params["lr"] for o in history]
    assert {str(min(widths)), str(max(widths))} <= texts, texts
    assert {f"{min(lrs):.3g}", f"{max(lrs):.3g}"} <= texts, texts  # a log axis: its ends
    assert {"adam", "sgd"} <= texts, texts


@pytest.mark.slow
def test_hit_ratio_plot_draws_the_campaign_and_the_random_baseline(store: str) -> None:
    """A real genetic campaign on the shipped IFNG screen, read back from the store: the
    campaign's line is its recorded hit ratio, the baseline is K * M / N hits (as a ratio of
    the M hits) with N and M the shipped screen's own totals and K the genes it tested."""
    from perturbo import tracking
    from perturbo.cli import main
    from perturbo.kinds.genetic import load_screen
    from perturbo.kinds.genetic.plots import hit_ratio_plot

    rc = main(
        [
            "run", "genetic", "--screen", "IFNG", "--planner", "random", "--rounds", "3",
            "--batch", "32", "--seed", "0", "--local", "--tracking-uri", store, "--name", "hr",
            "--no-progress",
        ]
    )  # fmt: skip
    assert rc == 0
    s = tracking.open_store(store)
    rounds = s.round_metrics("hr")
    series: dict[str, list[tuple[int, float]]] = {}
    for r, m in rounds.items():
        for k, v in m.items():
            series.setdefault(k, []).append((r, v))
    params = dict(s.summary("hr").params)
    data = PlotData("hr", list(s.history("hr")), series, "hit", "max", params=params)
    fig = hit_ratio_plot(data)["hit_ratio.png"]
    lines = {ln.get_label(): ln for ln in fig.axes[0].lines}
    ours = lines["this campaign"].get_ydata()
    assert list(ours) == [pytest.approx(m["hit_ratio"]) for m in rounds.values()]
    screen = load_screen("IFNG")
    n, m = len(screen), len(screen.hits)
    expected = [(k * m / n) / m for k in (32, 64, 96)]  # K genes tested after each round
    assert list(lines["random selection (expected)"].get_ydata()) == pytest.approx(expected)
    assert [v for _, v in series["n_tested"]] == [32, 64, 96]


def test_robust_vs_eps_points_are_the_worst_case_at_each_eps() -> None:
    """Each point is what :class:`WorstCase` (the campaign's own metric) says at that eps,
    and eps 0 is the clean accuracy; trials at many eps (a min-eps or Pareto campaign)."""
    from perturbo.kinds.attack.plots import robust_vs_eps_points
    from perturbo.kinds.attack.samples import worst_case

    history = _attack_history(n=60, trials=6)
    points = robust_vs_eps_points(PlotData("c", history, {}, "robust_accuracy", "min"))
    assert [e for e, _ in points] == [0.0] + sorted(o.outcome.metrics["eps"] for o in history)
    assert points[0][1] == history[0].outcome.metrics["clean_accuracy"]
    for eps, acc in points[1:]:
        assert acc == worst_case(history, 60, eps).accuracy()  # exactly, not approximately


def test_the_best_so_far_of_a_multi_fidelity_campaign_is_at_its_top_fidelity() -> None:
    """A minimised loss: cheap looks (share 0.05) flatter configs, so once a trial at the full
    fidelity is in, the best so far is among those, as every other best (at_top_fidelity); a
    later flattering look does not lower it. Without shares, the plain running best."""
    from perturbo.plots import optimisation_history_plot

    rows = [(0.05, 0.1), (0.05, 0.2), (1.0, 0.5), (0.05, 0.01), (1.0, 0.4)]
    hist = [
        Observation(
            ExperimentSpec({"x": i}, "hyperparameter", f"t{i}", i),
            Outcome(Status.COMPLETED, {"loss": v, "fidelity_share": s}),
        )
        for i, (s, v) in enumerate(rows)
    ]
    for shared, want in ((True, [0.1, 0.1, 0.5, 0.5, 0.4]), (False, [0.1, 0.1, 0.1, 0.01, 0.01])):
        obs = hist if shared else [
            Observation(o.spec, Outcome(Status.COMPLETED, {"loss": o.outcome.metrics["loss"]}))
            for o in hist
        ]  # fmt: skip
        data = PlotData("c", obs, objective="loss", direction="min")
        fig = optimisation_history_plot(data)["optimisation_history.png"]
        (line,) = fig.axes[0].get_lines()
        assert list(line.get_ydata()) == want, (shared, list(line.get_ydata()))


def test_a_trial_without_a_share_is_no_candidate_where_others_have_one() -> None:
    """A campaign resumed from a version that recorded no shares: as at_top_fidelity, the
    best-so-far line skips the old trial (no best before the first share), rather than take
    its value as a full training's."""
    from perturbo.plots import optimisation_history_plot

    metrics = [{"loss": 0.001}, {"loss": 0.5, "fidelity_share": 1.0}, {"loss": 0.4}]
    hist = [
        Observation(ExperimentSpec({"x": i}, "hyperparameter", f"t{i}", i),
                    Outcome(Status.COMPLETED, m))
        for i, m in enumerate(metrics)
    ]  # fmt: skip
    data = PlotData("c", hist, objective="loss", direction="min")
    (line,) = optimisation_history_plot(data)["optimisation_history.png"].axes[0].get_lines()
    ys = list(line.get_ydata())
    assert np.isnan(ys[0]) and ys[1:] == [0.5, 0.5], ys


def test_a_legend_sits_below_the_plot_not_on_its_lines() -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from perturbo.plots import metric_vs_round

    fig = metric_vs_round({"a": [(0, 0.0), (1, 1.0)], "b": [(0, 1.0), (1, 0.0)]}, "y", "t", "c")
    FigureCanvasAgg(fig).draw()
    (legend,) = fig.legends
    assert legend.get_window_extent().y1 <= fig.axes[0].get_window_extent().y0
