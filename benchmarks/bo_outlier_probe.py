"""How much one diverged evaluation costs `bo` (issue 20; the exposure `mf-bo`'s winsorization
fixed, measured for `bo`, which has no such default).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bo_outlier_probe.py [--seeds 5]

A training that diverges can return a huge *finite* loss (session 12 saw a val_loss of 53 and
one of 2.4e31). `bo` standardises its outcomes, so one such value squeezes every other
observation into a sliver of the standardised range. Each arm runs `bo` (batch 4, 48
evaluations, ``noise="low"`` as the benchmark runs it on noise-free functions) on a synthetic
task; in the ``outlier`` arms the planner is told the run's 3rd evaluation as ``1e6`` worse
than it was (the run's regret is still computed from the true values). Arms: ``clean`` (no
outlier), ``outlier`` (the default planner, whose ``y_guard`` clamps a value over 100 IQRs
out), ``outlier, no guard`` (``y_guard=False``, `bo` before session 13), and the same with
`bo`'s opt-in Yeo-Johnson outcome warp. ``--identity`` checks instead that the guard changes
nothing on the HPO benchmark's recorded `bo` runs (every prefix of every run: what each
proposal's fit saw), so those runs stand as they are. Writes
``benchmarks/results/bo_outlier_probe.md``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

sys.path.append(str(Path(__file__).resolve().parent))  # after the packages
from hpo_tasks import make_task  # noqa: E402
from hyperparameter import reference  # noqa: E402
from machine import describe  # noqa: E402

from perturbo.search.bo import BOPlanner  # noqa: E402
from perturbo.types import Observation, Outcome, Status  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
TASKS = ("hartmann6", "branin")
ARMS = {
    "clean": (False, {}),
    "outlier": (True, {}),
    "outlier, no guard": (True, {"y_guard": False}),
    "outlier, no guard, y_warp": (True, {"y_guard": False, "y_warp": True}),
}
EVALS, BATCH, AT, BLOW_UP = 48, 4, 2, 1e6


def run(task_name: str, seed: int, outlier: bool, opts: dict[str, Any]) -> float:
    """Normalised regret of the best true value after EVALS evaluations."""
    task = make_task(task_name)
    opt, ref = reference(task)
    sign = 1.0 if task.direction == "min" else -1.0
    pl = BOPlanner(task.space(), seed=seed, objective=task.objective, direction=task.direction,
                   noise="low", **opts)  # fmt: skip
    true: list[float] = []
    while len(true) < EVALS:
        obs = []
        for s in pl.ask(BATCH, []):
            m = dict(task.evaluate(s.params))
            true.append(float(m[task.objective]))
            if outlier and len(true) - 1 == AT:
                m[task.objective] += sign * BLOW_UP
            obs.append(Observation(s, Outcome(Status.COMPLETED, m)))
        pl.tell(obs)
    best = min(true) if task.direction == "min" else max(true)
    return abs(best - opt) / abs(ref - opt)


def identity(path: Path) -> list[str]:
    """The guard on every prefix of every recorded `bo` run: rows per task, changed prefixes."""
    from hpo_report import load_runs

    from perturbo.search.bo_transforms import clamp_blow_ups

    runs = load_runs(path)
    out: dict[str, list[int]] = {}
    for r in (r for r in runs if r["planner"] == "bo"):
        sign = 1.0 if make_task(r["task"]).direction == "max" else -1.0
        v = sign * np.asarray(r["values"], float)[:, None]
        v = v[np.isfinite(v[:, 0])]
        changed = sum(bool((clamp_blow_ups(v[:n]) != v[:n]).any()) for n in range(2, len(v) + 1))
        c = out.setdefault(r["task"], [0, 0, 0])
        c[0], c[1], c[2] = c[0] + 1, c[1] + len(v) - 1, c[2] + changed
    lines = ["| task | `bo` runs | prefixes checked | changed by the guard |", "|---|---|---|---|"]
    lines += [f"| {t} | {a} | {b} | {c} |" for t, (a, b, c) in sorted(out.items())]
    total = sum(c for _, _, c in out.values())
    return [
        *lines,
        "",
        f"Prefixes the guard changes: {total} of {sum(b for _, b, _ in out.values())}.",
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--tasks", default=",".join(TASKS))
    ap.add_argument("--identity", action="store_true",
                    help="check the guard on hyperparameter_runs.jsonl's bo runs instead")  # fmt: skip
    args = ap.parse_args(argv)
    if args.identity:
        lines = identity(RESULTS / "hyperparameter_runs.jsonl")
        head = ["# `bo`'s blow-up guard on the HPO benchmark's recorded `bo` runs", "",
                f"_Written {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by "
                "`python benchmarks/bo_outlier_probe.py --identity`._", ""]  # fmt: skip
        (RESULTS / "bo_outlier_identity.md").write_text("\n".join(head + lines) + "\n")
        print("\n".join(lines))
        return 0
    import torch

    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    tasks = [t for t in args.tasks.split(",") if t]
    res: dict[tuple[str, str], list[float]] = {}
    t0 = time.perf_counter()
    for t in tasks:
        for arm, (outlier, opts) in ARMS.items():
            res[t, arm] = [run(t, s, outlier, opts) for s in range(args.seeds)]
            print(t, arm, np.round(res[t, arm], 4), flush=True)
    lines = [
        "# One diverged evaluation against `bo`",
        "",
        f"_Written {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {describe()} by "
        f"`python benchmarks/bo_outlier_probe.py --seeds {args.seeds} --tasks {args.tasks}` in "
        f"{(time.perf_counter() - t0) / 60:.1f} min._",
        "",
        f'`bo`, batch {BATCH}, {EVALS} evaluations, `noise="low"`; in the outlier arms the '
        f"planner is told evaluation {AT + 1} as {BLOW_UP:g} worse than it was. Normalised "
        "regret of the best true value (0 = optimum, 1 = a median config): median over seeds, "
        "and each seed's.",
        "",
        "| task | " + " | ".join(ARMS) + " |",
        "|---|" + "---|" * len(ARMS),
    ]
    for t in tasks:
        cells = [f"{statistics.median(res[t, a]):.4f} ({', '.join(f'{x:.3f}' for x in res[t, a])})"
                 for a in ARMS]  # fmt: skip
        lines.append(f"| {t} | " + " | ".join(cells) + " |")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "bo_outlier_probe.md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
