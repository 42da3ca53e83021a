"""The genetic kind's plots, logged at the end of a campaign."""

from __future__ import annotations

from typing import TYPE_CHECKING

from perturbo.plots import PlotData, Series, metric_vs_round

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def random_baseline(data: PlotData) -> Series:
    """(round, expected hit ratio of random selection) after each round: ``K`` genes drawn at
    random from a screen of ``N`` genes with ``M`` hits find ``K * M / N`` hits on average,
    a hit ratio of ``K / N``. ``K`` is the campaign's own ``n_tested`` after that round; ``N``
    and ``M`` are its logged ``screen_genes`` and ``screen_hits`` (empty where not logged)."""
    n = float(data.params.get("screen_genes", 0) or 0)
    m = float(data.params.get("screen_hits", 0) or 0)
    tested = data.round_metrics.get("n_tested")
    if n <= 0 or m <= 0 or not tested:
        return []
    return [(r, (k * m / n) / m) for r, k in tested]


def hit_ratio_plot(data: PlotData) -> dict[str, Figure]:
    """Cumulative hit ratio (hits found / all hits in the screen) after each round, and what
    random selection of as many genes would find (:func:`random_baseline`)."""
    points = data.round_metrics.get("hit_ratio")
    if not points:
        return {}
    series = {"this campaign": points}
    baseline = random_baseline(data)
    if baseline:
        series["random selection (expected)"] = baseline
    found = dict(data.round_metrics.get("hits_total", ()))
    last = points[-1][0]
    of = f" of {int(data.params['screen_hits'])}" if data.params.get("screen_hits") else ""
    what = "hit ratio vs round" + (
        f": {int(found[last])}{of} hits found after round {last + 1}" if last in found else ""
    )
    fig = metric_vs_round(series, "hit ratio (hits found / all hits)", what, data.campaign)
    ax = fig.axes[0]
    ax.set_ylim(bottom=0)
    return {"hit_ratio.png": fig}


GENETIC_PLOTTERS = (hit_ratio_plot,)

__all__ = ["GENETIC_PLOTTERS", "hit_ratio_plot", "random_baseline"]
