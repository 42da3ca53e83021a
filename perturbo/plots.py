"""Plots a campaign logs at the end (PNG artifacts), one small function per plot.

Matplotlib's object API (``matplotlib.figure.Figure``) with the Agg canvas: no pyplot
state, no display needed. A *plotter* takes a :class:`PlotData` and returns
``{artifact file name: Figure}``; a kind lists the plotters it wants logged in its
:attr:`~perturbo.kindspec.KindSpec.plotters` (the general ones here, or its own).
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from perturbo.types import Observation

if TYPE_CHECKING:
    from matplotlib.figure import Figure

Series = Sequence[tuple[int, float]]
"""(round, value) points of one metric, in round order."""


@dataclass(frozen=True)
class PlotData:
    """What a plotter may draw from: the campaign's observations and its per-round metrics."""

    campaign: str
    history: Sequence[Observation]
    round_metrics: Mapping[str, Series] = field(default_factory=dict)
    objective: str = ""
    direction: str = "max"
    objectives: tuple[str, ...] = ()
    """All objectives of a multi-objective campaign (the first is ``objective``)."""
    directions: tuple[str, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)
    """The campaign's logged params (e.g. a genetic screen's ``screen_genes`` and
    ``screen_hits``, for the random baseline); empty where the caller has none."""


Plotter = Callable[[PlotData], Mapping[str, "Figure"]]


def _figure(width: float = 6.0, height: float = 4.0) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def legend_below(ax: Any) -> None:
    """``ax``'s legend under the plot, outside the data (a legend placed at "best" still lay on
    the points of a plot whose lines fill it: the lab's hit-ratio plot), in as many columns as
    entries, up to 3; the constrained layout makes room for it."""
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.figure.legend(handles, labels, loc="outside lower center", ncols=min(3, len(labels)))


def set_title(
    ax: Any, campaign: str, what: str, fontsize: float = 11.0, share: float = 0.85
) -> None:
    """``campaign`` on the first line, ``what`` below, each wrapped to ``share`` of the
    figure's width (the axes' part of it: less beside a colour bar): a generated campaign name
    (``genetic-IFNG-bo-20250101-120000``) and a description on one line ran past the figure's
    edges and were cut."""
    fig = ax.get_figure()
    width_in = share * (fig.get_figwidth() if fig is not None else 6.0)
    chars = max(20, int(width_in * 72 / (0.6 * fontsize)))  # a character is ~0.6 em wide
    lines = [textwrap.fill(t, chars) for t in (campaign, what) if t]
    ax.set_title("\n".join(lines), fontsize=fontsize)


def metric_vs_round(
    series: Mapping[str, Series], ylabel: str, title: str, campaign: str = ""
) -> Figure:
    """One line per named series, x = round (1-based for people), markers on each round."""
    fig = _figure()
    ax = fig.add_subplot()
    for name, points in series.items():
        if not points:
            continue
        xs = [r + 1 for r, _ in points]
        ys = [v for _, v in points]
        ax.plot(xs, ys, marker="o", label=name)
    ax.set_xlabel("round")
    ax.set_ylabel(ylabel)
    set_title(ax, campaign, title)
    ax.grid(True, alpha=0.3)
    ax.xaxis.get_major_locator().set_params(integer=True)
    if len(series) > 1:
        legend_below(ax)
    return fig


def optimisation_history_plot(data: PlotData) -> dict[str, Figure]:
    """Each trial's objective in the order it was recorded, and the best so far (as Optuna's
    ``plot_optimization_history``). Failed and rejected trials are left out. In a
    multi-fidelity campaign the best so far is among the trials at the top fidelity reached so
    far (:func:`perturbo.objective.at_top_fidelity`, the rule every other best follows)."""
    from perturbo.objective import FIDELITY_SHARE

    key = data.objective or "value"
    done = [(i, o) for i, o in enumerate(data.history) if o.outcome.ok and key in o.outcome.metrics]
    # where some trials record a share, one without it is not a candidate (at_top_fidelity's rule)
    shared = any(FIDELITY_SHARE in o.outcome.metrics for _, o in done)
    pts = [
        (
            i,
            float(o.outcome.metrics[key]),
            o.outcome.metrics.get(FIDELITY_SHARE, None if shared else 1.0),
        )
        for i, o in done
    ]
    if not pts:
        return {}
    better = max if data.direction == "max" else min
    best: list[float] = []
    top, cur = float("-inf"), float("nan")
    for _, v, share in pts:
        if share is not None and share > top:  # a higher fidelity: the best starts again there
            top, cur = share, v
        elif share is not None and share == top:
            cur = better(cur, v)
        best.append(cur)
    fig = _figure()
    ax = fig.add_subplot()
    ax.scatter([i + 1 for i, _, _ in pts], [v for _, v, _ in pts], s=12, alpha=0.6, label="trial")
    ax.step(
        [i + 1 for i, _, _ in pts], best, where="post", color="C1", label=f"best ({data.direction})"
    )
    ax.set_xlabel("trial")
    ax.set_ylabel(key)
    set_title(ax, data.campaign, "optimisation history")
    ax.grid(True, alpha=0.3)
    legend_below(ax)
    return {"optimisation_history.png": fig}


def save_png(fig: Figure, path: str) -> None:
    fig.savefig(path, format="png")
