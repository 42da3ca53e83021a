"""How much does a short training say about the full one, on the multi-fidelity tasks?

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/mf_fidelity_corr.py        # ~3 min
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/mf_fidelity_corr.py --configs 60 --seeds 2

Every multi-fidelity method (ASHA, Hyperband, DEHB, ``mf-bo``) bets that a config's
val_loss after a few epochs ranks it as its val_loss after the full training would. This
measures that bet, on the benchmark's own trainer (``mf_trainer.Trainer``: the same curves
the methods read): random configs of each task's space, each trained to the full epochs,
and, for each rung of the eta-3 ladder (1, 3, 9 epochs), the Spearman rank correlation of
the rung's val_loss with the full training's, and the share of the top quarter at the full
training that is also in the top quarter at the rung. A property of the task, not of any
method: nothing is tuned on it.

Writes benchmarks/results/mf_fidelity_corr.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.append(str(Path(__file__).resolve().parent))  # after the packages
from mf_trainer import DEV_TASK, TASKS, Trainer  # noqa: E402

OUT = Path(__file__).resolve().parent / "results" / "mf_fidelity_corr.md"
MLP_TASKS = [t for t in TASKS if t.endswith("-mlp")]


def rung_agreement(task: str, seed: int, n: int) -> dict[int, tuple[float, float]]:
    """Per rung below the top: (Spearman rho with the full training, top-quarter overlap)."""
    from scipy.stats import spearmanr

    tr = Trainer(task, seed)
    cfgs = tr.space.sample(np.random.default_rng(seed), n, set())
    curves = np.array([tr.curve(c, tr.max_e) for c in cfgs])
    full = curves[:, -1]
    k = max(1, n // 4)
    top = set(np.argsort(full)[:k])
    out = {}
    for r in tr.rungs[:-1]:
        at = curves[:, r - 1]
        out[r] = (float(spearmanr(at, full).statistic), len(top & set(np.argsort(at)[:k])) / k)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--tasks", nargs="+", default=MLP_TASKS)
    ap.add_argument("--configs", type=int, default=40, help="random configs per task and seed")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    t0 = time.time()
    lines = [
        "# Does a short training rank configs as the full one does? (multi-fidelity tasks)",
        "",
        f"_Written {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by "
        f"`benchmarks/mf_fidelity_corr.py`: {args.configs} random configs per task and seed, "
        f"seeds 0-{args.seeds - 1}, each trained to the full epochs ({{t}} min)._",
        "",
        "Spearman rho of val_loss at the rung with val_loss at the full training, and the "
        "share of the full training's top quarter that is in the rung's top quarter (chance: "
        "0.25); mean over seeds (min-max).",
        "",
        "| task | rung (epochs) | Spearman rho | top-quarter overlap |",
        "|---|---|---|---|",
    ]
    for task in args.tasks:
        per = [rung_agreement(task, s, args.configs) for s in range(args.seeds)]
        for r in per[0]:
            rho = [p[r][0] for p in per]
            ov = [p[r][1] for p in per]
            name = f"{task} (DEV)" if task == DEV_TASK else task
            lines.append(
                f"| {name} | {r} of {TASKS[task]} | {np.mean(rho):.2f} ({min(rho):.2f}-"
                f"{max(rho):.2f}) | {np.mean(ov):.2f} ({min(ov):.2f}-{max(ov):.2f}) |"
            )
            print(lines[-1], flush=True)
    lines.append("")
    lines[2] = lines[2].replace("{t}", f"{(time.time() - t0) / 60:.1f}")
    args.out.write_text("\n".join(lines))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
