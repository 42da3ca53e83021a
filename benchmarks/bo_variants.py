"""Why does ``bo`` lose to Optuna's GPSampler / HEBO on some tasks? Variants of ``bo``'s GP fit
(search/bo_transforms.py) against today's ``bo``, run exactly as benchmarks/hyperparameter.py
runs ``bo`` (perturbo's loop, batch 4 with the earlier round pending, 52 evaluations, read at 50).

    nice -n 10 env OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bo_variants.py --stage dev
    nice -n 10 env OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bo_variants.py --stage heldout \
        --variants bo-ywarp

Variants: ``bo`` (today's), ``bo-ywarp`` (``y_warp=True``: Yeo-Johnson on the observed values,
as HEBO), ``bo-xwarp`` (``input_warp=True``: Kumaraswamy input warping of numeric columns),
``bo-lownoise`` (``noise="low"``: Optuna's noise prior and 1e-6 floor), or ``bo:key=json;...``.
``--diagnose`` also records, per fit, what the model saw and learned: the skew of the
observed values, the fitted noise variance (standardised units), the numeric lengthscales,
and how far (unit cube, max-norm) each proposal lies from the best observed config.

Baseline: ``--baseline-from`` takes today's ``bo`` rows of benchmarks/results/
hyperparameter_runs.jsonl instead of running them (only after ``--check`` has shown this runner
reproduces them value for value), except on noise-free tasks, where the main benchmark's ``bo``
runs with ``--deterministic`` (this runner's ``bo-lownoise``): those are run here. Writes benchmarks/results/bo_variants[_STAGE].md and
``_runs.jsonl`` beside it (``--resume`` skips runs already there). Never touches the main
benchmark's files.
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
from hpo_tasks import make_task, noise_free  # noqa: E402
from hyperparameter import (  # noqa: E402
    TaskExecutor,
    Timed,
    _commit,
    bo_planner,
    reference,
    true_value,
)

RESULTS = Path(__file__).resolve().parent / "results"
MAIN_RUNS = RESULTS / "hyperparameter_runs.jsonl"
DEV = ("branin", "hpobench-australian", "hpobench-kc1", "nb201-cifar10", "fcnet-naval_propulsion")
HELDOUT = (
    "hartmann6",
    "hpobench-blood_transfusion",
    "hpobench-car",
    "hpobench-credit_g",
    "hpobench-phoneme",
    "hpobench-segment",
    "hpobench-vehicle",
    "fcnet-parkinsons_telemonitoring",
    "fcnet-protein_structure",
    "fcnet-slice_localization",
    "nb201-cifar100",
    "nb201-imagenet",
    *DEV,
)
VARIANTS: dict[str, dict[str, Any]] = {
    "bo": {},
    "bo-ywarp": {"y_warp": True},
    "bo-xwarp": {"input_warp": True},
    "bo-lownoise": {"noise": "low"},
}


def variant_kw(name: str) -> dict[str, Any]:
    if name.startswith("bo:"):
        return {k: json.loads(v) for k, v in (a.split("=", 1) for a in name[3:].split(";"))}
    return VARIANTS[name]


def _diag(planner: Any, log: list[dict[str, Any]]) -> None:
    """Spy on the planner's fit: per fit, the skew of Y, noise, numeric lengthscales."""
    from scipy.stats import skew

    fit = planner._fit

    def spy(X: Any, Y: Any, hyper: Any = None) -> Any:
        m = fit(X, Y, hyper)
        if hyper is not None:  # hyperparameters reused (search/gp_refit.py): no fit to log
            return m
        raw = planner._told.Y[:, 0]
        ls = []
        for k in m.covar_module.modules():
            if hasattr(k, "lengthscale") and type(k).__name__ in ("RBFKernel", "MaternKernel"):
                ls += k.lengthscale.detach().reshape(-1).tolist()
        log.append(
            {
                "n": len(raw),
                "skew": float(skew(raw)),
                "noise": float(m.likelihood.noise.detach().reshape(-1)[0]),
                "ls_min": min(ls) if ls else float("nan"),
                "ls_med": float(np.median(ls)) if ls else float("nan"),
                "best_x": planner._told.X[int(np.argmax(raw))].tolist(),
            }
        )
        return m

    bo = planner._bo

    def spy_bo(n: int, pending: Any) -> Any:
        specs = bo(n, pending)
        if log and "dist" not in log[-1]:
            sp, best = planner._space, np.asarray(log[-1]["best_x"])
            xs = sp.encode_many([sp.validate(s.params) for s in specs])
            log[-1]["dist"] = [float(np.max(np.abs(np.asarray(x) - best))) for x in xs]
        return specs

    planner._fit, planner._bo = spy, spy_bo


def run_variant(
    name: str,
    task: Any,
    seed: int,
    evals: int,
    batch: int,
    diagnose: bool = False,
    deterministic: bool = False,
) -> dict[str, Any]:
    """One run through perturbo's loop, as hyperparameter.py's ``run_ours`` runs ``bo``.
    ``deterministic``: on a noise-free task every variant runs with ``noise="low"`` unless it
    sets ``noise`` (the product's ``--deterministic``, as the main benchmark runs ``bo``)."""
    from perturbo.actors.local_pool import LocalExecutorPool
    from perturbo.campaign import StopRule, run

    space = task.space()
    planner = bo_planner(task, seed, deterministic, **variant_kw(name))
    log: list[dict[str, Any]] = []
    if diagnose:
        _diag(planner, log)
    timed = Timed(planner)
    t0 = time.perf_counter()
    hist = run(
        planner=timed,
        pool=LocalExecutorPool(lambda: TaskExecutor(task)),
        space=space,
        batch=batch,
        stop=StopRule(max_experiments=evals),
        poll_s=0.0,
    )
    ok = [o for o in hist if o.outcome.ok]
    r = {
        "planner": name,
        "task": task.name if hasattr(task, "name") else "",
        "seed": seed,
        "evals": evals,
        "batch": batch,
        "values": [true_value(task, o.spec.params, o.outcome.metrics[task.objective]) for o in ok],
        "planner_s": timed.times,
        "wall_s": time.perf_counter() - t0,
    }
    if diagnose:
        r["diag"] = [{k: v for k, v in d.items() if k not in ("best_x", "dist")} for d in log]
        r["dist_to_best"] = [x for d in log for x in d.get("dist", [])]
    return r


def time_variants(variants: list[str]) -> str:
    """benchmarks/planner_time.py's protocol (mixed 6-D space, 200 observations, 5 asks of 4
    with 4 pending), per variant: CPU s per proposal, median / max."""
    from planner_protocol import general_history, mixed_space, time_asks

    from perturbo.search.bo import BOPlanner

    lines = [
        "| variant | CPU s / proposal at 200 obs (median / max) | wall median |",
        "|---|---|---|",
    ]
    for v in variants:
        space = mixed_space()
        hist, pending = general_history(space, np.random.default_rng(0))
        t = time_asks(BOPlanner(space, "toy", 0, **variant_kw(v)), hist, pending)
        lines.append(f"| {v} | {t['cpu_med']:.2f} / {t['cpu_max']:.2f} | {t['wall_med']:.2f} |")
        print(lines[-1], flush=True)
    return "\n".join(lines) + "\n"


def _baseline(tasks: list[str], seeds: int, evals: int) -> list[dict[str, Any]]:
    """The main benchmark's ``bo`` rows that are this runner's ``bo``: not on noise-free
    tasks, where hyperparameter.py runs ``bo`` with ``--deterministic`` (this runner's
    ``bo-lownoise``) since cda876c; those are run here."""
    noisy = {t for t in tasks if not noise_free(make_task(t))}
    rows = [
        r
        for r in load_runs(MAIN_RUNS)
        if r["planner"] == "bo" and r["task"] in noisy and r["seed"] < seeds and r["evals"] == evals
    ]
    one = {(r["task"], r["seed"]): r for r in rows}  # one run per (task, seed)
    return [{**r, "baseline_from": MAIN_RUNS.name} for r in one.values()]


def report(runs: list[dict[str, Any]], tasks: list[str], variants: list[str], c: int) -> str:
    curves, _ = regret_curves(runs, make_task, reference)

    def med(t: str, p: str) -> float:
        a = curves.get((t, p))
        return float(np.nanmedian(a[:, c - 1])) if a is not None and a.shape[1] >= c else np.nan

    def n(t: str, p: str) -> int:
        a = curves.get((t, p))
        return 0 if a is None else int(a.shape[0])

    L = ["| task | " + " | ".join(variants) + " |", "|---" * (len(variants) + 1) + "|"]
    for t in tasks:
        L.append(
            f"| {t} | " + " | ".join(f"{med(t, p):.3g} (n={n(t, p)})" for p in variants) + " |"
        )
    L += [
        "",
        f"Against `bo` (median regret at {c}; 'worse' counts tasks above 1.5x where bo > 1e-3):",
        "",
    ]
    L += [
        "| variant | lower | equal | higher | > 1.5x worse | worst ratio (task) |",
        "|---|---|---|---|---|---|",
    ]
    for p in variants:
        if p == "bo":
            continue
        lo = eq = hi = bad = 0
        worst, wt = 0.0, "-"
        for t in tasks:
            b, v = med(t, "bo"), med(t, p)
            if np.isnan(b) or np.isnan(v):
                continue
            lo, eq, hi = lo + (v < b - 1e-9), eq + (abs(v - b) <= 1e-9), hi + (v > b + 1e-9)
            if b > 1e-3:
                ratio = v / b
                bad += ratio > 1.5
                if ratio > worst:
                    worst, wt = ratio, t
        L.append(f"| {p} | {lo} | {eq} | {hi} | {bad} | {worst:.2f} ({wt}) |")
    diag = [r for r in runs if "diag" in r]
    if diag:
        L += [
            "",
            "Diagnostics (median over fits and seeds): skew of observed y (y = maximised, "
            "so a long tail of bad configs is negative skew), fitted noise variance "
            "(standardised y), numeric lengthscales, distance of the first proposal after a "
            "fit to the incumbent (max-norm, unit cube).",
            "",
        ]
        L += [
            "| task | variant | skew | noise | min ls | median ls | dist to best |",
            "|---|---|---|---|---|---|---|",
        ]
        for t in tasks:
            for p in variants:
                rs = [r for r in diag if r["task"] == t and r["planner"] == p]
                if not rs:
                    continue
                f = [d for r in rs for d in r["diag"]]
                g = [x for r in rs for x in r["dist_to_best"]]
                L.append(
                    f"| {t} | {p} | {np.median([d['skew'] for d in f]):.2f} | "
                    f"{np.median([d['noise'] for d in f]):.2g} | "
                    f"{np.nanmedian([d['ls_min'] for d in f]):.3g} | "
                    f"{np.nanmedian([d['ls_med'] for d in f]):.3g} | {np.median(g):.3g} |"
                )
    return "\n".join(L) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stage", choices=("dev", "heldout"), default="dev")
    ap.add_argument("--tasks", default=None, help="comma list (default: the stage's)")
    ap.add_argument("--variants", default="bo,bo-ywarp,bo-xwarp,bo-lownoise")
    ap.add_argument("--seeds", type=int, default=None, help="default 5 (dev), 10 (heldout)")
    ap.add_argument("--evals", type=int, default=52)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--diagnose", action="store_true")
    ap.add_argument("--baseline-from", action="store_true", help="bo rows from the main jsonl")
    ap.add_argument(
        "--check",
        type=int,
        default=0,
        help="rerun bo on N (task, seed) of the main jsonl and compare",
    )
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--deterministic", action="store_true",
                    help="noise-free tasks: every variant with noise='low' unless it sets noise, "
                    "as the main benchmark runs bo (--deterministic)")  # fmt: skip
    ap.add_argument("--time", action="store_true", help="only time the variants at 200 obs")
    ap.add_argument("--out", default=None)
    a = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    tasks = a.tasks.split(",") if a.tasks else list(DEV if a.stage == "dev" else HELDOUT)
    seeds = a.seeds or (5 if a.stage == "dev" else 10)
    variants = a.variants.split(",")
    out = Path(a.out) if a.out else RESULTS / f"bo_variants_{a.stage}.md"
    jl = out.with_name(out.stem + "_runs.jsonl")
    if a.time:
        load = os.getloadavg()[0]
        text = time_variants(variants)
        out = RESULTS / "bo_variants_time.md"
        out.write_text(
            "# `bo` variants: planner time at 200 observations (benchmarks/planner_time.py's "
            f"protocol)\n\nCommand: `python benchmarks/bo_variants.py {' '.join(sys.argv[1:])}`; "
            f"load average {load:.1f} at start on {os.cpu_count()} CPUs.\n\n" + text
        )
        return 0
    if a.check:
        base = _baseline(tasks, seeds, a.evals)[: a.check]
        for b in base:
            r = run_variant("bo", make_task(b["task"], seed=b["seed"]), b["seed"], a.evals, a.batch)
            same = r["values"] == b["values"]
            print(f"check {b['task']} seed {b['seed']}: identical={same}", flush=True)
        return 0
    runs = load_runs(jl) if a.resume else []
    if not a.resume and jl.exists():
        jl.unlink()
    done = {(r["planner"], r["task"], r["seed"]) for r in runs}
    todo = [
        (p, t, s) for s in range(seeds) for t in tasks for p in variants if (p, t, s) not in done
    ]
    if a.baseline_from and "bo" in variants:
        base = _baseline(tasks, seeds, a.evals)
        had = {("bo", r["task"], r["seed"]) for r in base}
        todo = [x for x in todo if x not in had]
        runs = [r for r in runs if (r["planner"], r["task"], r["seed"]) not in had] + base
    commit, t0 = _commit(code=True), time.perf_counter()
    for i, (p, t, s) in enumerate(todo, 1):
        r = run_variant(p, make_task(t, seed=s), s, a.evals, a.batch, a.diagnose, a.deterministic)
        r.update(task=t, commit=commit)
        runs.append(r)
        with jl.open("a") as f:
            f.write(json.dumps(r) + "\n")
        el = time.perf_counter() - t0
        print(
            f"[{i}/{len(todo)}] {p} {t} seed {s}: {r['wall_s']:.1f}s (~{el / i * (len(todo) - i) / 60:.0f} min left)",
            flush=True,
        )
    head = [
        f"# `bo` variants ({a.stage}): median normalised regret at 50 evaluations",
        "",
        f"Command: `python benchmarks/bo_variants.py {' '.join(sys.argv[1:])}`; runs at "
        f"{sorted({r.get('commit', '?') for r in runs})}; {seeds} seeds, batch {a.batch}, "
        f"{a.evals} evaluations (13 rounds), read at 50, as benchmarks/hyperparameter.py."
        + (
            " `bo` rows: today's bo from hyperparameter_runs.jsonl (reproduced value for value by "
            "this runner: --check)."
            if a.baseline_from
            else ""
        ),
        "",
        "",
    ]
    text = "\n".join(head) + report(runs, tasks, variants, 50)
    held = [t for t in tasks if t not in DEV]
    if a.stage == "heldout" and held and held != tasks:
        # the adoption rule is judged on the held-out tasks alone (the DEV ones are for the record)
        rule = report(runs, held, variants, 50).split("Against `bo`")[1].split("Diagnostics")[0]
        text += (
            f"\n## Held-out tasks only ({len(held)}; the DEV tasks left out)\n\nAgainst `bo`{rule}"
        )
    out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
