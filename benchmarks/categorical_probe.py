"""Why does ``bo`` stall on categorical spaces? A small probe (issue 20, item 1).

    nice -n 10 env OMP_NUM_THREADS=1 .venv/bin/python benchmarks/categorical_probe.py \
        --tasks nb201-cifar10,nb201-imagenet --planners bo-legacy,bo,optuna-gp,random

Each run: 50 evaluations in rounds of 4 (every round asked with the round before it told,
as ``benchmarks/hyperparameter.py`` does), noise-free normalised regret of the best evaluated
config (1 = the task's median config, 0 = its optimum). Per ``bo`` run it also records what
its proposals looked like (duplicates swapped for random configs, distinct configs) and what
its model learned: the smallest fitted categorical lengthscale, and the Spearman rank
correlation of the last model's posterior mean with the true value over the whole grid
(tabular tasks; how well the model can rank configs it has not seen).

Planners: ``bo`` (as in search/bo.py now), ``bo-legacy`` (``cat_prior=False``: BoTorch's
``MixedSingleTaskGP`` categorical lengthscales fitted without a prior, the state before this
probe), ``optuna-gp`` (Optuna's ``GPSampler``, run as in benchmarks/hyperparameter.py),
``random``, and ``bo:key=value;...`` (``bo`` with other ``BOPlanner`` keywords, values
as JSON, e.g. ``bo:max_grid=20000`` to score the whole grid). Writes benchmarks/results/categorical_probe.md (``--out`` to change) and the raw
runs as JSON lines next to it.
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
from hpo_peers import drive  # noqa: E402
from hyperparameter import reference, time_bo_at, true_value  # noqa: E402

from perturbo.kinds.hyperparameter.tasks import make_task  # noqa: E402
from perturbo.types import ExperimentSpec, Observation, Outcome, Status  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def regret_curve(task: Any, values: list[float], ref: tuple[float, float]) -> np.ndarray:
    """Normalised regret of the best value so far (as benchmarks/hpo_report.py computes it)."""
    opt, med = ref
    acc = np.maximum if task.direction == "max" else np.minimum
    return np.clip(
        np.abs(acc.accumulate(np.asarray(values, float)) - opt) / abs(med - opt), 0, None
    )


def _min_cat_lengthscale(model: Any) -> float:
    from botorch.models.kernels.categorical import CategoricalKernel

    ls = [
        float(k.lengthscale.min())
        for k in model.covar_module.modules()
        if isinstance(k, CategoricalKernel)
    ]
    return min(ls) if ls else float("nan")


def _rank_quality(task: Any, model: Any) -> float:
    """Spearman correlation of the model's posterior mean with the true values, whole grid."""
    import torch
    from scipy.stats import spearmanr

    space = task.space()
    if not space.is_discrete or space.size() > 20_000:
        return float("nan")
    grid = space.grid()
    X = torch.as_tensor(space.encode_many(grid), dtype=torch.double).unsqueeze(1)
    with torch.no_grad():
        mu = model.posterior(X).mean.reshape(-1).numpy()
    truth = np.array([true_value(task, c, np.nan) for c in grid])  # tabular: table mean
    sign = 1.0 if task.direction == "max" else -1.0
    return float(spearmanr(mu, sign * truth)[0])


def run_bo(task: Any, seed: int, evals: int, batch: int, **kw: Any) -> dict[str, Any]:
    from perturbo.search.bo import BOPlanner

    space = task.space()
    planner = BOPlanner(
        space, "hyperparameter", seed=seed, objective=task.objective, direction=task.direction, **kw
    )
    fits: list[Any] = []
    fit = planner._fit

    def spy(X: Any, Y: Any, hyper: Any = None) -> Any:
        m = fit(X, Y, hyper)
        fits.append(m)
        return m

    planner._fit = spy  # type: ignore[method-assign]
    vals, notes, keys, ask_s, min_ls = [], [], [], [], []
    while len(vals) < evals:
        t0 = time.process_time()
        specs = planner.ask(min(batch, evals - len(vals)), [])
        ask_s.append((time.process_time() - t0) / len(specs))
        if fits:
            min_ls.append(_min_cat_lengthscale(fits[-1]))
        obs = []
        for s in specs:
            m = task.evaluate(s.params)
            obs.append(
                Observation(
                    ExperimentSpec(s.params, "hyperparameter"), Outcome(Status.COMPLETED, m)
                )
            )
            vals.append(true_value(task, s.params, m[task.objective]))
            notes.append(s.note)
            keys.append(space.key(space.validate(s.params)))
        planner.tell(obs)
    return {
        "values": vals,
        "duplicates_swapped": sum("duplicate candidate" in n for n in notes),
        "distinct": len(set(keys)),
        "fallbacks": sum("fallback" in n for n in notes),
        "min_cat_lengthscale": min_ls,
        "spearman_last": _rank_quality(task, fits[-1]) if fits else float("nan"),
        "cpu_s_per_proposal": float(np.mean(ask_s)),
    }


def run_random(task: Any, seed: int, evals: int) -> dict[str, Any]:
    space = task.space()
    cfgs = space.sample(np.random.default_rng(seed), evals, set())
    return {"values": [true_value(task, c, task.evaluate(c)[task.objective]) for c in cfgs]}


def one(planner: str, task_name: str, seed: int, evals: int, batch: int) -> dict[str, Any]:
    task = make_task(task_name, seed=seed)
    t0 = time.perf_counter()
    if planner == "bo":
        r = run_bo(task, seed, evals, batch)
    elif planner == "bo-legacy":
        r = run_bo(task, seed, evals, batch, cat_prior=None)
    elif planner.startswith("bo:"):  # bo:key=value;key=value (BOPlanner keywords, for probing)
        kw = {k: json.loads(v) for k, v in (a.split("=") for a in planner[3:].split(";"))}
        r = run_bo(task, seed, evals, batch, **kw)
    elif planner == "optuna-gp":
        r = {"values": drive("optuna-gp", task, seed, evals, batch, true_value)[0]}
    elif planner == "random":
        r = run_random(task, seed, evals)
    else:
        raise SystemExit(f"unknown planner {planner!r}")
    r["regret"] = regret_curve(task, r["values"], reference(task)).tolist()
    r.update(planner=planner, task=task_name, seed=seed, wall_s=time.perf_counter() - t0)
    return r


def report(runs: list[dict[str, Any]], checkpoints: tuple[int, ...]) -> str:
    tasks = sorted({r["task"] for r in runs})
    planners = list(dict.fromkeys(r["planner"] for r in runs))
    lines = ["# Categorical probe: why `bo` stalled on NAS-Bench-201", ""]
    lines += [
        f"Median normalised regret over {len({r['seed'] for r in runs})} seeds (0 = optimum, "
        "1 = the median config), batch 4. Written by benchmarks/categorical_probe.py.",
        "",
    ]
    for c in checkpoints:
        lines += [f"## Regret at {c} evaluations", ""]
        lines += ["| planner | " + " | ".join(tasks) + " |", "|---" * (len(tasks) + 1) + "|"]
        for p in planners:
            cells = []
            for t in tasks:
                rs = [r["regret"][c - 1] for r in runs if r["planner"] == p and r["task"] == t]
                cells.append(f"{np.median(rs):.3g} ({min(rs):.2g}-{max(rs):.2g})" if rs else "-")
            lines.append(f"| {p} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["## What `bo` proposed and learned (mean over seeds)", ""]
    lines += [
        "| planner | task | duplicates swapped | distinct of 50 | min cat. lengthscale "
        "(median over asks) | Spearman(model mean, truth) at the last ask | CPU s/proposal |",
        "|---|---|---|---|---|---|---|",
    ]
    for p in planners:
        for t in tasks:
            rs = [r for r in runs if r["planner"] == p and r["task"] == t and "distinct" in r]
            if not rs:
                continue
            ls = [np.median(r["min_cat_lengthscale"]) for r in rs if r["min_cat_lengthscale"]]
            lines.append(
                f"| {p} | {t} | {np.mean([r['duplicates_swapped'] for r in rs]):.1f} | "
                f"{np.mean([r['distinct'] for r in rs]):.1f} | "
                f"{np.median(ls) if ls else float('nan'):.3g} | "
                f"{np.nanmean([r['spearman_last'] for r in rs]):.2f} | "
                f"{np.mean([r['cpu_s_per_proposal'] for r in rs]):.2f} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", default="nb201-cifar10,nb201-imagenet")
    ap.add_argument("--planners", default="bo-legacy,bo,optuna-gp,random")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--evals", type=int, default=50)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument(
        "--time-at", type=int, default=200, help="observations for the timing (0: skip)"
    )
    ap.add_argument("--out", default=str(RESULTS / "categorical_probe.md"))
    a = ap.parse_args(argv)
    runs = []
    for t in a.tasks.split(","):
        for p in a.planners.split(","):
            for s in range(a.seeds):
                r = one(p, t, s, a.evals, a.batch)
                print(
                    f"{t} {p} seed {s}: regret@{a.evals} {r['regret'][-1]:.3g} "
                    f"({r['wall_s']:.0f} s)",
                    flush=True,
                )
                runs.append(r)
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.with_suffix(".jsonl").open("w") as f:
        for r in runs:
            f.write(json.dumps(r) + "\n")
    checkpoints = tuple(c for c in (25, a.evals) if c <= a.evals)
    text = report(runs, tuple(dict.fromkeys(checkpoints)))
    if a.time_at:
        load = os.getloadavg()[0]
        cells = []
        for t in a.tasks.split(","):
            cpu, wall = time_bo_at(t, a.time_at, a.batch)
            cells.append(f"{t} {cpu:.2f} / {wall:.2f}")
        text += (
            f"\n`bo` asked for {a.batch} configs after {a.time_at} observations of random configs, "
            f"seconds per proposal (CPU / wall, load average {load:.1f} on {os.cpu_count()} CPUs): "
            + ", ".join(cells)
            + "\n"
        )
    out.write_text(text)
    print(out.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
