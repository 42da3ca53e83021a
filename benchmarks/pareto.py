"""``bo``'s Pareto mode against Optuna's multi-objective samplers, by hypervolume.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/pareto.py --jobs 2     # ~10 min, 2 cores
    .venv/bin/python benchmarks/pareto.py --report-only                  # the .md/.png again

Issue 20 keeps the Pareto planners beside desirability; this is the quality benchmark that any
change to ``bo``'s Pareto mode (qLogNEHVI) must be judged by, e.g. a cut of its planner time
(``benchmarks/planner_time.py``'s ``bo, 2 objectives`` row). Written in session 20, before any
such change was tried: nothing in perturbo was tuned on these tasks.

- **Tasks**: BoTorch's multi-objective test functions, both objectives minimised, their
  reference points and maximum hypervolumes BoTorch's own: ``branincurrin`` (2-D), ``zdt1``,
  ``zdt2`` (6-D), ``dtlz2`` (6-D, 2 objectives). Beside them (session 22, ``--tasks`` of
  ``MANY``, ``--name pareto_many``): three objectives (``dtlz2-m3``, ``vehiclesafety``,
  ``penicillin``) and four (``carside``, ``dtlz2-m4``), for qLogNParEGO against qLogNEHVI
  (``bo-parego``, ``bo-nehvi``). Held out for session 23's capped reference point
  (``bo-refcap``; ``REFCAP_HELD_OUT``): ``dtlz1-m3``, ``dtlz3-m3``, ``dtlz5-m3``,
  ``dtlz7-m3`` (DTLZ5 and DTLZ7: minus the hypervolume, no maximum known).
- **Planners**: perturbo's registry, the objects a campaign uses: ``bo`` (qLogNEHVI),
  ``optuna-tpe`` (multi-objective TPE), ``optuna-gp`` (GPSampler, its multi-objective
  acquisition), ``optuna-nsga2``, ``random``; 10 seeds, 52 evaluations in rounds of 4
  (``ask(4)``, then ``tell``), as ``benchmarks/hyperparameter.py`` runs them.
- **Metric**: log10 of the hypervolume regret (the maximum hypervolume minus that of the
  points evaluated so far, against the reference point); median over seeds at 12, 24 and 52
  evaluations, the rank of each planner per task by the final median, and ``bo`` against each
  peer per task (two-sided Mann-Whitney U on the final regrets, p < 0.05, as
  ``hpo_stats.compare``).

Writes benchmarks/results/pareto.md, pareto.png and pareto_runs.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402

RESULTS = HERE / "results"
TASKS = ("branincurrin", "zdt1", "zdt2", "dtlz2")  # the development set (session 20)
# held out for the reference-point protocol (docs/findings/hyperparameter.md, session 20)
HELD_OUT = ("zdt3", "dtlz1", "dtlz3", "dtlz4")
REFCAP_HELD_OUT = ("dtlz1-m3", "dtlz3-m3", "dtlz5-m3", "dtlz7-m3")  # session 23
# three and four objectives, for the qLogNParEGO protocol (docs/findings/hyperparameter.md,
# session 22): written before any planner ran on them
MANY = ("dtlz2-m3", "vehiclesafety", "penicillin", "carside", "dtlz2-m4")
PLANNERS = ("bo", "optuna-tpe", "optuna-gp", "optuna-nsga2", "random")
VARIANTS: dict[str, dict[str, Any]] = {  # bo with options, made directly
    "bo-refdata": {"ref_point": "data"},
    "bo-refcap": {"ref_point": "capped"},  # session 23's protocol (now bo's default, m >= 3)
    "bo-front": {"ref_point": "front"},  # the reference point before session 23, any m
    "bo-nehvi": {"mo_acq": "nehvi"},
    "bo-parego": {"mo_acq": "parego"},
}
# bo told the task's own reference point as objective thresholds (--ref-point): information
# the other planners are not given (Optuna's samplers take none), so a row of its own
GIVEN = "bo-refgiven"
EVALS, BATCH, CHECKS = 52, 4, (12, 24, 52)


def problem(task: str) -> Any:
    """BoTorch's test function (minimised: ``negate=False``)."""
    from botorch.test_functions import multi_objective as mo

    return {
        "branincurrin": lambda: mo.BraninCurrin(),
        "zdt1": lambda: mo.ZDT1(dim=6),
        "zdt2": lambda: mo.ZDT2(dim=6),
        "dtlz2": lambda: mo.DTLZ2(dim=6, num_objectives=2),
        "zdt3": lambda: mo.ZDT3(dim=6),
        "dtlz1": lambda: mo.DTLZ1(dim=6, num_objectives=2),
        "dtlz3": lambda: mo.DTLZ3(dim=6, num_objectives=2),
        "dtlz4": lambda: mo.DTLZ4(dim=6, num_objectives=2),
        "dtlz2-m3": lambda: mo.DTLZ2(dim=6, num_objectives=3),
        "vehiclesafety": lambda: mo.VehicleSafety(),
        "penicillin": lambda: mo.Penicillin(),
        "carside": lambda: mo.CarSideImpact(),
        "dtlz2-m4": lambda: mo.DTLZ2(dim=6, num_objectives=4),
        # held out for session 23's reference-point cap (no bo arm run on them before)
        "dtlz1-m3": lambda: mo.DTLZ1(dim=6, num_objectives=3),
        "dtlz3-m3": lambda: mo.DTLZ3(dim=6, num_objectives=3),
        "dtlz5-m3": lambda: mo.DTLZ5(dim=6, num_objectives=3),
        "dtlz7-m3": lambda: mo.DTLZ7(dim=6, num_objectives=3),
    }[task]()


def hv_regret(fn: Any, Y: np.ndarray) -> float:
    """log10(max HV - HV of ``Y``) (minimised values; BoTorch's partitioning maximises); for
    a function with no known maximum (DTLZ5, DTLZ7 in BoTorch 0.18.1), minus the HV of ``Y``
    (lower is better, as a regret)."""
    import torch
    from botorch.utils.multi_objective.box_decompositions.dominated import (
        DominatedPartitioning,
    )

    ref = -fn.ref_point
    part = DominatedPartitioning(ref_point=ref, Y=-torch.as_tensor(Y, dtype=torch.double))
    try:
        best = float(fn.max_hv)
    except NotImplementedError:
        return -float(part.compute_hypervolume())
    gap = best - float(part.compute_hypervolume())
    return float(np.log10(max(gap, 1e-12)))


def one_run(task: str, planner: str, seed: int) -> dict[str, Any]:
    """One planner on one task and seed: the log HV regret after each round."""
    import torch

    from perturbo.search.registry import GENERAL
    from perturbo.space import Float, SearchSpace
    from perturbo.types import Observation, Outcome, Status

    torch.set_num_threads(1)
    fn = problem(task)
    names = tuple(f"f{i + 1}" for i in range(fn.num_objectives))
    lo, hi = fn.bounds.tolist()
    space = SearchSpace([Float(f"x{i}", lo[i], hi[i]) for i in range(fn.dim)])
    if planner in VARIANTS or planner == GIVEN:
        from perturbo.search.bo import BOPlanner

        kw = VARIANTS.get(planner) or {
            "ref_point": dict(zip(names, map(float, fn.ref_point), strict=True))
        }
        pl = BOPlanner(space, "hyperparameter", seed, objective=names,
                       direction=("min",) * len(names), **kw)  # fmt: skip
    else:
        pl = GENERAL.make(planner, space, kind="hyperparameter", seed=seed,
                          objectives=names, directions=("min",) * len(names))  # fmt: skip
    Y: list[list[float]] = []
    curve, cpu = [], time.process_time()
    while len(Y) < EVALS:
        specs = pl.ask(BATCH, [])
        obs = []
        for s in specs:
            x = torch.tensor(
                [[float(s.params[f"x{i}"]) for i in range(fn.dim)]], dtype=torch.double
            )
            f = fn(x)[0].tolist()
            Y.append(f)
            obs.append(Observation(s, Outcome(Status.COMPLETED, dict(zip(names, f, strict=True)))))
        pl.tell(obs)
        curve.append((len(Y), hv_regret(fn, np.array(Y))))
    return {"task": task, "planner": planner, "seed": seed, "curve": curve,
            "cpu_s": time.process_time() - cpu}  # fmt: skip


def _at(run: dict[str, Any], n: int) -> float:
    return next(v for k, v in run["curve"] if k >= n)


def report(runs: list[dict[str, Any]], wall_min: float, machine: str) -> list[str]:
    from hpo_stats import ALPHA, compare

    planners = [p for p in (*PLANNERS, *VARIANTS, GIVEN) if any(r["planner"] == p for r in runs)]
    tasks = present(runs)
    per_task = {t: len({r["seed"] for r in runs if r["task"] == t}) for t in tasks}
    seeds = max(per_task.values())
    fewer = [t for t in tasks if per_task[t] < seeds]
    seeds_text = f"{seeds} seeds" + (
        f" ({min(per_task[t] for t in fewer)} on {', '.join(f'`{t}`' for t in fewer)})"
        if fewer
        else ""
    )
    # the arm the others are tested against: `bo`, or where it did not run (pareto_many.md's
    # protocol) qLogNEHVI, today's acquisition
    base = "bo" if "bo" in planners else "bo-nehvi"
    lines = [
        "## `bo`'s Pareto mode against Optuna's multi-objective samplers (hypervolume)",
        "",
        f"Tasks {', '.join(f'`{t}`' for t in tasks)} (BoTorch's test functions, every objective "
        f"minimised); {seeds_text}, {EVALS} evaluations in rounds of {BATCH}. Metric: log10 of "
        "the hypervolume regret (BoTorch's maximum hypervolume minus that of the points "
        "evaluated, against its reference point); lower is better. Written by "
        f"`benchmarks/pareto.py` in {wall_min:.1f} min wall on {machine}.",
        "",
        "| task | planner | median log10 HV regret at " + " / ".join(map(str, CHECKS))
        + f" evaluations | rank (final median) | CPU s per run (median) | `{base}` against it (MWU, final) |",
        "|---|---|---|---|---|---|",
    ]  # fmt: skip
    # bo-refgiven knows the task's reference point, the others do not: shown, not ranked
    summary: dict[str, list[int]] = {p: [] for p in planners if p != GIVEN}
    for t in tasks:
        mine = {p: [r for r in runs if r["task"] == t and r["planner"] == p] for p in planners}
        final = {p: np.array([_at(r, EVALS) for r in mine[p]]) for p in planners}
        order = sorted(summary, key=lambda p: float(np.median(final[p])))
        for p in planners:
            meds = " / ".join(f"{np.median([_at(r, n) for r in mine[p]]):.2f}" for n in CHECKS)
            rank: int | str = "– (told the reference point)"
            if p in summary:
                rank = order.index(p) + 1
                summary[p].append(rank)
            cpu = statistics.median(r["cpu_s"] for r in mine[p])
            verdict = "–"
            if p != base:
                res = compare(final[base], final[p])
                verdict = "untested" if res is None else (
                    ("better" if res[1] < 0 else "worse") + f" (p={res[0]:.3f})"
                    if res[0] < ALPHA else f"no difference (p={res[0]:.2f})"
                )  # fmt: skip
            lines.append(f"| {t} | {p} | {meds} | {rank} | {cpu:.1f} | {verdict} |")
    lines += ["", "Mean rank over the tasks: " + ", ".join(
        f"{p} {statistics.fmean(v):.2f}" for p, v in sorted(summary.items(), key=lambda kv: statistics.fmean(kv[1]))
    ) + ".", ""]  # fmt: skip
    return lines


def plot(runs: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = present(runs)
    fig, axes = plt.subplots(1, len(tasks), figsize=(4 * len(tasks), 3.4), squeeze=False)
    axes = axes[0]
    for ax, t in zip(axes, tasks, strict=True):
        for p in (*PLANNERS, *VARIANTS, GIVEN):
            mine = [r for r in runs if r["task"] == t and r["planner"] == p]
            if not mine:
                continue
            xs = [k for k, _ in mine[0]["curve"]]
            ax.plot(xs, np.median([[v for _, v in r["curve"]] for r in mine], axis=0), label=p)
        ax.set_title(t)
        ax.set_xlabel("evaluations")
    axes[0].set_ylabel("median log10 hypervolume regret")
    axes[-1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def present(runs: list[dict[str, Any]]) -> list[str]:
    """The tasks ``runs`` hold, in the order of the development set, then the held-out set."""
    return [
        t for t in (*TASKS, *HELD_OUT, *MANY, *REFCAP_HELD_OUT) if any(r["task"] == t for r in runs)
    ]


def write(runs: list[dict[str, Any]], out: Path, name: str, wall_min: float) -> None:
    from machine import describe

    (out / f"{name}_runs.json").write_text(json.dumps({"wall_min": wall_min, "runs": runs}))
    (out / f"{name}.md").write_text("\n".join(report(runs, wall_min, describe())))
    plot(runs, out / f"{name}.png")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--tasks", default=",".join(TASKS),
                    help=f"of {', '.join((*TASKS, *HELD_OUT, *MANY))}")  # fmt: skip
    ap.add_argument("--planners", default=",".join(PLANNERS),
                    help=f"of {', '.join((*PLANNERS, *VARIANTS, GIVEN))}")  # fmt: skip
    ap.add_argument("--name", default="pareto", help="the results' file stem")
    ap.add_argument("--add", action="store_true",
                    help="add these runs to <name>_runs.json (replacing the same task/planner/seed)")  # fmt: skip
    ap.add_argument("--jobs", type=int, default=1, help="processes (one run each at a time)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--report-only", action="store_true", help="rewrite .md/.png from the runs")
    args = ap.parse_args(argv)
    kept = args.out / f"{args.name}_runs.json"
    if args.report_only:
        d = json.loads(kept.read_text())
        write(d["runs"], args.out, args.name, d["wall_min"])
        return 0
    bad = [p for p in args.planners.split(",") if p not in (*PLANNERS, *VARIANTS, GIVEN)]
    bad += [
        t for t in args.tasks.split(",") if t not in (*TASKS, *HELD_OUT, *MANY, *REFCAP_HELD_OUT)
    ]
    if bad:
        ap.error(f"unknown --planners/--tasks: {', '.join(bad)} (see --help)")
    tasks, planners = args.tasks.split(","), args.planners.split(",")
    jobs = [(t, p, s) for t in tasks for p in planners for s in range(args.seeds)]
    t0 = time.perf_counter()
    if args.jobs > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(args.jobs) as ex:
            runs = list(ex.map(one_run, *zip(*jobs, strict=True)))
    else:
        runs = [one_run(*j) for j in jobs]
    wall = (time.perf_counter() - t0) / 60
    if args.add and kept.is_file():
        d = json.loads(kept.read_text())
        new = {(r["task"], r["planner"], r["seed"]) for r in runs}
        runs = [r for r in d["runs"] if (r["task"], r["planner"], r["seed"]) not in new] + runs
        wall += d["wall_min"]
    args.out.mkdir(parents=True, exist_ok=True)
    write(runs, args.out, args.name, wall)
    print(f"wrote {args.out / (args.name + '.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
