"""The multi-fidelity benchmark's tables, cost ledger and plot (``benchmarks/multi_fidelity.py``
writes them from its runs; nothing here is hand-merged)."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

Trace = list[tuple[float, int, float, str]]  # (cost so far, epochs run, val_loss, config key)


def incumbent_curve(trace: Trace, max_e: int, ref: float, grid: np.ndarray) -> np.ndarray:
    """Regret of the best full-fidelity value so far, at each cost of ``grid`` (inf before any)."""
    out = np.full(len(grid), np.inf)
    best, j = np.inf, 0
    pts = [(c, v) for c, e, v, _ in trace if e == max_e]
    for i, g in enumerate(grid):
        while j < len(pts) and pts[j][0] <= g:
            best = min(best, pts[j][1])
            j += 1
        out[i] = best - ref
    return out


def ledger(trace: Trace, max_e: int, budget: float) -> dict[str, float]:
    """Where a run's epochs went (shares of what it paid within the budget): runs that ended
    below the top fidelity, by fidelity; full runs of the config that ended as the incumbent and
    of others; and epochs paid again (a config retrained over epochs it had already run)."""
    out: dict[str, float] = defaultdict(float)
    full = [(v, k) for c, e, v, k in trace if e == max_e and c <= budget]
    inc = min(full)[1] if full else None
    prev_cost, reached = 0.0, {}
    for c, e, _v, k in trace:
        paid, prev_cost = c - prev_cost, c
        if c > budget:
            break
        if e < max_e:
            out[f"to {e}"] += paid
        else:
            out["full: incumbent" if k == inc else "full: others"] += paid
        out["paid again"] += max(0.0, paid - max(0, e - reached.get(k, 0)))
        reached[k] = max(e, reached.get(k, 0))
    total = sum(v for n, v in out.items() if n != "paid again") or 1.0
    return {n: v / total for n, v in out.items()}


def task_section(
    task: str,
    max_e: int,
    runs: dict[str, dict[int, Trace]],
    seconds: dict[str, list[float]],
    budget: float,
    full_trainings: float,
    dev: bool,
) -> tuple[list[str], dict[str, np.ndarray], np.ndarray, dict[str, Any]]:
    methods = list(runs)
    seeds = sorted(next(iter(runs.values())))
    grid = np.linspace(0, budget, 201)
    refs = {s: min(v for m in methods for c, e, v, _ in runs[m][s] if e == max_e) for s in seeds}
    curves = {
        m: np.array([incumbent_curve(runs[m][s], max_e, refs[s], grid) for s in seeds])
        for m in methods
    }
    role = (
        "the development task: mf-bo's settings were chosen here"
        if dev
        else "held out, never tuned on"
    )
    lines = [
        f"### `{task}` ({role})",
        "",
        f"Fidelity epochs 1..{max_e}; budget {budget:g} epochs ({full_trainings:g} full trainings) "
        f"per run; {len(seeds)} seeds.",
        "",
        "| method | median regret at 25% / 50% / 100% of the budget | median evaluations | full-fidelity runs (median) | median wall s per run |",
        "|---|---|---|---|---|",
    ]  # fmt: skip
    for m in methods:
        at = [float(np.median(curves[m][:, int(f * (len(grid) - 1))])) for f in (0.25, 0.5, 1.0)]
        n_eval = statistics.median(len(runs[m][s]) for s in seeds)
        n_full = statistics.median(sum(e == max_e for _, e, _, _ in runs[m][s]) for s in seeds)
        lines.append(
            f"| {m} | {' / '.join(f'{x:.4f}' for x in at)} | {n_eval:g} | {n_full:g} | "
            + (f"{statistics.median(seconds[m]):.0f} |" if seconds.get(m) else "– |")
        )
    # the ledger: where the epochs went (median share over seeds)
    books = {m: [ledger(runs[m][s], max_e, budget) for s in seeds] for m in methods}
    cols = [
        f"to {e}"
        for e in sorted({e for m in methods for s in seeds for _, e, _, _ in runs[m][s]})
        if e < max_e
    ]
    cols += ["full: incumbent", "full: others", "paid again"]
    lines += [
        "",
        "Cost ledger (median share of the epochs paid within the budget; `to e`: runs that "
        "ended at e < max epochs; `paid again`: epochs retrained that the config had already run):",
        "",
        "| method | " + " | ".join(cols) + " |",
        "|---|" + "---|" * len(cols),
    ]  # fmt: skip
    for m in methods:
        row = [statistics.median(b.get(c, 0.0) for b in books[m]) for c in cols]
        lines.append(f"| {m} | " + " | ".join(f"{x:.2f}" for x in row) + " |")
    # the planner against the ASHAs of its schedule: mf-bo (rounds of 4) against asha+bo and
    # asha+random, mf-bo-async against asha+bo-async and asha+random-async
    mf = "mf-bo-async" if "mf-bo-async" in methods and "mf-bo" not in methods else "mf-bo"
    bar: dict[str, Any] = {}
    lines += [
        "",
        f"The bar: cost for {mf} to reach ASHA's full-budget regret, as a share of ASHA's cost:",
        "",
    ]
    ashas = [m for m in methods if m.startswith("asha+")]
    for asha in ashas:
        if mf not in methods or asha.endswith("-async") != mf.endswith("-async"):
            continue
        shares = cost_shares(curves, mf, asha, grid)
        med = statistics.median(shares)
        verdict = "met" if med <= 0.5 else "NOT met"
        bar[asha] = {"shares": shares, "median": med, "met": med <= 0.5}
        lines.append(
            f"- vs `{asha}`: per seed {', '.join(_share(x) for x in shares)}; "
            f"median {'never (inf)' if math.isinf(med) else f'{med:.2f}'} -> bar (<= 0.50) **{verdict}**."
        )  # fmt: skip
    if ashas:
        lines += [
            "",
            "The same bar for every method (median over seeds of the share of ASHA's cost it "
            "spends to reach ASHA's full-budget regret; `never`: not reached within the budget "
            "in the median seed), to tell a hard bar from a weak planner:",
            "",
            "| method | " + " | ".join(f"vs `{a}`" for a in ashas) + " |",
            "|---|" + "---|" * len(ashas),
        ]
        for m in methods:
            cells = [
                "–" if m == a else _share(statistics.median(cost_shares(curves, m, a, grid)))
                for a in ashas
            ]
            lines.append(f"| {m} | " + " | ".join(cells) + " |")
    lines += variants_vs_default(curves)
    lines.append("")
    return lines, curves, grid, {"refs": refs, "bar": bar}


def variants_vs_default(curves: dict[str, np.ndarray], tol: float = 1e-9) -> list[str]:
    """Each ``mf-bo-*`` variant against ``mf-bo`` (the planner's defaults), and each
    ``mf-bo-async-*`` against ``mf-bo-async``, seed by seed, on the final regret (the seeds
    share their trainings, so the pairs are paired)."""
    out = []
    for m in (m for m in curves if m.startswith("mf-bo-")):
        base = "mf-bo-async" if m.startswith("mf-bo-async-") else "mf-bo"
        if base not in curves:
            continue
        a, b = curves[m][:, -1], curves[base][:, -1]
        worse, better = int(np.sum(a > b + tol)), int(np.sum(a < b - tol))
        out.append(
            f"- `{m}` against `{base}`, final regret seed by seed: {worse} worse, {better} "
            f"better, {len(a) - worse - better} the same; median {np.median(a):.4f} vs "
            f"{np.median(b):.4f}."
        )
    return ["", *out] if out else []


def cost_shares(
    curves: dict[str, np.ndarray], method: str, asha: str, grid: np.ndarray
) -> list[float]:
    """Per seed: the cost at which ``method`` first reaches the regret ``asha`` ends its budget
    with, as a share of the budget (inf: never within it)."""
    out = []
    for i in range(len(curves[asha])):
        hit = np.flatnonzero(curves[method][i] <= float(curves[asha][i][-1]) + 1e-12)
        out.append(float(grid[hit[0]]) / float(grid[-1]) if len(hit) else math.inf)
    return out


def _share(x: float) -> str:
    return "never" if math.isinf(x) else f"{x:.2f}"


def plot(panels: list[tuple[str, int, dict[str, np.ndarray], np.ndarray]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.8), squeeze=False)
    for ax, (task, max_e, curves, grid) in zip(axes[0], panels, strict=True):
        for m, c in curves.items():
            med = np.median(c, axis=0)
            ok = np.isfinite(med)
            ax.plot(grid[ok] / max_e, np.maximum(med[ok], 1e-4), label=m)
        ax.set_yscale("log")
        ax.set_xlabel(f"cost (full trainings, {max_e} epochs each)")
        ax.set_title(task, fontsize=10)
    axes[0][0].set_ylabel("median regret (val_loss; 0 drawn at 1e-4)")
    axes[0][-1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


__all__ = ["cost_shares", "incumbent_curve", "ledger", "plot", "task_section"]
