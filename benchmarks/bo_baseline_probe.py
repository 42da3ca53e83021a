"""Why `bo`'s proposals on digits-cnn grew past 1 CPU s by 64-80 observations (rounds of 4),
when the same space with synthetic values takes ~0.5 s at 200, and what the baseline cap
(search/bo_baseline.py) does about it. Two real `bo` runs of the same seed, one without the
cap (``baseline_cap=None``, as `bo` was before it) and one with the default cap; their
planner time per round; then, at the uncapped run's last state, for each cap: how many
observed points qLogNEI keeps as its baseline, the acquisition optimiser's CPU time for one
proposal, and that proposal's qLogNEI value under the *uncapped* baseline (what the cap
costs in acquisition terms; the same random streams for every cap).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bo_baseline_probe.py [--evals 200 --seed 1]

Writes ``benchmarks/results/bo_baseline_probe.md``. About 30 minutes (it trains the CNNs).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
warnings.filterwarnings("ignore")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from hpo_tasks import make_task  # noqa: E402
from hyperparameter import TaskExecutor, Timed, bo_planner  # noqa: E402
from machine import describe  # noqa: E402

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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--task", default="digits-cnn")
    ap.add_argument("--evals", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    import torch

    from perturbo.search.bo_baseline import BASELINE_CAP

    torch.set_num_threads(1)
    pl, uncapped = one_run(args.task, args.seed, args.evals, None)
    _, capped = one_run(args.task, args.seed, args.evals, BASELINE_CAP)
    sweep = cap_sweep(pl)
    top = np.sort(pl._told.Y[:, 0])[::-1][:10]
    times = {n: [c, None] for n, c, _ in uncapped.times if n >= 4}
    for n, c, _ in capped.times:
        if n in times:
            times[n][1] = c
    rows = "\n".join(f"| {n} | {a:.2f} | {b:.2f} |" for n, (a, b) in times.items())
    sweep_rows = "\n".join(f"| {c} | {k} | {s:.2f} | {v:.3f} |" for c, k, s, v in sweep)
    n = len(pl._told.X)
    text = "\n".join(
        [
            f"## `bo`'s planner time on {args.task}: the qLogNEI baseline",
            "",
            f"_Written by `benchmarks/bo_baseline_probe.py` on {describe()}; seed {args.seed}, "
            f"rounds of 4, {args.evals} evaluations, one run without the baseline cap and one "
            f"with the default cap ({BASELINE_CAP}); the runs part once the cap first binds._",
            "",
            "| observations told | CPU s per proposal, no cap | with the cap |",
            "|---|---|---|",
            rows,
            "",
            f"At the uncapped run's last state ({n} observations), one proposal per cap, each "
            "from the same random state. `log qNEI`: the proposal's value under the uncapped "
            "baseline (higher is better; the uncapped optimiser's own proposal is the first row).",
            "",
            "| cap | baseline kept | optimiser CPU s | log qNEI (uncapped baseline) |",
            "|---|---|---|---|",
            sweep_rows,
            "",
            f"The ten best observed values (signed): {', '.join(f'{v:.4f}' for v in top)}.",
            "",
        ]
    )
    (RESULTS / "bo_baseline_probe.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
