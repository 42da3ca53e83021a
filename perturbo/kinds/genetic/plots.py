"""The genetic kind's plots, logged at the end of a campaign."""

from __future__ import annotations

from typing import TYPE_CHECKING

from perturbo.plots import PlotData, Series, legend_below, metric_vs_round, set_title
from perturbo.types import counted

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
        f": {_found(int(found[last]), of)} after round {last + 1}" if last in found else ""
    )
    fig = metric_vs_round(series, "hit ratio (hits found / all hits)", what, data.campaign)
    ax = fig.axes[0]
    ax.set_ylim(bottom=0)
    return {"hit_ratio.png": fig}


def lab_hit_ratio_plot(data: PlotData) -> dict[str, Figure]:
    """A lab campaign's ``hit_ratio.png`` (its screen's hits are unknown, so no measured
    ratio): the hits found after each round and, where the campaign estimated the hits left
    in the untested library (``remaining_hits`` with its interval), the estimated hits in the
    library (found + left) with that interval; the title gives the estimated share found."""
    found = data.round_metrics.get("hits_total")
    if not found:
        return {}
    fig = metric_vs_round({"hits found": found}, "hits", "", data.campaign)
    ax = fig.axes[0]
    left = dict(data.round_metrics.get("remaining_hits", ()))
    lo = dict(data.round_metrics.get("remaining_hits_lo", ()))
    hi = dict(data.round_metrics.get("remaining_hits_hi", ()))
    est = [(r, v + left[r], v + lo.get(r, left[r]), v + hi.get(r, left[r]))
           for r, v in found if r in left]  # fmt: skip
    last, n = found[-1]
    what = f"hits found vs round: {int(n)} after round {last + 1}"
    if est:
        xs = [r + 1 for r, *_ in est]
        ax.plot(xs, [e for _, e, _, _ in est], marker="s", ls="--", label="found + estimated left")
        ax.fill_between(xs, [a for *_, a, _ in est], [b for *_, b in est], alpha=0.2,
                        label="estimate's interval")  # fmt: skip
        legend_below(ax)
        r, total, _, _ = est[-1]
        if r == last and total > 0:
            what += f", about {n / total:.0%} of the {total:.0f} hits estimated in the library"
    set_title(ax, data.campaign, what)
    ax.set_ylim(bottom=0)
    return {"hit_ratio.png": fig}


GENETIC_PLOTTERS = (hit_ratio_plot,)

__all__ = ["GENETIC_PLOTTERS", "hit_ratio_plot", "lab_hit_ratio_plot", "random_baseline"]


def _found(n: int, of: str) -> str:
    """``3 of 40 hits found`` / ``1 hit found`` (no total known)."""
    return f"{n}{of} hits found" if of else f"{counted(n, 'hits')} found"
