"""Hyperparameter plots logged at the end of a campaign (plotters for :mod:`perturbo.plots`):
parallel coordinates of the trials, per-epoch learning curves (pruned trials greyed), the
Pareto front of two objectives, and an ``mf-bo`` campaign's trials by fidelity."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from perturbo.types import Status

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from perturbo.plots import PlotData


def _figure(width: float = 7.0, height: float = 4.0) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _done(data: PlotData) -> list[Any]:
    key = data.objective or "value"
    return [
        o
        for o in data.history
        if o.outcome.status in (Status.COMPLETED, Status.PRUNED)
        and math.isfinite(o.outcome.metrics.get(key, math.nan))
    ]


def _axis(vals: list[Any]) -> tuple[Any, list[tuple[float, str]]]:
    """One parameter's column scaled to [0, 1] and the value labels of its axis: numbers at
    their low, middle and high end (log-looking positive ranges on a log scale), categories
    each at its own place (in order of appearance)."""
    import numpy as np

    present = [v for v in vals if v is not None]
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        x = np.array([np.nan if v is None else float(v) for v in vals])
        lo, hi = float(np.nanmin(x)), float(np.nanmax(x))
        integer = all(float(v).is_integer() for v in present)
        log = lo > 0 and hi / lo > 100
        if hi <= lo:
            return np.full(len(x), 0.5), [(0.5, _num(lo, integer))]
        if log:
            x, a, b = np.log10(x), math.log10(lo), math.log10(hi)
            marks = [(f, 10 ** (a + f * (b - a))) for f in (0.0, 0.5, 1.0)]
        else:
            a, b = lo, hi
            marks = [(f, lo + f * (hi - lo)) for f in (0.0, 0.5, 1.0)]
        labels = [(f, _num(v, integer and not log)) for f, v in marks]
        return (x - a) / (b - a), labels
    cats = list(dict.fromkeys(map(str, present)))
    pos = {c: i / max(1, len(cats) - 1) for i, c in enumerate(cats)}
    if len(cats) == 1:
        pos = {cats[0]: 0.5}
    col = np.array([np.nan if v is None else pos[str(v)] for v in vals])
    return col, [(pos[c], c) for c in cats]


def _num(v: float, integer: bool) -> str:
    return str(int(round(v))) if integer else f"{v:.3g}"


def parallel_coordinates_plot(data: PlotData) -> dict[str, Figure]:
    """One line per trial across its parameters (each scaled to [0, 1] between its lowest and
    highest value, written on its axis; log-looking positive ranges on a log scale; categories
    by order of appearance), coloured by the objective."""
    import numpy as np
    from matplotlib import cm, colors

    from perturbo.plots import set_title

    obs = _done(data)
    if len(obs) < 2:
        return {}
    key = data.objective or "value"
    names = sorted({k for o in obs for k in o.spec.params})
    axes = [_axis([o.spec.params.get(n) for o in obs]) for n in names]
    cols = [c for c, _ in axes]
    y = np.array([o.outcome.metrics[key] for o in obs])
    norm = colors.Normalize(y.min(), y.max())
    cmap = cm.viridis if data.direction == "max" else cm.viridis_r
    fig = _figure(max(6.0, 1.4 * len(names) + 2), 4.5)
    ax = fig.add_subplot()
    order = np.argsort(y if data.direction == "max" else -y)  # best drawn last, on top
    for i in order:
        ax.plot(range(len(names)), [c[i] for c in cols], color=cmap(norm(y[i])), alpha=0.7, lw=1.2)
    for j, (_, labels) in enumerate(axes):
        ax.axvline(j, color="0.4", lw=0.8, zorder=0)
        for pos, text in labels:
            ax.annotate(
                text,
                (j, pos),
                xytext=(3, 0),
                textcoords="offset points",
                va="center",
                ha="left",
                fontsize=7,
                bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.7},
            )
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
    ax.set_xlim(-0.2, len(names) - 0.4)
    ax.set_ylim(-0.05, 1.05)
    ax.set_yticks([])
    fig.colorbar(cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, label=key)
    what = f"parallel coordinates of {len(obs)} trials (colour: {key})"
    set_title(ax, data.campaign, what, share=0.7)
    return {"parallel_coordinates.png": fig}


def _first_epoch(o: Any, n: int) -> int:
    """The epoch a trial's recorded curve starts at. A run that continued a shorter run of its
    config (``mf-bo`` promoting it) records only its ``n`` new epochs, and its metric
    ``epochs`` says where it ended: drawn from 1, a run from 9 to 27 epochs looked like 18
    epochs from scratch."""
    total = o.outcome.metrics.get("epochs")
    if isinstance(total, int | float) and math.isfinite(total) and int(total) >= n:
        return int(total) - n + 1
    return 1


def _config_key(o: Any) -> str:
    """A trial's config without its epochs: the runs of one config share it."""
    import json

    params = {k: v for k, v in o.spec.params.items() if k != "epochs"}
    return json.dumps(params, sort_keys=True, default=str)


def learning_curves_plot(data: PlotData) -> dict[str, Figure]:
    """The objective per epoch of every trial, at the epochs it trained (a continued run from
    where its shorter run stopped, joined to it); pruned trials (ASHA) in grey."""
    obs = [
        o
        for o in data.history
        if len(o.outcome.intermediate) > 1
        or (o.outcome.intermediate and o.outcome.status is Status.PRUNED)
    ]
    if not obs:
        return {}
    fig = _figure()
    ax = fig.add_subplot()
    ends = {}  # (config, last epoch) -> its last value: where a continued run joins on
    for o in data.history:
        if o.outcome.intermediate:
            n = len(o.outcome.intermediate)
            ends[(_config_key(o), _first_epoch(o, n) + n - 1)] = o.outcome.intermediate[-1]
    continued = 0
    for o in obs:
        ys = list(o.outcome.intermediate)
        pruned = o.outcome.status is Status.PRUNED
        first = _first_epoch(o, len(ys))
        continued += first > 1
        joined = ends.get((_config_key(o), first - 1)) if first > 1 else None
        if joined is not None:
            ys, first = [joined, *ys], first - 1
        ax.plot(
            range(first, first + len(ys)),
            ys,
            color="0.6" if pruned else "C0",
            alpha=0.5 if pruned else 0.8,
            lw=1,
            marker="x" if pruned else None,
            markevery=[len(ys) - 1] if pruned else None,
        )
    from perturbo.plots import set_title

    ax.set_xlabel("epoch")
    ax.set_ylabel(data.objective or "value")
    ax.xaxis.get_major_locator().set_params(integer=True)
    n_p = sum(o.outcome.status is Status.PRUNED for o in obs)
    more = f", {continued} continued a shorter run" if continued else ""
    set_title(ax, data.campaign, f"learning curves ({n_p} of {len(obs)} stopped early{more})")
    ax.grid(True, alpha=0.3)
    return {"learning_curves.png": fig}


def pareto_front_plot(
    data: PlotData, objectives: tuple[str, str], directions: tuple[str, str]
) -> dict[str, Figure]:
    """Two objectives of every completed trial, the non-dominated ones joined."""
    import numpy as np

    from perturbo.objective import pareto_mask

    obs = [
        o
        for o in data.history
        if o.outcome.ok
        and all(math.isfinite(o.outcome.metrics.get(k, math.nan)) for k in objectives)
    ]
    if len(obs) < 2:
        return {}
    y = np.array([[o.outcome.metrics[k] for k in objectives] for o in obs])
    signs = np.array([1 if d == "max" else -1 for d in directions])
    mask = pareto_mask(y * signs)
    fig = _figure(5.5, 4.5)
    ax = fig.add_subplot()
    ax.scatter(y[~mask, 0], y[~mask, 1], s=14, color="0.6", label="trial")
    front = y[mask][np.argsort(y[mask, 0])]
    ax.plot(front[:, 0], front[:, 1], "o-", color="C3", label="Pareto front")
    title = f"Pareto front of {objectives[0]} and {objectives[1]}"
    given = _thresholds(data, objectives)
    if given:  # --ref-point: the worst value of each objective still worth having
        for i, line in ((0, ax.axvline), (1, ax.axhline)):
            if objectives[i] in given:
                line(given[objectives[i]], color="C0", ls="--", lw=1)
        ax.plot([], [], color="C0", ls="--", lw=1, label="--ref-point (worst worth having)")
        inside = [
            all(
                (v >= given[k]) if d == "max" else (v <= given[k])
                for k, d, v in zip(objectives, directions, row, strict=True)
                if k in given
            )
            for row in front
        ]
        title += f"; {sum(inside)} of {len(front)} within --ref-point"
    ax.set_xlabel(f"{objectives[0]} ({directions[0]})")
    ax.set_ylabel(f"{objectives[1]} ({directions[1]})")
    ax.legend()
    ax.grid(True, alpha=0.3)
    from perturbo.plots import set_title

    set_title(ax, data.campaign, title)
    return {"pareto_front.png": fig}


def _thresholds(data: PlotData, objectives: tuple[str, str]) -> dict[str, float]:
    """The campaign's ``--ref-point`` thresholds on these objectives (none: empty)."""
    spec = data.params.get("ref_point") if data.params else None
    if not spec:
        return {}
    from perturbo.search.bo_reference import parse_thresholds

    names = tuple(data.objectives) or objectives
    try:
        given = parse_thresholds(str(spec), names)
    except ValueError:  # a record this version cannot read: draw the front without them
        return {}
    return {k: v for k, v in given.items() if k in objectives}


def pareto_plot(data: PlotData) -> dict[str, Figure]:
    """A multi-objective campaign's Pareto front over its first two objectives (none for one)."""
    if len(data.objectives) < 2 or len(data.directions) < 2:
        return {}
    return pareto_front_plot(
        data,
        (data.objectives[0], data.objectives[1]),
        (data.directions[0], data.directions[1]),
    )


def _fidelity_name(data: PlotData) -> str | None:
    """The parameter an ``mf-bo`` campaign traded cost on (``--fidelity``, else the name mf-bo
    looks for first); None for another planner."""
    from perturbo.search.fidelity import FIDELITY_NAMES

    if data.params.get("planner") != "mf-bo":
        return None
    if data.params.get("fidelity"):
        return str(data.params["fidelity"])
    seen = {k for o in data.history for k in o.spec.params}
    return next((n for n in FIDELITY_NAMES if n in seen), None)


def fidelity_plot(data: PlotData) -> dict[str, Figure]:
    """An ``mf-bo`` campaign's trials coloured by the fidelity each ran at, and the best so far
    among those at the highest fidelity: a cheap trial's value is not what the config reaches
    trained in full, and the plain optimisation history mixes the two."""
    name, key = _fidelity_name(data), data.objective or "value"
    if name is None:
        return {}
    pts = [
        (i + 1, float(o.outcome.metrics[key]), float(o.spec.params[name]))
        for i, o in enumerate(data.history)
        if o.outcome.ok
        and math.isfinite(o.outcome.metrics.get(key, math.nan))
        and isinstance(o.spec.params.get(name), int | float)
    ]
    levels = sorted({f for _, _, f in pts})
    if len(levels) < 2:
        return {}
    fig = _figure()
    ax = fig.add_subplot()
    for k, level in enumerate(levels):
        xs = [(i, v) for i, v, f in pts if f == level]
        label = f"{name} = {_num(level, level == int(level))}"
        ax.scatter(*zip(*xs, strict=True), s=14, color=f"C{k % 10}", alpha=0.7, label=label)
    top = [(i, v) for i, v, f in pts if f == levels[-1]]
    better = max if data.direction == "max" else min
    best = [top[0][1]]
    for _, v in top[1:]:
        best.append(better(best[-1], v))
    x_end = max(i for i, _, _ in pts)
    ax.step([i for i, _ in top] + [x_end], [*best, best[-1]], where="post", color="k", lw=1.2,
            label=f"best at {name} = {_num(levels[-1], levels[-1] == int(levels[-1]))}")  # fmt: skip
    from perturbo.plots import set_title

    ax.set_xlabel("trial")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_ylabel(key)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    set_title(ax, data.campaign, f"each trial at its {name} (mf-bo)")
    return {"fidelity.png": fig}


HYPERPARAMETER_PLOTTERS = (
    parallel_coordinates_plot,
    learning_curves_plot,
    pareto_plot,
    fidelity_plot,
)
"""The kind's own plotters (its KindSpec adds the general optimisation-history plot)."""
