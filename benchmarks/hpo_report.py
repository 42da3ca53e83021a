"""The report of ``benchmarks/hyperparameter.py``: tables, bars and the regret plot, from the
runs in its ``.jsonl`` (one dict per run: planner, task, seed, evals, values, planner_s, wall_s).

Normalised regret after t evaluations: ``|f* - f(best so far)| / |f* - f_ref|``. For the
tabular and synthetic tasks ``f*`` is the known optimum and ``f_ref`` the median config (a 1 is a
median config, 0 the optimum). For the real training tasks (digits-cnn, wine-mlp) neither is
known: ``f*`` is the best value any run of any planner reached on that task, and ``f_ref`` the
median of the ``random`` planner's evaluations (uniform draws: the median config's value).

The statistics are in ``hpo_stats.py``, the issue's bars in ``hpo_bars.py``.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from hpo_bars import bars
from hpo_stats import ALPHA, MIN_TEST_SEEDS, TIE, at, compare, medians, significant
from machine import describe

CHECKPOINTS = (50, 100)


def load_runs(path: Path) -> list[dict[str, Any]]:
    """The runs of a ``*_runs.jsonl`` (one JSON object per line); none if there is no file."""
    import json

    if not path.exists():
        return []
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def _estimated_refs(task: Any, runs: list[dict[str, Any]]) -> tuple[float, float]:
    vals = [v for r in runs for v in r["values"]]
    rand = [v for r in runs if r["planner"] == "random" for v in r["values"]] or vals
    best = max(vals) if task.direction == "max" else min(vals)
    return best, float(np.median(rand))


def regret_curves(
    runs: list[dict[str, Any]],
    make_task: Callable[..., Any],
    reference: Callable[..., Any],
    budget: int | None = None,
) -> tuple[dict[tuple[str, str], np.ndarray], dict[str, bool]]:
    """{(task, planner): seeds x evals regret (NaN past a run's budget)}, {task: refs estimated}.
    Each (planner, task, seed) counts once: with ``budget``, its shortest run of at least that
    many evaluations (the run made for that checkpoint: a peer may size itself by its budget,
    as SMAC3's initial design does, so a 100-evaluation run read at 50 is not the 50 run);
    without, its longest."""
    chosen: dict[tuple[str, str, int], dict[str, Any]] = {}
    for r in runs:
        k, n = (r["planner"], r["task"], r["seed"]), len(r["values"])
        if budget is not None and n < budget:
            continue
        old = chosen.get(k)
        if old is None or (n < len(old["values"]) if budget else n > len(old["values"])):
            chosen[k] = r

    curves: dict[tuple[str, str], np.ndarray] = {}
    estimated: dict[str, bool] = {}
    for t in sorted({r["task"] for r in chosen.values()}):
        task = make_task(t)
        trs = [r for r in chosen.values() if r["task"] == t]
        est = not hasattr(task, "true_value") and not hasattr(task, "evaluate_array")
        every = [r for r in runs if r["task"] == t]  # refs not tied to which runs were chosen
        opt, ref = _estimated_refs(task, every) if est else reference(task)
        estimated[t] = est
        for p in sorted({r["planner"] for r in trs}):
            rows = []
            for r in (r for r in trs if r["planner"] == p):
                worst = -np.inf if task.direction == "max" else np.inf
                v = np.nan_to_num(np.asarray(r["values"], float), nan=worst)  # a diverged run
                acc = np.maximum if task.direction == "max" else np.minimum
                rows.append(np.clip(np.abs(acc.accumulate(v) - opt) / abs(ref - opt), 0, None))
            n = max(len(c) for c in rows)
            curves[t, p] = np.array(
                [np.pad(c, (0, n - len(c)), constant_values=np.nan) for c in rows]
            )
    return curves, estimated


def _ranks(meds: dict[str, float]) -> dict[str, int]:
    """1 = best median; ties (within TIE) share the better rank."""
    return {p: 1 + sum(o < m - TIE for o in meds.values()) for p, m in meds.items()}


def _table(curves: Any, tasks: list[str], planners: list[str], c: int) -> list[str]:
    meds = medians(curves, tasks, planners, c)
    ns = sorted({len(at(curves, t, p, c)) for t in tasks for p in planners} - {0})
    lines = [
        f"## Median normalised regret after {c} evaluations ({'/'.join(map(str, ns)) or 0} seeds per cell)",
        "",
        "Each cell: median regret (rank on the task, 1 = best median; ties within "
        f"{TIE:g} share a rank) and, where fewer than the most, `n=` seeds. **Bold** = rank 1. "
        f"`*`: this peer's regrets differ from `bo`'s on the task (Mann-Whitney U, p < {ALPHA:g}, "
        f"both with ≥ {MIN_TEST_SEEDS} seeds).",
        "",
        "Seeds per planner (fewest–most over the tasks shown): "
        + ", ".join(
            f"{p} {min(k)}" + (f"–{max(k)}" if max(k) > min(k) else "")
            for p in planners
            if (k := [len(at(curves, t, p, c)) for t in tasks if len(at(curves, t, p, c))])
        )
        + ".",
        "",
        "| task | " + " | ".join(planners) + " |",
        "|---|" + "---|" * len(planners),
    ]
    most = max(ns) if ns else 0
    rank_sum: dict[str, list[int]] = {p: [] for p in planners}
    for t in tasks:
        rk = _ranks(meds[t])
        cells = []
        for p in planners:
            if p not in meds[t]:
                cells.append("–")
                continue
            rank_sum[p].append(rk[p])
            n = len(at(curves, t, p, c))
            s = f"{meds[t][p]:.3g} ({rk[p]})" + (f" n={n}" if n < most else "")
            s += "*" if significant(curves, t, p, c) else ""
            cells.append(f"**{s}**" if rk[p] == 1 else s)
        if meds[t]:
            lines.append(f"| {t} | " + " | ".join(cells) + " |")
    return [*lines, *_mean_rank_rows(meds, tasks, planners, rank_sum), ""]


def _mean_rank_rows(
    meds: dict[str, dict[str, float]],
    tasks: list[str],
    planners: list[str],
    rank_sum: dict[str, list[int]],
) -> list[str]:
    """The mean-rank row. Where some planner lacks runs on some task, a mean over different
    task sets (and ranks among different fields) would not compare: then one row over the
    tasks every planner ran, and one over every task among the planners that ran them all."""
    shown = [t for t in tasks if meds[t]]
    complete = [p for p in planners if all(p in meds[t] for t in shown)]
    if len(complete) == len(planners):
        return [
            "| mean rank | "
            + " | ".join(f"{np.mean(v):.2f}" if v else "–" for v in rank_sum.values())
            + " |"
        ]
    common = [t for t in shown if all(p in meds[t] for p in planners)]
    rows = []
    if common:
        ranks = [_ranks(meds[t]) for t in common]
        rows.append(
            f"| mean rank, the {len(common)} task{'s' * (len(common) != 1)} every planner ran | "
            + " | ".join(f"{np.mean([r[p] for r in ranks]):.2f}" for p in planners)
            + " |"
        )
    if len(complete) > 1:
        ranks = [_ranks({p: meds[t][p] for p in complete}) for t in shown]
        rows.append(
            f"| mean rank, all {len(shown)} tasks, among the planners that ran them all | "
            + " | ".join(
                f"{np.mean([r[p] for r in ranks]):.2f}" if p in complete else "–" for p in planners
            )
            + " |"
        )
    return rows


def _plot(curves: Any, tasks: list[str], planners: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = min(5, len(tasks))
    rows = -(-len(tasks) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 2.8 * rows), squeeze=False)
    for ax in axes.flat[len(tasks) :]:
        ax.axis("off")
    colour = {p: f"C{i}" for i, p in enumerate(planners)}  # the same colour on every panel
    for ax, t in zip(axes.flat, tasks, strict=False):
        for p in planners:
            if (t, p) not in curves:
                continue
            c = curves[t, p]
            have = np.flatnonzero(np.sum(~np.isnan(c), 0) >= max(1, c.shape[0] // 2))
            n = int(have.max()) + 1
            x = np.arange(1, n + 1)
            ax.plot(
                x,
                np.maximum(np.nanmedian(c[:, :n], 0), 1e-4),
                color=colour[p],
                lw=2.2 if p == "bo" else 1.1,
            )
        ax.set_yscale("log")
        ax.set_title(t, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("median regret (0 drawn at 1e-4)", fontsize=8)
    handles = [plt.Line2D([], [], color=colour[p], lw=2.2 if p == "bo" else 1.1) for p in planners]
    fig.legend(handles, planners, loc="lower right", fontsize=8, ncol=2)
    fig.supxlabel("evaluations", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def report(
    runs: list[dict[str, Any]],
    *,
    tasks: list[str],
    planners: list[str],
    make_task: Callable[..., Any],
    reference: Callable[..., Any],
    out: Path,
    header: list[str],
    timing: dict[str, tuple[float, float]],
) -> str:
    """The markdown text (and ``<out.stem>_regret.png`` beside ``out``)."""
    make_task = functools.cache(make_task)  # each table loads once for the three reads below
    curves, estimated = regret_curves(runs, make_task, reference)
    at_c = {c: regret_curves(runs, make_task, reference, budget=c)[0] for c in CHECKPOINTS}
    planners = [p for p in planners if any(k[1] == p for k in curves)]
    lines = list(header)
    missing = [t for t in tasks if not any(k[0] == t for k in curves)]
    if missing:
        lines += [f"Not run (no time left on the shared box): {', '.join(missing)}.", ""]
    tasks = [t for t in tasks if t not in missing]
    est = [t for t in tasks if estimated.get(t)]
    if est:
        lines += [
            f"Regret on {', '.join(est)} uses estimated references (optimum unknown): f* = the best "
            "value any run reached, f_median = the median of `random`'s evaluations.",
            "",
        ]
    for c in CHECKPOINTS:
        if any(len(at(at_c[c], t, p, c)) for t in tasks for p in planners):
            lines += _table(at_c[c], tasks, planners, c)
    counts = [len(at(at_c[50], t, p, 50)) for t in tasks for p in planners]
    fewest = min((n for n in counts if n), default=0)
    if fewest < 5:
        lines += [
            f"**Few seeds:** some cells hold {fewest} seed(s) (the issue asks for 10): medians "
            f"of as few as {fewest} noisy run(s); the ranks, counts and bars below are "
            "provisional where they rest on those cells.",
            "",
        ]
    lines += bars(at_c[50], tasks, planners, 50)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines += [
        "## Planner time and wall time",
        "",
        "CPU seconds of the planner's process per proposal, median / max over every round of "
        "every run; total wall seconds of all its runs (evaluations included; the box is shared, "
        "so wall time includes waiting for a core).",
        "",
        "| planner | CPU s / proposal (median / max) | runs | total wall s |",
        "|---|---|---|---|",
    ]
    for p in planners:
        rs = [r for r in runs if r["planner"] == p and r["task"] in tasks]
        cpu = [x[1] for r in rs for x in r["planner_s"]]
        lines.append(
            f"| {p} | {np.median(cpu):.3f} / {max(cpu):.2f} | {len(rs)} | {sum(r['wall_s'] for r in rs):.0f} |"
        )
    slow = [
        (x[1], r["task"], x[0])
        for r in runs
        if r["planner"] == "bo" and r["task"] in tasks
        for x in r["planner_s"]
        if x[1] > 1.0
    ]
    if slow:
        n_rounds = sum(len(r["planner_s"]) for r in runs if r["planner"] == "bo")
        lines += [
            "",
            f"`bo`'s rounds over the issue's 1 CPU s per proposal: {len(slow)} of {n_rounds} ("
            + ", ".join(f"{t} at {n} observations: {c:.2f}" for c, t, n in sorted(slow)[::-1][:6])
            + "). The runs shared the 2 cores with up to three other benchmark processes; the "
            "line below measures 200 observations on its own.",
        ]
    if timing:
        lines += [
            "",
            f"`bo` asked for 4 configs after 200 observations of random configs (CPU / wall s per "
            f"proposal, load {load:.1f}, {describe()}): "
            + ", ".join(f"{t} {c:.2f} / {w:.2f}" for t, (c, w) in timing.items()),
        ]
    lines += ["", f"![median regret curves]({out.stem}_regret.png)", ""]
    _plot(curves, tasks, planners, out.parent / f"{out.stem}_regret.png")
    lines.insert(
        1,
        f"\n_Written {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {describe()} (shared)._",
    )
    return "\n".join(lines)


__all__ = ["compare", "load_runs", "regret_curves", "report"]
