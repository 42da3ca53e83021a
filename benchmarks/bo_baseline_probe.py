"""Why `bo`'s proposals on digits-cnn grew past 1 CPU s by 64-80 observations (rounds of 4),
when the same space with synthetic values takes ~0.5 s at 200, and what the baseline cap
(search/bo_baseline.py) does about it. Two real `bo` runs of the same seed, one without the
cap (``baseline_cap=None``, as `bo` was before it) and one with the default cap; their
planner time per round; then, at the uncapped run's last state, for each cap: how many
observed points qLogNEI keeps as its baseline, the acquisition optimiser's CPU time for one
proposal, and that proposal's qLogNEI value under the *uncapped* baseline (what the cap
costs in acquisition terms; the same random streams for every cap).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bo_baseline_probe.py [--evals 200 --seed 1]
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bo_baseline_probe.py --caps 32,16 --jobs 2 \
        --out bo_baseline_caps.md

Writes ``benchmarks/results/bo_baseline_probe.md`` (about 45 minutes: the uncapped run is the
slow part) or ``--out``. The second command (about 15 minutes) ran session 19's comparison of
two caps side by side, under the same load.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
warnings.filterwarnings("ignore")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from hpo_tasks import make_task  # noqa: E402
from hyperparameter import TaskExecutor, Timed, bo_planner  # noqa: E402
from machine import describe  # noqa: E402

from perturbo.search.bo_baseline import BASELINE_CAP  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
CAPS = (None, 64, 32, 16, 8)


def one_run(task_name: str, seed: int, evals: int, cap: int | None) -> tuple[object, Timed]:
    from perturbo.actors.local_pool import LocalExecutorPool
    from perturbo.campaign import StopRule, run

    task = make_task(task_name, seed=seed)
    pl = bo_planner(task, seed, baseline_cap=cap)
    timed = Timed(pl)
    run(
        planner=timed,
        pool=LocalExecutorPool(lambda: TaskExecutor(task)),
        space=task.space(),
        batch=4,
        stop=StopRule(max_experiments=evals),
        poll_s=0.0,
    )
    return pl, timed


def cap_sweep(pl: object) -> list[tuple[str, int, float, float]]:
    """At ``pl``'s state: (cap, baseline kept, optimiser CPU s, the proposal's log-qNEI under
    the uncapped baseline) per cap, each from the same random state."""
    import torch

    X = torch.as_tensor(pl._told.X, dtype=torch.double)
    model = pl._fit(X, pl._train_y(len(X)))
    rows, full = [], None
    for cap in CAPS:
        pl.baseline_cap = cap
        torch.manual_seed(0)
        acq = pl._acquisition(model, X, None, None)
        if full is None:
            full = acq
        c0 = time.process_time()
        cand = pl._optimize(acq, 1)
        opt_s = time.process_time() - c0
        with torch.no_grad():
            value = float(full(cand.unsqueeze(0)))
        rows.append(("none" if cap is None else str(cap), len(acq.X_baseline), opt_s, value))
    return rows


def probe(task: str, seed: int, evals: int, cap: int | None, sweep: bool) -> dict[str, Any]:
    """One run (a worker process's job): its times per round and, with ``sweep``, the cap
    sweep at its last state and its ten best values."""
    import torch

    torch.set_num_threads(1)
    pl, timed = one_run(task, seed, evals, cap)
    out: dict[str, Any] = {"times": [(n, c) for n, c, _ in timed.times], "n": len(pl._told.X)}
    if sweep:
        out["sweep"] = cap_sweep(pl)
        out["top"] = np.sort(pl._told.Y[:, 0])[::-1][:10].tolist()
    return out


def _cap(text: str) -> int | None:
    return None if text == "none" else int(text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--task", default="digits-cnn")
    ap.add_argument("--evals", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--caps", default=f"none,{BASELINE_CAP}",
        help="the runs' baseline caps, 'none' for uncapped (default: none and bo's default); "
        "the cap sweep is done at the first run's last state when it is 'none'",
    )  # fmt: skip
    ap.add_argument("--jobs", type=int, default=1, help="runs in parallel (one process each)")
    ap.add_argument("--out", default="bo_baseline_probe.md", help="file in benchmarks/results")
    args = ap.parse_args(argv)
    caps = [_cap(c) for c in args.caps.split(",")]
    sweep = caps[0] is None
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        jobs = [
            pool.submit(probe, args.task, args.seed, args.evals, c, sweep and i == 0)
            for i, c in enumerate(caps)
        ]
        runs = [j.result() for j in jobs]
    names = ["no cap" if c is None else f"cap {c}" for c in caps]
    times: dict[int, list[str]] = {}
    for k, run in enumerate(runs):
        for n, c in run["times"]:
            if n >= 4:
                times.setdefault(n, [""] * len(runs))[k] = f"{c:.2f}"
    rows = "\n".join(f"| {n} | {' | '.join(v)} |" for n, v in sorted(times.items()))
    text = [
        f"## `bo`'s planner time on {args.task}: the qLogNEI baseline",
        "",
        f"_Written by `benchmarks/bo_baseline_probe.py --caps {args.caps} --jobs {args.jobs}` "
        f"on {describe()}; seed {args.seed}, rounds of 4, {args.evals} evaluations, one run "
        f"per cap ({BASELINE_CAP}: `bo`'s default); the runs part once a cap first binds"
        + ("; run side by side, one process each, so under the same load" if args.jobs > 1 else "")
        + "._",
        "",
        f"| observations told | {' | '.join(f'CPU s per proposal, {m}' for m in names)} |",
        "|---|" + "---|" * len(names),
        rows,
        "",
    ]
    if sweep:
        sweep_rows = "\n".join(
            f"| {c} | {k} | {s:.2f} | {v:.3f} |" for c, k, s, v in runs[0]["sweep"]
        )
        text += [
            f"At the uncapped run's last state ({runs[0]['n']} observations), one proposal per "
            "cap, each from the same random state. `log qNEI`: the proposal's value under the "
            "uncapped baseline (higher is better; the uncapped optimiser's own proposal is the "
            "first row).",
            "",
            "| cap | baseline kept | optimiser CPU s | log qNEI (uncapped baseline) |",
            "|---|---|---|---|",
            sweep_rows,
            "",
            "The ten best observed values (signed): "
            + ", ".join(f"{v:.4f}" for v in runs[0]["top"])
            + ".",
            "",
        ]
    (RESULTS / args.out).write_text("\n".join(text))
    print("\n".join(text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
