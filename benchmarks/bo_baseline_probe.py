"""Why `bo`'s proposals on digits-cnn grow past 1 CPU s by 64-80 observations (rounds of 4),
when the same space with synthetic values takes ~0.5 s at 200: one real `bo` run, its
planner time per round, then at the last state the fit's time, how many observed points
qLogNEI keeps as its baseline after ``prune_baseline`` (the points that may still be the
best), and the acquisition optimiser's time for one proposal.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bo_baseline_probe.py [--evals 84 --seed 1]

Writes ``benchmarks/results/bo_baseline_probe.md``. About 4 minutes (it trains the CNNs).
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--task", default="digits-cnn")
    ap.add_argument("--evals", type=int, default=84)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    import torch

    from perturbo.actors.local_pool import LocalExecutorPool
    from perturbo.campaign import StopRule, run

    torch.set_num_threads(1)
    task = make_task(args.task, seed=args.seed)
    pl = bo_planner(task, args.seed)
    timed = Timed(pl)
    run(
        planner=timed,
        pool=LocalExecutorPool(lambda: TaskExecutor(task)),
        space=task.space(),
        batch=4,
        stop=StopRule(max_experiments=args.evals),
        poll_s=0.0,
    )
    X = torch.as_tensor(pl._told.X, dtype=torch.double)
    Y = pl._train_y(len(X))
    c0 = time.process_time()
    model = pl._fit(X, Y)
    fit_s = time.process_time() - c0
    acq = pl._acquisition(model, X, Y, None)
    kept = int(acq.X_baseline.shape[0])
    c0 = time.process_time()
    pl._optimize(acq, 1)
    opt_s = time.process_time() - c0
    top = np.sort(pl._told.Y[:, 0])[::-1][:10]
    rows = "\n".join(f"| {n} | {c:.2f} |" for n, c, _ in timed.times if n >= 4)
    text = "\n".join(
        [
            f"## `bo`'s planner time on {args.task}: the qLogNEI baseline",
            "",
            f"_Written by `benchmarks/bo_baseline_probe.py` on {describe()}; one run, seed "
            f"{args.seed}, rounds of 4, {args.evals} evaluations._",
            "",
            "| observations told | CPU s per proposal |",
            "|---|---|",
            rows,
            "",
            f"At {len(X)} observations: the GP fit {fit_s:.2f} CPU s; qLogNEI keeps "
            f"**{kept} of {len(X)}** observed points as its baseline after `prune_baseline`; "
            f"the acquisition optimiser takes {opt_s:.2f} CPU s for one proposal. The ten "
            f"best observed values (signed): {', '.join(f'{v:.4f}' for v in top)}.",
            "",
        ]
    )
    (RESULTS / "bo_baseline_probe.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
