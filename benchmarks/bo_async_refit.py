"""Does ``bo``'s refit cadence (search/gp_refit.py) cost anything where it acts: the
asynchronous schedule, one proposal per finished trial?

``bo`` as it is (hyperparameters refitted every 4 observations, reused in between) against
``bo`` with ``refit_every=1`` (a fit on every ask, as before), on the same seeds: 4 workers,
each trial taking the same time, so a worker frees in the order it started; after the first
4, each result is told and one proposal asked for with the other 3 pending. 52 evaluations,
read at 50, normalised regret as ``hyperparameter.py`` reports it. The two runs of a seed
share their first proposals (the same Sobol' design and the same first fits), so they are
compared seed by seed.

Tasks, fixed before any run: each kind of space of the main benchmark (continuous, small
tabular grids, a large grid, NAS-Bench-201's categoricals); the tabular ones are not among
the tasks `bo`'s settings were chosen on (docs/findings/hyperparameter.md), while
``ackley10-shifted`` is a shifted copy of one of the first five. ``hartmann6`` is left out
for its two basins (``hpo_basins.md``): a seed's result there is a coin flip. Nothing is
tuned here: two settings are compared once.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bo_async_refit.py [--seeds 5]

Writes ``benchmarks/results/bo_async_refit.md`` and ``bo_async_refit_runs.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
warnings.filterwarnings("ignore")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from hpo_report import load_runs, regret_curves  # noqa: E402
from hpo_stats import paired_signs, sign_test  # noqa: E402
from hpo_tasks import make_task  # noqa: E402
from hyperparameter import bo_planner, reference, true_value  # noqa: E402
from machine import describe  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
TASKS = (
    "ackley10-shifted",
    "hpobench-credit_g",
    "hpobench-vehicle",
    "hpobench-segment",
    "fcnet-protein_structure",
    "nb201-imagenet",
)
VARIANTS = {"bo (refit every 4)": 4, "bo (refit every ask)": 1}
WORKERS, EVALS, AT = 4, 52, 50


def run_async(task_name: str, seed: int, refit_every: int) -> dict[str, Any]:
    from perturbo.types import Observation, Outcome, Status

    task = make_task(task_name, seed=seed)
    pl = bo_planner(task, seed, refit_every=refit_every)
    running = pl.ask(WORKERS, [])
    values, cpu, t0 = [], 0.0, time.perf_counter()
    while len(values) < EVALS:
        spec = running.pop(0)  # the oldest frees first
        metrics = task.evaluate(spec.params)
        values.append(true_value(task, spec.params, metrics[task.objective]))
        pl.tell([Observation(spec, Outcome(Status.COMPLETED, metrics))])
        if len(values) + len(running) < EVALS:
            c0 = time.process_time()
            running += pl.ask(1, running)
            cpu += time.process_time() - c0
    return {
        "planner": next(k for k, v in VARIANTS.items() if v == refit_every),
        "task": task_name,
        "seed": seed,
        "evals": EVALS,
        "values": values,
        "planner_cpu_s": cpu,
        "wall_s": time.perf_counter() - t0,
    }


def report(runs: list[dict[str, Any]]) -> str:
    curves, _ = regret_curves(runs, make_task, reference, budget=AT)
    names = list(VARIANTS)
    lines = [
        "## `bo` in the asynchronous schedule: hyperparameters refitted every 4 observations "
        "or on every ask",
        "",
        f"_Written by `benchmarks/bo_async_refit.py` on {describe()}._",
        "",
        f"{WORKERS} workers, one proposal per finished trial with the other {WORKERS - 1} "
        f"pending, {EVALS} evaluations; median normalised regret at {AT} (seeds per cell in "
        "brackets), the seeds on which refitting every 4 ends lower / the same / higher "
        "(the same seed of each), and `bo`'s CPU seconds for the whole run's proposals "
        "(median).",
        "",
        f"| task | {' | '.join(names)} | every 4 vs every ask: lower / same / higher "
        "| planner CPU s, every 4 / every ask |",
        "|---|---|---|---|---|",
    ]
    totals = [0, 0, 0]
    for t in TASKS:
        if any((t, n) not in curves for n in names):
            continue
        a, b = (curves[t, n][:, AT - 1] for n in names)
        lo, same, hi = paired_signs(a, b)
        totals = [totals[0] + lo, totals[1] + same, totals[2] + hi]
        cpu = [
            np.median([r["planner_cpu_s"] for r in runs if r["task"] == t and r["planner"] == n])
            for n in names
        ]
        lines.append(
            f"| {t} | {np.median(a):.4g} ({len(a)}) | {np.median(b):.4g} ({len(b)}) "
            f"| {lo} / {same} / {hi} | {cpu[0]:.1f} / {cpu[1]:.1f} |"
        )
    lo, hi = totals[0], totals[2]
    p = sign_test(lo, hi)
    lines += [
        "",
        f"Over all seeds: refitting every 4 ends lower on {lo}, the same on {totals[1]}, "
        f"higher on {hi} (two-sided sign test over the seeds that differ: p = {p:.2f}).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--resume", action="store_true", help="keep the runs already on disk")
    ap.add_argument("--report-only", action="store_true")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    jl = RESULTS / "bo_async_refit_runs.jsonl"
    runs = load_runs(jl) if args.resume or args.report_only else []
    if not (args.resume or args.report_only):
        jl.unlink(missing_ok=True)
    done = {(r["planner"], r["task"], r["seed"]) for r in runs}
    for s in range(0 if args.report_only else args.seeds):
        for t in TASKS:
            for name, every in VARIANTS.items():
                if (name, t, s) in done:
                    continue
                r = run_async(t, s, every)
                runs.append(r)
                with jl.open("a") as f:
                    f.write(json.dumps(r) + "\n")
                print(f"{name:22s} {t:24s} seed {s}: {r['wall_s']:5.1f} s", flush=True)
    text = report(runs)
    (RESULTS / "bo_async_refit.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
