"""Why `bo`'s Hartmann6 median is a coin flip: the seeds that end in its second basin.

Hartmann6 (minimised) has its global minimum -3.32237 and a second local minimum -3.20316
(regret 0.119). A run whose best value is still worse than -3.20316 has not found the
global basin. This script counts, per planner, the seeds of the main benchmark's runs
(``results/hyperparameter_runs.jsonl``, nothing rerun) still outside it at 50 and 100
evaluations, with a two-sided Fisher exact test against `bo`'s count, and how many of the
100-evaluation runs outside it at 50 got in by 100.

``--probe`` also reruns `bo`'s trapped seeds (the 100-evaluation runs outside the global basin
at 100) with variants of `bo` (``bo:key=json;...`` as ``bo_variants.py`` takes them, on
``--deterministic`` as the benchmark runs `bo`), from scratch to 100 evaluations: does a
stronger acquisition optimiser, or the default noise model, get out? (A larger initial design,
``n_init=20``, changes the whole run from its first points on: a new draw, not an escape.)
Written to
``results/hpo_basins.md`` (probe runs to ``hpo_basins_probe.jsonl``; ``--resume`` keeps them).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/hpo_basins.py [--probe]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hpo_report import load_runs  # noqa: E402
from machine import describe  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
MAIN_RUNS = RESULTS / "hyperparameter_runs.jsonl"
PROBE_RUNS = RESULTS / "hpo_basins_probe.jsonl"
TASK = "hartmann6"
F_GLOBAL, F_SECOND = -3.32237, -3.20316
PLANNERS = ("bo", "random", "optuna-tpe", "optuna-gp", "smac", "hebo", "ax")
PROBES = ("bo:num_restarts=20;raw_samples=1024", 'bo:noise="botorch"', "bo:n_init=20")


def outside(values: list[float], at: int) -> bool:
    """Still outside the global basin after ``at`` evaluations."""
    return min(values[:at]) > F_SECOND


def _fisher(a: tuple[int, int], b: tuple[int, int]) -> float:
    from scipy.stats import fisher_exact

    return float(fisher_exact([[a[0], a[1] - a[0]], [b[0], b[1] - b[0]]])[1])


def counts(runs: list[dict[str, Any]]) -> list[str]:
    rows = [r for r in runs if r["task"] == TASK]
    cells: dict[tuple[str, str], tuple[int, int]] = {}
    for p in PLANNERS:
        first = [r for r in rows if r["planner"] == p and r["evals"] == 52]
        full = [r for r in rows if r["planner"] == p and r["evals"] == 100]
        cells[p, "50"] = (sum(outside(r["values"], 50) for r in first), len(first))
        cells[p, "100"] = (sum(outside(r["values"], 100) for r in full), len(full))
        stuck = [r for r in full if outside(r["values"], 50)]
        cells[p, "esc"] = (sum(not outside(r["values"], 100) for r in stuck), len(stuck))
    out = [
        "| planner | outside at 50 | p vs bo | outside at 100 | p vs bo "
        "| outside at 50 that got in by 100 |",
        "|---|---|---|---|---|---|",
    ]
    for p in PLANNERS:
        c50, c100, esc = cells[p, "50"], cells[p, "100"], cells[p, "esc"]
        p50 = "–" if p == "bo" else f"{_fisher(cells['bo', '50'], c50):.2f}"
        p100 = "–" if p == "bo" else f"{_fisher(cells['bo', '100'], c100):.2f}"
        out.append(
            f"| {p} | {c50[0]}/{c50[1]} | {p50} | {c100[0]}/{c100[1]} | {p100} "
            f"| {esc[0]}/{esc[1]} |"
        )
    return out


def probe(runs: list[dict[str, Any]], resume: bool) -> list[str]:
    from bo_variants import run_variant
    from hpo_tasks import make_task

    trapped = sorted(
        r["seed"]
        for r in runs
        if r["task"] == TASK and r["planner"] == "bo" and r["evals"] == 100
        if outside(r["values"], 100)
    )
    done = load_runs(PROBE_RUNS) if resume else []
    if not resume:
        PROBE_RUNS.unlink(missing_ok=True)
    have = {(r["planner"], r["seed"]) for r in done}
    for v in PROBES:
        for s in trapped:
            if (v, s) in have:
                continue
            r = run_variant(v, make_task(TASK, seed=s), s, 100, 4, deterministic=True)
            done.append(r)
            with PROBE_RUNS.open("a") as f:
                f.write(json.dumps(r) + "\n")
            print(f"{v} seed {s}: best {min(r['values']):.5f}", flush=True)
    out = [
        f"`bo`'s seeds outside the global basin at 100 evaluations: {trapped}. Each rerun "
        "from scratch with a variant (the same seed, so the same Sobol' design):",
        "",
        "| variant | seeds | outside at 50 | outside at 100 | best value per seed at 100 |",
        "|---|---|---|---|---|",
    ]
    for v in PROBES:
        rs = sorted((r for r in done if r["planner"] == v), key=lambda r: r["seed"])
        vals = ", ".join(f"{r['seed']}: {min(r['values']):.4f}" for r in rs)
        n50 = sum(outside(r["values"], 50) for r in rs)
        n100 = sum(outside(r["values"], 100) for r in rs)
        out.append(f"| `{v}` | {len(rs)} | {n50} | {n100} | {vals} |")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--probe", action="store_true", help="rerun bo's trapped seeds with variants")
    ap.add_argument("--resume", action="store_true", help="keep probe runs already on disk")
    args = ap.parse_args(argv)
    runs = load_runs(MAIN_RUNS)
    if not runs:
        print(
            f"error: no runs in {MAIN_RUNS}: run benchmarks/hyperparameter.py first",
            file=sys.stderr,
        )
        return 2
    lines = [
        "## Hartmann6: the seeds that end outside the global basin",
        "",
        f"_Written by `benchmarks/hpo_basins.py` on {describe()}._",
        "",
        f"Global minimum {F_GLOBAL}, second local minimum {F_SECOND}: a run whose best is worse "
        "than the second has not found the global basin. Counts over the main benchmark's seeds "
        "(`hyperparameter_runs.jsonl`: the 52-evaluation runs at 50, the 100-evaluation runs at "
        "100); p: two-sided Fisher exact test of the planner's count against `bo`'s.",
        "",
        *counts(runs),
        "",
    ]
    if args.probe or (args.resume and PROBE_RUNS.exists()):
        import torch

        torch.set_num_threads(1)
        lines += ["### Do `bo`'s trapped seeds get out with another optimiser or noise model?", ""]
        lines += [*probe(runs, args.resume), ""]
    text = "\n".join(lines)
    (RESULTS / "hpo_basins.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
