"""Attack-kind bars: strength vs AutoAttack, PGD speed vs ART, one-pixel success, hosting.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/attack.py            # the full run (<= 15 min)
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/attack.py --quick    # a smoke run

Writes ``benchmarks/results/attack.md`` (``attack-quick.md`` with ``--quick``) and plots.

- **strength**: on the built-in targets (digits-cnn, digits-cnn-adv, wine-mlp), the same
  held-out samples and eps (Linf 0.1): the campaign at its defaults (bo, 40 trials, batch 4,
  cascade, stop when done, no --max-passes: where it stops by itself is measured) vs
  pyautoattack's standard AutoAttack (its untargeted APGDs under 4 classes), ART's AutoAttack
  and PGD-20 alone, each with its forward + backward passes (counted by the wrapped model:
  every sample through forward, every sample a gradient flows back through). Every
  attack's examples are judged by the same :func:`perturbo.kinds.attack.evaluate.assess`.
  The bar: worst case <= AutoAttack's at <= 1/5 of its passes, fwd+bwd and forward only.
  Then the escalation taken apart (``--skip ablation`` leaves it out): the default, the cost
  ladder with the planner's configs at each climb instead of the neighbours', and
  ``--no-escalate``, each at seeds 0-2.
- **speed**: PGD-20 adversarial examples per second on one batch of the same samples, ours
  (fixed work, no early stop; and with early stop) vs ART's ProjectedGradientDescentPyTorch.
- **one-pixel**: success rate of the few-pixel DE attack, 1/3/5 pixels.
- **hosting**: one PGD step in-process vs through a Ray host actor (actors/target_host.py).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")

import torch  # noqa: E402

ROOT = Path(__file__).resolve().parent
EPS = 0.1


def _timed(fn: Any) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def _judge(tg: Any, x_adv: torch.Tensor, idx: torch.Tensor, eps: float = EPS) -> float:
    from perturbo.kinds.attack.evaluate import assess

    a = assess(
        tg.model,
        tg.x[idx],
        tg.y[idx],
        x_adv,
        eps=eps,
        norm="linf",
        lo=tg.lo,
        hi=tg.hi,
        clean_pred=tg.clean_pred[idx],
    )
    return float(a.robust.sum()) / len(idx)


def _reference(tg: Any, name: str, fn: Any) -> dict[str, Any]:
    """Run a reference attack on every sample; robust accuracy, passes, seconds."""
    idx = torch.arange(len(tg.y))
    tg.model.reset()
    with torch.enable_grad():
        xa, dt = _timed(lambda: fn(tg.model, tg.x, tg.y))
    c = tg.model.counts()
    print(f"  {name}: {dt:.1f} s", flush=True)
    return {
        "attack": name,
        "robust": _judge(tg, xa, idx),
        "fwd": c["forward_passes"],
        "bwd": c["backward_passes"],
        "seconds": dt,
    }


def strength(
    model: str,
    n: int,
    trials: int,
    batch: int,
    square: int,
    *,
    skip: set[str] = frozenset(),  # type: ignore[assignment]
    known: dict[str, Any] | None = None,
    wall_s: float | None = None,
    save: Any = None,
) -> list[dict[str, Any]]:
    """The strength rows of ``model``. ``known``: a pyautoattack row measured by an earlier run
    (same samples, seed 0: its budget for the campaign); ``skip``: references not run;
    ``wall_s``: cap the campaign's wall clock; ``save(rows)`` after every row."""
    from perturbo.kinds.attack import library as lib
    from perturbo.kinds.attack.pgd import pgd
    from perturbo.kinds.attack.samples import worst_case
    from perturbo.kinds.attack.targets import TargetRecipe

    save = save or (lambda rows: None)
    tg = TargetRecipe(model, n_samples=n, device="cpu").load()
    kw = {"eps": EPS, "norm": "linf", "lo": tg.lo, "hi": tg.hi}
    clean = float((tg.clean_pred == tg.y).float().mean())
    rows = [{"attack": "clean", "robust": clean, "fwd": 0, "bwd": 0, "seconds": 0.0}]
    rows.append(
        _reference(
            tg, "PGD-20 (ours, CE, 1 restart)", lambda m, x, y: pgd(m, x, y, steps=20, **kw).x_adv
        )
    )
    save(rows)
    if known:
        rows.append(dict(known))
    elif "pyaa" not in skip:
        rows.append(
            _reference(
                tg,
                "pyautoattack AutoAttack (standard)"
                if tg.n_classes >= 4
                else "pyautoattack AutoAttack (APGD-CE + APGD-DLR: its standard set crashes "
                "under 4 classes, and its Square needs images)",
                lambda m, x, y: lib.autoattack(m, x, y, n_classes=tg.n_classes, **kw),
            )
        )
    save(rows)
    # the campaign at its defaults (bo, --trials 40, --batch 4, cascade, stop when done),
    # no --max-passes: where it stops by itself is what is measured
    history, parts, dt = _campaign(model, n, trials, batch, 0, wall_s=wall_s)
    done = [o for o in history if o.outcome.ok]
    n = len(tg.y)  # the target's samples (wine has fewer than asked), as the campaign's
    wc = worst_case(history, n, EPS)
    cap = f", wall clock capped at {wall_s / 60:.0f} min" if wall_s else ""
    curve, total, seen = [], 0.0, []
    for o in history:  # worst case against passes, in the order the trials were recorded
        total += float(o.outcome.metrics.get("passes", 0.0))
        seen.append(o)
        curve.append((total, worst_case(seen, n, EPS).accuracy()))
    rows.append(
        {
            "attack": f"campaign (defaults: bo, {len(history)} of {trials} trials, batch "
            f"{batch}, cascade, cost ladder, stop when done, no pass cap{cap})",
            "robust": wc.accuracy(),
            "seconds": dt,
            "fwd": int(sum(o.outcome.metrics.get("forward_passes", 0) for o in history)),
            "bwd": int(sum(o.outcome.metrics.get("backward_passes", 0) for o in history)),
            "methods": dict(Counter(str(o.spec.params.get("method")) for o in done)),
            "failed": [o.outcome.error[:100] for o in history if not o.outcome.ok][:3],
            "stopped_by": parts.metrics.stopped_by(list(history)),
            "passes_at_best": parts.planner.passes_at_best,
            "curve": curve,
        }
    )
    save(rows)
    if "ablation" not in skip:
        rows[-1]["ablation"] = ablation(model, n, trials, batch, rows[-1], wall_s)
        save(rows)
    if "art" not in skip:
        rows.insert(
            -1,
            _reference(
                tg,
                f"ART AutoAttack (its attacks, cut for time: APGD-CE/DLR 1 restart not 5, "
                f"Square {square} x 1 not 5000 x 5)",
                lambda m, x, y: lib.art_autoattack(
                    m,
                    x,
                    y,
                    n_classes=tg.n_classes,
                    square_queries=square,
                    square_restarts=1,
                    apgd_restarts=1,
                    **kw,
                ),
            ),
        )
        save(rows)
    return rows


def _campaign(
    model: str,
    n: int,
    trials: int,
    batch: int,
    seed: int,
    *,
    escalate: bool = True,
    neighbours: bool = True,
    wall_s: float | None = None,
) -> tuple[Any, Any, float]:
    """One campaign at the defaults (``escalate``: the cost ladder; ``neighbours``: its
    climbs first try the neighbours' configs, else the planner's); (history, parts, s)."""
    from perturbo.actors import LocalExecutorPool
    from perturbo.kinds.attack.campaign import build

    parts = build(
        {
            "model": model,
            "eps": EPS,
            "norm": "linf",
            "samples": n,
            "trials": trials,
            "batch": batch,
            "seed": seed,
            "max_seconds": wall_s,
            "escalate": escalate,
        }
    )
    if not neighbours and parts.planner.ladder is not None:
        parts.planner.ladder.features = None  # no neighbour configs: the planner's only
    pool = LocalExecutorPool(parts.executor_factory, n_workers=1)
    try:
        history, dt = _timed(lambda: parts.run(pool, poll_s=0.05))
    finally:
        pool.close()
    return history, parts, dt


ABLATION = {
    "default (ladder, neighbours first at each climb)": {},
    "ladder, the planner's configs at each climb (no neighbours)": {"neighbours": False},
    "--no-escalate (the configs as the planner proposes them)": {"escalate": False},
}


def ablation(
    model: str, n: int, trials: int, batch: int, first: dict[str, Any], wall_s: float | None
) -> list[dict[str, Any]]:
    """The campaign's escalation, taken apart: each variant of :data:`ABLATION` at seeds
    0-2 (the default at seed 0 is the campaign row above, not run again)."""
    from perturbo.kinds.attack.samples import worst_case

    out = []
    for name, kw in ABLATION.items():
        for seed in (0, 1, 2):
            if not kw and seed == 0:
                robust, passes = first["robust"], first["fwd"] + first["bwd"]
            else:
                print(f"  ablation: {name}, seed {seed}", flush=True)
                history, parts, _ = _campaign(model, n, trials, batch, seed, wall_s=wall_s, **kw)
                robust = worst_case(history, int(parts.params["samples"]), EPS).accuracy()
                passes = sum(float(o.outcome.metrics.get("passes", 0.0)) for o in history)
            out.append({"variant": name, "seed": seed, "robust": robust, "passes": passes})
    return out


def speed(n: int, repeats: int) -> list[dict[str, Any]]:
    from perturbo.kinds.attack import library as lib
    from perturbo.kinds.attack.pgd import pgd
    from perturbo.kinds.attack.targets import TargetRecipe

    tg = TargetRecipe("digits-cnn", n_samples=n, device="cpu").load()
    x, y = tg.x, tg.y
    kw = {"eps": EPS, "norm": "linf", "lo": tg.lo, "hi": tg.hi}
    step = 2.5 * EPS / 20
    runs = {
        "ours, fixed work (no early stop)": lambda: (
            pgd(tg.model, x, y, steps=20, step_size=step, early_stop=False, **kw).x_adv
        ),
        "ours, early stop": lambda: pgd(tg.model, x, y, steps=20, step_size=step, **kw).x_adv,
        "ART ProjectedGradientDescentPyTorch": lambda: lib.art_pgd(
            tg.model, x, y, steps=20, step_size=step, batch_size=n, n_classes=10, **kw
        ),
    }
    rows = []
    idx = torch.arange(n)
    for name, fn in runs.items():
        best = float("inf")
        for _ in range(repeats):
            tg.model.reset()
            with torch.enable_grad():
                xa, dt = _timed(fn)
            best = min(best, dt)
        c = tg.model.counts()
        rows.append(
            {
                "impl": name,
                "seconds": best,
                "per_s": n / best,
                "robust": _judge(tg, xa, idx),
                "passes": c["forward_passes"] + c["backward_passes"],
            }
        )
    return rows


def one_pixel(n: int, popsize: int, iters: int) -> list[dict[str, Any]]:
    from perturbo.kinds.attack.executor import AttackExecutor, AttackSettings
    from perturbo.kinds.attack.targets import TargetRecipe
    from perturbo.types import ExperimentSpec

    tg = TargetRecipe("digits-cnn", n_samples=n, device="cpu").load()
    rows = []
    for k in (1, 3, 5):
        ex = AttackExecutor(tg, AttackSettings(eps=k, norm="l0", seed=0))
        out, dt = _timed(
            lambda ex=ex, k=k: ex.run(
                ExperimentSpec(
                    {"method": "onepixel", "popsize": popsize, "iters": iters}, id=f"px{k}"
                )
            )
        )
        m = out.metrics
        rows.append(
            {
                "pixels": k,
                "success": m["success_rate"],
                "robust": m["robust_accuracy"],
                "queries": m["queries"],
                "seconds": dt,
                "error": out.error,
            }
        )
    return rows


def hosting(n: int, steps: int = 20) -> dict[str, float]:
    """Seconds per PGD step: in-process vs a Ray host actor's loss_grad (batch of ``n``)."""
    import torch.nn.functional as F

    from perturbo.actors import connect
    from perturbo.actors.target_host import TargetHost
    from perturbo.kinds.attack.targets import TargetRecipe

    recipe = TargetRecipe("digits-cnn", n_samples=n, device="cpu")
    tg = recipe.load()
    x, y = tg.x.clone(), tg.y

    def local() -> None:
        for _ in range(steps):
            xl = x.clone().requires_grad_(True)
            torch.autograd.grad(F.cross_entropy(tg.model(xl), y, reduction="sum"), xl)

    _, t_local = _timed(local)
    runtime = connect(num_cpus=2)
    try:
        host = TargetHost.start(recipe)
        xn, yn = x.numpy(), y.numpy()
        host.loss_grad(xn, yn)  # warm
        _, t_ray = _timed(lambda: [host.loss_grad(xn, yn) for _ in range(steps)])
        host.shutdown()
    finally:
        runtime.shutdown()
    return {"local_step_ms": 1e3 * t_local / steps, "ray_step_ms": 1e3 * t_ray / steps, "n": n}


def _plot(results: dict[str, Any], out: Path, suffix: str) -> list[str]:
    from matplotlib.figure import Figure

    names = []
    fig = Figure(figsize=(13, 4), layout="constrained")
    for i, (model, rows) in enumerate(results["strength"].items()):
        ax = fig.add_subplot(1, len(results["strength"]), i + 1)
        for r in rows[1:]:
            if r.get("curve"):
                xs, ys = zip(*[(p, a) for p, a in r["curve"] if a == a], strict=False)
                ax.step(xs, ys, where="post", label="campaign worst case", color="k")
            ax.scatter(r["fwd"] + r["bwd"], r["robust"], label=r["attack"][:60], s=40)
        ax.set_xscale("log")
        ax.set_xlabel("forward + backward passes")
        ax.set_ylabel(f"robust accuracy (Linf eps {EPS})")
        ax.set_title(model)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=6)
    name = f"attack{suffix}-strength.png"
    fig.savefig(out / name)
    names.append(name)
    return names


def _shown_args() -> list[str]:
    """The command line, with a --note's text left out."""
    args, out = sys.argv[1:], []
    for i, x in enumerate(args):
        out.append("NOTE" if i and args[i - 1] == "--note" else x)
    return out


def _plain(results: dict[str, Any]) -> dict[str, Any]:
    plain = {k: v for k, v in results.items() if k != "strength"}
    plain["strength"] = {
        m: [{k: v for k, v in r.items() if k != "history"} for r in rows]
        for m, rows in results["strength"].items()
    }
    return plain


def _ablation_table(rows: list[dict[str, Any]], aa: dict[str, Any]) -> list[str]:
    aa_passes = max(1, aa["fwd"] + aa["bwd"])
    L = [
        "Escalation taken apart (seeds 0-2; a worst case above AutoAttack's is a miss):",
        "",
        "| variant | seed | worst case | <= AutoAttack | fwd+bwd | x AutoAttack's |",
        "|---|---:|---:|:---:|---:|---:|",
    ]
    for r in rows:
        ok = "yes" if r["robust"] <= aa["robust"] + 1e-12 else "**no**"
        L.append(
            f"| {r['variant']} | {r['seed']} | {r['robust']:.4f} | {ok} | {r['passes']:,.0f} | "
            f"{r['passes'] / aa_passes:.3f} |"
        )
    return [*L, ""]


def write_report(results: dict[str, Any], out: Path, quick: bool, wall: float) -> Path:
    suffix = "-quick" if quick else ""
    plots = _plot(results, out, suffix)
    L = [
        f"# Attack kind benchmark{' (quick smoke run)' if quick else ''}",
        "",
        f"`{' '.join(['python', 'benchmarks/attack.py', *_shown_args()])}` — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"{platform.processor() or platform.machine()}, torch {torch.__version__}, "
        f"{os.cpu_count()} cores shared with other engineers (timings are noisy), "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, total {wall:.0f} s.",
        "",
        *([results["note"], ""] if results.get("note") else []),
        f"## Strength (Linf eps {EPS}, {results['n']} held-out samples, the same for every row)",
        "",
    ]
    for model, rows in results["strength"].items():
        L += [
            f"### {model}",
            "",
            "| attack | robust accuracy | forward | backward | fwd+bwd | seconds |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for r in rows:
            L.append(
                f"| {r['attack']} | {r['robust']:.4f} | {r['fwd']:,} | {r['bwd']:,} | "
                f"{r['fwd'] + r['bwd']:,} | {r['seconds']:.1f} |"
            )
        aa = next((r for r in rows if r["attack"].startswith("pyautoattack")), None)
        ours = next((r for r in rows if r["attack"].startswith("campaign")), None)
        if aa is None or ours is None:
            L += ["", "Bar: not measured (AutoAttack or the campaign missing from this run).", ""]
            continue
        both = (ours["fwd"] + ours["bwd"]) / max(1, aa["fwd"] + aa["bwd"])
        fwd = ours["fwd"] / max(1, aa["fwd"])
        ok = ours["robust"] <= aa["robust"] + 1e-12 and both <= 0.2 and fwd <= 0.2
        L += [
            "",
            f"Bar (ours <= AutoAttack at <= 1/5 of its passes, forward + backward and forward "
            f"only): **{'met' if ok else 'not met'}** — {ours['robust']:.4f} vs "
            f"{aa['robust']:.4f} robust; {ours['fwd'] + ours['bwd']:,} vs "
            f"{aa['fwd'] + aa['bwd']:,} passes ({both:.3f}x), forward only {ours['fwd']:,} vs "
            f"{aa['fwd']:,} ({fwd:.3f}x).",
            "",
        ]
        if "stopped_by" in ours:
            L += [
                f"Campaign stopped by: {ours['stopped_by']}. Its worst case was last improved "
                f"at {ours['passes_at_best']:,.0f} passes.",
                "",
            ]
        if "methods" in ours:
            L += [f"Campaign configs by method: {ours['methods']}; failed: {ours['failed']}", ""]
        if ours.get("ablation"):
            L += _ablation_table(ours["ablation"], aa)
    if "speed" in results:
        L += [
            f"## Speed: PGD-20 on one batch of {results['speed_n']} (digits-cnn)",
            "",
            "| implementation | seconds (best of repeats) | examples / s | robust accuracy | passes |",
            "|---|---:|---:|---:|---:|",
        ]
        for r in results["speed"]:
            L.append(
                f"| {r['impl']} | {r['seconds']:.3f} | {r['per_s']:.0f} | {r['robust']:.4f} | {r['passes']:,} |"
            )
        art = next(r for r in results["speed"] if r["impl"].startswith("ART"))
        fixed = results["speed"][0]
        ratio = fixed["per_s"] / art["per_s"]
        L += [
            "",
            f"Bar (>= 2x ART, fixed work): **{'met' if ratio >= 2 else 'not met'}** — {ratio:.2f}x "
            f"({fixed['per_s']:.0f} vs {art['per_s']:.0f} examples/s). No GPU on this machine: no GPU numbers.",
            "",
        ]
    if "onepixel" in results:
        op = results["onepixel"]
        L += [
            f"## One-pixel / few-pixel DE attack (digits-cnn, untargeted, {op['n']} samples)",
            "",
            f"Population {op['popsize']} x {op['iters']} generations (the paper's 400 x 75 on 32x32 "
            f"= 1,024 pixels, scaled to the 64 pixels of 8x8 digits), DE/rand/1, F 0.5, CR 1.",
            "",
            "| pixels | success rate | robust accuracy | queries | seconds |",
            "|---:|---:|---:|---:|---:|",
        ]
        for r in op["rows"]:
            L.append(
                f"| {r['pixels']} | {r['success']:.3f} | {r['robust']:.3f} | {r['queries']:,.0f} | "
                f"{r['seconds']:.1f} |" + (f" {r['error']}" if r["error"] else "")
            )
    h = results.get("hosting")
    if results.get("hosting_error") and not h:
        L += ["", f"## Hosting: not measured ({results['hosting_error']})", ""]
    if h:
        L += [
            "",
            f"## Hosting: one PGD step (forward + backward) on a batch of {h['n']}",
            "",
            f"In-process {h['local_step_ms']:.2f} ms; through a Ray host actor "
            f"(actors/target_host.py) {h['ray_step_ms']:.2f} ms "
            f"({h['ray_step_ms'] / h['local_step_ms']:.1f}x). One host actor serving every executor "
            "would also run all their gradient steps in one process (one core), where a copy per "
            "executor actor (loaded once per actor) runs them in parallel: the design used.",
            "",
        ]
    L += ["", *[f"![{p}]({p})" for p in plots], ""]
    path = out / f"attack{suffix}.md"
    path.write_text("\n".join(L))
    import json

    (out / f"attack{suffix}.json").write_text(json.dumps(_plain(results), indent=1, default=str))
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a smoke run: fewer samples and trials")
    ap.add_argument("--out", default=str(ROOT / "results"))
    ap.add_argument("--no-hosting", action="store_true", help="skip the Ray hosting measurement")
    ap.add_argument(
        "--models", default="digits-cnn,digits-cnn-adv,wine-mlp", help="strength: which targets"
    )
    ap.add_argument(
        "--sections",
        default="strength,speed,onepixel,hosting",
        help="what to run (comma-separated; 'none' with --merge: just the report)",
    )
    ap.add_argument("--part", default="", help="save this run's results as a part JSON only")
    ap.add_argument("--merge", nargs="*", default=[], help="part JSONs of earlier runs to include")
    ap.add_argument("--note", default="", help="a paragraph for the report (how it was run)")
    ap.add_argument("--skip", default="", help="strength parts not to run: pyaa,art,ablation")
    ap.add_argument(
        "--known-aa", default="", help="JSON file: {model: pyautoattack row} measured before"
    )
    ap.add_argument(
        "--campaign-wall-min", type=float, default=None, help="cap each campaign's wall clock"
    )
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    import json
    import logging

    logging.disable(logging.WARNING)  # the libraries' per-attack chatter
    sections = set(a.sections.split(","))
    if a.no_hosting:
        sections.discard("hosting")
    n = 100 if a.quick else 500
    trials, batch = 40, 4  # the campaign's defaults in both modes (it stops when done)
    results: dict[str, Any] = {"n": n, "strength": {}, "wall": 0.0}
    for f in a.merge:
        part = json.loads(Path(f).read_text())
        results["strength"].update(part.pop("strength", {}))
        results["wall"] += float(part.pop("wall", 0.0))
        results.update(part)
    skip = set(a.skip.split(",")) - {""}
    known = json.loads(Path(a.known_aa).read_text()) if a.known_aa else {}
    part_path = out / f"attack{'-quick' if a.quick else ''}-part-{a.part or 'run'}.json"

    def checkpoint(model: str) -> Any:
        def save(rows: list[dict[str, Any]]) -> None:
            results["strength"][model] = rows
            if a.part:
                part_path.write_text(json.dumps(_plain(results), indent=1, default=str))

        return save

    if "strength" in sections:
        for model in a.models.split(","):
            print(f"strength on {model} ...", flush=True)
            results["strength"][model] = strength(
                model,
                n,
                trials,
                batch,
                200 if a.quick else 1000,
                skip=skip,
                known=known.get(model),
                save=checkpoint(model),
                wall_s=a.campaign_wall_min * 60 if a.campaign_wall_min else None,
            )
    if "speed" in sections:
        print("speed ...", flush=True)
        results["speed_n"] = n
        results["speed"] = speed(n, 2 if a.quick else 3)
    if "onepixel" in sections:
        pop, iters, n_px = (40, 10, 30) if a.quick else (80, 25, 100)
        print("one-pixel ...", flush=True)
        results["onepixel"] = {
            "n": n_px,
            "popsize": pop,
            "iters": iters,
            "rows": one_pixel(n_px, pop, iters),
        }
    if "hosting" in sections:
        print("hosting ...", flush=True)
        try:
            results["hosting"] = hosting(n)
        except Exception as e:  # noqa: BLE001 - a busy box may not start Ray: keep the rest
            results["hosting_error"] = f"{type(e).__name__}: {e}"[:300]
    results["wall"] += time.perf_counter() - t0
    if a.note:
        results["note"] = a.note
    if a.part:
        part_path.write_text(json.dumps(_plain(results), indent=1, default=str))
        print(f"wrote {part_path}")
        return 0
    path = write_report(results, out, a.quick, results["wall"])
    print(path.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
