"""The genetic kind's plots, logged at the end of a campaign."""

from __future__ import annotations

from typing import TYPE_CHECKING

from perturbo.plots import PlotData, metric_vs_round

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def hit_ratio_plot(data: PlotData) -> dict[str, Figure]:
    """Cumulative hit ratio (hits found / all hits in the screen) after each round."""
    points = data.round_metrics.get("hit_ratio")
    if not points:
        return {}
    fig = metric_vs_round(
        {data.campaign: points},
        "hit ratio (hits found / all hits)",
        f"{data.campaign}: hit ratio vs round",
    )
    return {"hit_ratio.png": fig}


GENETIC_PLOTTERS = (hit_ratio_plot,)

__all__ = ["GENETIC_PLOTTERS", "hit_ratio_plot"]
