"""The report of ``benchmarks/hyperparameter.py``: tables, bars and the regret plot, from the
runs in its ``.jsonl`` (one dict per run: planner, task, seed, evals, values, planner_s, wall_s).

Normalised regret after t evaluations: ``|f* - f(best so far)| / |f* - f_ref|``. For the
tabular and synthetic tasks ``f*`` is the known optimum and ``f_ref`` the median config (a 1 is a
median config, 0 the optimum). For the real training tasks (digits-cnn, wine-mlp) neither is
known: ``f*`` is the best value any run of any planner reached on that task, and ``f_ref`` the
median of the ``random`` planner's evaluations (uniform draws: the median config's value).

Seeds are not paired across planners (seed 3 of ``bo`` and seed 3 of a peer share nothing but the
number), so beside the medians each peer's regret distribution at 50 evaluations is compared
with ``bo``'s by a two-sided Mann-Whitney U test (``scipy.stats.mannwhitneyu``, its p-value from
the permutation distribution: exact for small samples, else 9,999 seeded resamples; right with
ties, such as several runs at regret 0) where both have at least ``MIN_TEST_SEEDS`` seeds:
p < ``ALPHA`` counts as a significant difference.
"""

from __future__ import annotations

import functools
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["ALPHA", "MIN_TEST_SEEDS", "TIE", "compare", "regret_curves", "report"]

TIE = 1e-9  # medians within this (absolute, in normalised regret) are a tie
CHECKPOINTS = (50, 100)
ALPHA = 0.05  # Mann-Whitney U p-value below which bo's and a peer's regrets differ
MIN_TEST_SEEDS = 3  # fewer seeds on either side: no test (1 vs 10 can never reach p < 0.05)


def _estimated_refs(task: Any, runs: list[dict[str, Any]]) -> tuple[float, float]:
    vals = [v for r in runs for v in r["values"]]
    rand = [v for r in runs if r["planner"] == "random" for v in r["values"]] or vals
    best = max(vals) if task.direction == "max" else min(vals)
    return best, float(np.median(rand))


def regret_curves(
    runs: list[dict[str, Any]], make_task: Callable[..., Any], reference: Callable[..., Any]
) -> tuple[dict[tuple[str, str], np.ndarray], dict[str, bool]]:
    """{(task, planner): seeds x evals regret (NaN past a run's budget)}, {task: refs estimated}.
    Each (planner, task, seed) counts once: its longest run."""
    longest: dict[tuple[str, str, int], dict[str, Any]] = {}
    for r in runs:
        k = (r["planner"], r["task"], r["seed"])
        if k not in longest or len(r["values"]) > len(longest[k]["values"]):
            longest[k] = r
    curves: dict[tuple[str, str], np.ndarray] = {}
    estimated: dict[str, bool] = {}
    for t in sorted({r["task"] for r in longest.values()}):
        task = make_task(t)
        trs = [r for r in longest.values() if r["task"] == t]
        est = not hasattr(task, "true_value") and not hasattr(task, "evaluate_array")
        opt, ref = _estimated_refs(task, trs) if est else reference(task)
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


def _at(curves: dict[tuple[str, str], np.ndarray], t: str, p: str, c: int) -> np.ndarray:
    if (t, p) not in curves or curves[t, p].shape[1] < c:
        return np.array([])
    col = curves[t, p][:, c - 1]
    return col[~np.isnan(col)]


def _medians(
    curves: Any, tasks: list[str], planners: list[str], c: int
) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for t in tasks:
        out[t] = {
            p: float(np.median(_at(curves, t, p, c))) for p in planners if len(_at(curves, t, p, c))
        }
    return out


def compare(bo: np.ndarray, peer: np.ndarray) -> tuple[float, int] | None:
    """(two-sided Mann-Whitney U p-value, sign): sign -1 = ``bo``'s regrets tend lower (better),
    +1 higher, 0 neither. None when either side has fewer than ``MIN_TEST_SEEDS`` seeds."""
    if min(len(bo), len(peer)) < MIN_TEST_SEEDS:
        return None
    if np.ptp(np.concatenate([bo, peer])) <= TIE:  # all equal (e.g. every run at the optimum)
        return 1.0, 0
    return _mwu(tuple(map(float, bo)), tuple(map(float, peer)))


@functools.lru_cache(maxsize=4096)
def _mwu(bo: tuple[float, ...], peer: tuple[float, ...]) -> tuple[float, int]:
    from scipy.stats import PermutationMethod, mannwhitneyu

    method = PermutationMethod(n_resamples=9999, rng=0)
    res = mannwhitneyu(bo, peer, alternative="two-sided", method=method)
    half = len(bo) * len(peer) / 2  # U counts the pairs where bo's regret is the higher one
    return float(res.pvalue), int(np.sign(res.statistic - half))


def _significant(curves: Any, t: str, p: str, c: int) -> int:
    """-1 / +1: ``bo`` significantly better / worse than ``p`` on ``t``; 0: not (or untested)."""
    r = compare(_at(curves, t, "bo", c), _at(curves, t, p, c)) if p != "bo" else None
    return r[1] if r is not None and r[0] < ALPHA else 0


def _ranks(meds: dict[str, float]) -> dict[str, int]:
    """1 = best median; ties (within TIE) share the better rank."""
    return {p: 1 + sum(o < m - TIE for o in meds.values()) for p, m in meds.items()}


def _table(curves: Any, tasks: list[str], planners: list[str], c: int) -> list[str]:
    meds = _medians(curves, tasks, planners, c)
    ns = sorted({len(_at(curves, t, p, c)) for t in tasks for p in planners} - {0})
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
            if (k := [len(_at(curves, t, p, c)) for t in tasks if len(_at(curves, t, p, c))])
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
            n = len(_at(curves, t, p, c))
            s = f"{meds[t][p]:.3g} ({rk[p]})" + (f" n={n}" if n < most else "")
            s += "*" if _significant(curves, t, p, c) else ""
            cells.append(f"**{s}**" if rk[p] == 1 else s)
        if meds[t]:
            lines.append(f"| {t} | " + " | ".join(cells) + " |")
    lines.append(
        "| mean rank | "
        + " | ".join(f"{np.mean(v):.2f}" if v else "–" for v in rank_sum.values())
        + " |"
    )
    return [*lines, ""]


def _bars(curves: Any, tasks: list[str], planners: list[str], c: int) -> list[str]:
    meds = _medians(curves, tasks, planners, c)
    if "bo" not in planners:
        return ["`bo` has no runs yet: no bars.", ""]
    peers = [p for p in planners if p != "bo"]
    lines = [
        f"## `bo` against each peer at {c} evaluations",
        "",
        f"Per task, on medians over seeds: win = `bo` lower by more than {TIE:g}, tie = within "
        f"{TIE:g}, loss = higher. Tasks where either has no runs are left out. Beside them, on the "
        f"distributions (seeds are not paired): the tasks where a two-sided Mann-Whitney U test "
        f"finds `bo`'s regrets significantly lower (sig. better) or higher (sig. worse) than the "
        f"peer's, p < {ALPHA:g}, out of the tasks where both have ≥ {MIN_TEST_SEEDS} seeds (tested).",
        "",
        "| peer | win | tie | loss | tasks | sig. better | sig. worse | tested | sig. worse on |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    sig_worse: dict[str, list[str]] = {}
    for q in peers:
        both = [t for t in tasks if "bo" in meds[t] and q in meds[t]]
        w = sum(meds[t]["bo"] < meds[t][q] - TIE for t in both)
        ti = sum(abs(meds[t]["bo"] - meds[t][q]) <= TIE for t in both)
        tested = [
            t for t in both if compare(_at(curves, t, "bo", c), _at(curves, t, q, c)) is not None
        ]
        sb = [t for t in tested if _significant(curves, t, q, c) < 0]
        sig_worse[q] = [t for t in tested if _significant(curves, t, q, c) > 0]
        lines.append(
            f"| {q} | {w} | {ti} | {len(both) - w - ti} | {len(both)} | {len(sb)} | "
            f"{len(sig_worse[q])} | {len(tested)} | {', '.join(sig_worse[q]) or '–'} |"
        )
    ext = [q for q in peers if q != "random"]
    full = [t for t in tasks if "bo" in meds[t] and any(q in meds[t] for q in ext)]
    ok = [t for t in full if all(meds[t]["bo"] <= meds[t][q] + TIE for q in ext if q in meds[t])]
    gaps = {q: sum(q not in meds[t] for t in full) for q in ext}
    share = len(ok) / max(1, len(full))
    worse = [
        t
        for t in tasks
        if "bo" in meds[t] and "random" in meds[t] and meds[t]["bo"] > meds[t]["random"] + TIE
    ]
    nb = [t for t in tasks if t.startswith("nb201-") and "bo" in meds[t]]
    nb_rows = []
    for t in nb:
        best = min((meds[t][q], q) for q in peers if q in meds[t] and q != "random")
        nb_rows.append((t, meds[t]["bo"], best, meds[t]["bo"] <= 1.5 * best[0] + TIE))
    verdict = lambda b: "**met**" if b else "**NOT met**"  # noqa: E731
    lines += [
        "",
        "### The issue's bars",
        "",
        f"- `bo`'s median ≤ every peer's (random aside) on {len(ok)}/{len(full)} tasks "
        f"({share:.0%}; bar ≥ 70%): {verdict(share >= 0.7 and bool(full))}. Against the peers "
        "that have runs on the task"
        + (
            " (missing: " + ", ".join(f"{q} on {n}" for q, n in gaps.items() if n) + " tasks)."
            if any(gaps.values())
            else "."
        )
        + (f" Not on: {', '.join(t for t in full if t not in ok)}." if len(ok) < len(full) else ""),
        "  Beside it, on the distributions: `bo` is significantly worse (Mann-Whitney U, p < "
        f"{ALPHA:g}) than at least one peer on "
        f"{len(sw := sorted({t for q in ext for t in sig_worse[q]}))}/{len(full)} tasks"
        + (f" ({', '.join(sw)})" if sw else "")
        + "; untested pairs (a side with fewer than "
        f"{MIN_TEST_SEEDS} seeds) count as no difference.",
        *_bound(curves, meds, full, ext, c),
        *_every_planner(meds, tasks, ["bo", *ext]),
        f"- never worse than random: {verdict(not worse)}"
        + (f" (worse on {', '.join(worse)})." if worse else "."),
        "- NAS-Bench-201 within 1.5× of the best peer: "
        + (
            verdict(all(r[3] for r in nb_rows))
            + " — "
            + "; ".join(f"{t}: bo {b:.3g} vs {q} {m:.3g}" for t, b, (m, q), _ in nb_rows)
            if nb_rows
            else "no runs."
        ),
        "",
    ]
    return lines


def _bound(curves: Any, meds: Any, full: list[str], ext: list[str], c: int) -> list[str]:
    """The bar's share against only the peers' cells that hold the most seeds: more seeds in
    the other cells can only lower it (a task counts when ``bo`` beats every peer on it)."""
    n = {(t, q): len(_at(curves, t, q, c)) for t in full for q in ext}
    most = max(n.values(), default=0)
    if all(v == most for v in n.values() if v):
        return []
    ok = [t for t in full if all(meds[t]["bo"] <= meds[t][q] + TIE for q in ext if n[t, q] == most)]
    return [
        f"  Against only the peer cells with {most} seeds: `bo`'s median ≤ each of theirs on "
        f"{len(ok)}/{len(full)} tasks ({len(ok) / len(full):.0%}), an upper bound on the share "
        "above"
        + (
            ": the bar cannot be met whatever more seeds in the other cells show."
            if len(ok) / len(full) < 0.7
            else "."
        )
    ]


def _every_planner(meds: Any, tasks: list[str], judged: list[str]) -> list[str]:
    """The first bar applied to every planner in turn: the share of tasks where its median is
    <= every other judged planner's (random aside). How far the best of them is from 70% says
    how far the bar is from what any of these planners does on these tasks."""
    out = []
    for x in judged:
        on = [t for t in tasks if x in meds[t] and any(q in meds[t] for q in judged if q != x)]
        ok = [t for t in on if all(meds[t][x] <= meds[t][q] + TIE for q in judged if q in meds[t])]
        if on:
            out.append(f"{x} {len(ok)}/{len(on)} ({len(ok) / len(on):.0%})")
    if not out:
        return []
    return [
        "  The same test for each planner against all the others (random aside): "
        + ", ".join(out)
        + ". A task can count for several planners (tied medians)."
    ]


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
    curves, estimated = regret_curves(runs, make_task, reference)
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
        if any(len(_at(curves, t, p, c)) for t in tasks for p in planners):
            lines += _table(curves, tasks, planners, c)
    counts = [len(_at(curves, t, p, 50)) for t in tasks for p in planners]
    fewest = min((n for n in counts if n), default=0)
    if fewest < 5:
        lines += [
            f"**Few seeds:** some cells hold {fewest} seed(s) (the issue asks for 10): medians "
            f"of as few as {fewest} noisy run(s); the ranks, counts and bars below are "
            "provisional where they rest on those cells.",
            "",
        ]
    lines += _bars(curves, tasks, planners, 50)
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
            f"proposal, load {load:.1f}): "
            + ", ".join(f"{t} {c:.2f} / {w:.2f}" for t, (c, w) in timing.items()),
        ]
    lines += ["", f"![median regret curves]({out.stem}_regret.png)", ""]
    _plot(curves, tasks, planners, out.parent / f"{out.stem}_regret.png")
    lines.insert(
        1,
        f"\n_Written {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {platform.machine()}, "
        f"{os.cpu_count()} CPUs (shared)._",
    )
    return "\n".join(lines)
