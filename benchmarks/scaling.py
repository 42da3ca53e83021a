"""Parallel efficiency over 1-16 actors: perturbo round-synchronous vs asynchronous vs Ray Tune.

    .venv/bin/python benchmarks/scaling.py              # ~15 min on 2 busy cores
    .venv/bin/python benchmarks/scaling.py --actors 1,4 --per-actor 24 --no-tune  # quick

Not under ``nice``: what is measured is latency (how soon a freed worker gets its next
experiment), and a niced driver on a busy machine is woken late.

Every experiment sleeps a duration drawn from a lognormal (sigma 1: heavy-tailed, median
``--median``), so the work is known exactly and the CPUs stay free. For ``k`` actors the
campaign runs ``per_actor * k`` experiments whose durations come from one seeded draw; the
three systems run the *same* durations in the same order:

- perturbo sync: ``campaign.run(schedule="sync")``, rounds of ``k`` (each waits for its
  slowest experiment);
- perturbo async: ``campaign.run(schedule="async")``, a worker refilled as it frees;
- Ray Tune: ``tune.Tuner`` over a grid of the experiment indices, ``max_concurrent_trials=k``,
  ``reuse_actors=True``, auto loggers off (its best case, see overhead.md), stopped after
  ``--tune-budget`` seconds (``time_budget_s``): on this box it needs ~1 s per trial at 16
  concurrent trials, and the full 1,536 would take ~25 min.

**Parallel efficiency** = ideal time (sum of durations / k) / measured wall time. The
measured time is the campaign's (actors started and warmed before, for perturbo) and, for
Tune, from its first trial's start to its last trial's end (``fit()`` wall is shown too).
**Overhead per experiment** = (measured - the zero-overhead time of the same schedule) * k /
experiments, where the zero-overhead time is simulated: greedy list scheduling in order
(async, Tune) or the sum of each round's longest duration (sync). The drain at the end (the
last long experiments running while other workers idle) is in the simulated time, so it
shows in the efficiency but not in the overhead.

Placement on a 2-CPU machine: one local Ray with 2 CPUs; 16 actors do not fit at 1 CPU
each, so ``RayExecutorPool`` gives each actor the free CPUs divided by the actors, rounded
down to 0.01 (0.12 CPU at 16), and Tune trials ask for the same fraction. Sleeping actors
need no CPU; each is a Python process (~100-200 MB).

Writes benchmarks/results/scaling.md, scaling.png and scaling.json.
"""

from __future__ import annotations

import argparse
import heapq
import json
import logging
import math
import os
import platform
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from perturbo.campaign import StopRule, run  # noqa: E402
from perturbo.types import ExperimentSpec, InvalidSpec, Outcome, Status  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def durations(k: int, per_actor: int, median: float, sigma: float, seed: int) -> np.ndarray:
    return np.random.default_rng(seed * 1000 + k).lognormal(math.log(median), sigma, per_actor * k)


def greedy_makespan(d: np.ndarray, k: int) -> float:
    """Zero-overhead time of running ``d`` in order on ``k`` workers, each refilled as it frees."""
    free = [0.0] * k
    for x in d:
        heapq.heappush(free, heapq.heappop(free) + float(x))
    return max(free)


def rounds_makespan(d: np.ndarray, k: int) -> float:
    """Zero-overhead time of rounds of ``k``: each lasts as long as its longest experiment."""
    return float(sum(d[i : i + k].max() for i in range(0, len(d), k)))


class SleepFor:
    """Sleeps ``durations[i]``: the executor (plain Python, Ray wraps it)."""

    def __init__(self, durations: list[float]) -> None:
        self.d = durations

    def run(self, spec: ExperimentSpec) -> Outcome:
        i = int(spec.params["i"])
        t0 = time.time()
        time.sleep(self.d[i] if i >= 0 else 0.0)
        return Outcome(Status.COMPLETED, {"start": t0, "end": time.time(), "pid": os.getpid()})


class Factory:
    def __init__(self, durations: list[float]) -> None:
        self.d = durations

    def __call__(self) -> SleepFor:
        return SleepFor(self.d)


class Indices:
    """Experiment ``i`` = the i-th duration; each runs once."""

    unique = True

    def __init__(self, n: int) -> None:
        self.n = n

    def validate(self, params: Any) -> dict[str, Any]:
        i = int(params["i"])
        if not 0 <= i < self.n:
            raise InvalidSpec(f"i={i} out of range")
        return {"i": i}

    def key(self, params: Any) -> str:
        return str(params["i"])

    def sample(self, rng: Any, n: int, exclude: set[str]) -> list[dict[str, Any]]:
        return [{"i": i} for i in range(self.n) if str(i) not in exclude][:n]


class InOrder:
    """Proposes experiments 0, 1, 2... (the pending ones are simply the next in line)."""

    name = "in-order"

    def __init__(self, n: int) -> None:
        self.n, self.next = n, 0

    def ask(self, n: int, pending: Any) -> list[ExperimentSpec]:
        out = [
            ExperimentSpec({"i": i}, "hyperparameter")
            for i in range(self.next, min(self.n, self.next + n))
        ]
        self.next += len(out)
        return out

    def tell(self, observations: Any) -> None: ...


@dataclass
class Row:
    system: str
    actors: int
    experiments: int
    ideal_s: float
    simulated_s: float
    wall_s: float
    fit_s: float = 0.0
    gap_ms: float = 0.0
    """Median idle time between two experiments on one worker (end of one, start of next)."""
    planned: int = 0
    """Experiments it was given, where it finished fewer (Tune stopped by its time budget)."""

    @property
    def efficiency(self) -> float:
        return self.ideal_s / self.wall_s

    @property
    def overhead_ms(self) -> float:
        if not self.experiments:
            return math.nan
        return 1000 * (self.wall_s - self.simulated_s) * self.actors / self.experiments


def median_gap_ms(runs: list[tuple[float, float, float]]) -> float:
    """``runs``: (worker, start, end); the median gap between consecutive runs of a worker."""
    by: dict[float, list[tuple[float, float]]] = {}
    for w, a, b in runs:
        by.setdefault(w, []).append((a, b))
    gaps = [
        nxt[0] - cur[1]
        for iv in by.values()
        for cur, nxt in zip(sorted(iv), sorted(iv)[1:], strict=False)
    ]
    return 1000 * float(np.median(gaps)) if gaps else 0.0


def bench_perturbo(d: np.ndarray, k: int, schedule: str) -> tuple[float, float]:
    from perturbo.actors import RayExecutorPool

    n = len(d)
    pool = RayExecutorPool(Factory(d.tolist()), n_workers=k)
    try:
        pool.submit([ExperimentSpec({"i": -1}, "hyperparameter", id=f"w{j}") for j in range(2 * k)])
        got = 0
        while got < 2 * k:  # actors up and warm: their start is not what is measured
            got += len(pool.wait(timeout_s=60))
        t0 = time.perf_counter()
        hist = run(planner=InOrder(n), pool=pool, space=Indices(n), batch=k,
                   stop=StopRule(max_experiments=n), schedule=schedule, poll_s=1.0)  # fmt: skip
        wall = time.perf_counter() - t0
    finally:
        pool.close()
    assert hist.n_ran == n and all(o.outcome.ok for o in hist), "experiments failed"
    assert sorted(int(o.spec.params["i"]) for o in hist) == list(range(n))
    m = [o.outcome.metrics for o in hist]
    return wall, median_gap_ms([(x["pid"], x["start"], x["end"]) for x in m])


def _tune_trial(config: dict[str, Any], durations: list[float]) -> None:
    from ray import tune

    t0 = time.time()
    time.sleep(durations[config["i"]])
    tune.report({"start": t0, "end": time.time(), "pid": os.getpid()})


def bench_tune(
    d: np.ndarray, k: int, cpu: float, storage: str, budget_s: float
) -> tuple[list[int], float, float, float]:
    """Tune on the same durations, stopped after ``budget_s`` (its ``time_budget_s``): the
    indices of the trials it finished, its span (first start to last end), ``fit()`` wall
    and median gap."""
    from ray import tune

    os.environ["TUNE_DISABLE_AUTO_CALLBACK_LOGGERS"] = "1"
    logging.getLogger("ray.tune").setLevel(logging.ERROR)
    trainable = tune.with_resources(
        tune.with_parameters(_tune_trial, durations=d.tolist()), {"cpu": cpu}
    )
    tuner = tune.Tuner(
        trainable,
        param_space={"i": tune.grid_search(list(range(len(d))))},
        tune_config=tune.TuneConfig(
            max_concurrent_trials=k, reuse_actors=True, time_budget_s=budget_s
        ),
        run_config=tune.RunConfig(storage_path=storage, name=f"scaling-{k}", verbose=0),
    )
    t0 = time.perf_counter()
    grid = tuner.fit()
    fit = time.perf_counter() - t0
    done = [r for r in grid if r.error is None and r.metrics and "end" in r.metrics]
    if not done:
        return [], fit, fit, 0.0
    ok = [r.metrics for r in done]
    span = max(m["end"] for m in ok) - min(m["start"] for m in ok)
    idx = [int(r.config["i"]) for r in done]
    return idx, span, fit, median_gap_ms([(m["pid"], m["start"], m["end"]) for m in ok])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--actors", default="1,2,4,8,16", help="actor counts (1,2,4,8,16)")
    p.add_argument("--per-actor", type=int, default=96, help="experiments per actor (96)")
    p.add_argument("--median", type=float, default=0.1, help="median duration in s (0.1)")
    p.add_argument("--sigma", type=float, default=1.0, help="lognormal sigma (1.0)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-tune", action="store_true", help="skip Ray Tune")
    p.add_argument(
        "--tune-actors", default="1,4,16", help="actor counts Tune runs at (1,4,16: Tune is slow)"
    )
    p.add_argument(
        "--tune-budget",
        type=float,
        default=120.0,
        help="seconds Tune may run per row (its time_budget_s; 120): efficiency is then over "
        "the trials it finished",
    )
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--replot", action="store_true", help="rewrite md/png from OUT/scaling.json")
    a = p.parse_args(argv)
    a.command = ".venv/bin/python benchmarks/scaling.py " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    if a.replot:
        saved = json.loads((a.out / "scaling.json").read_text())
        write([Row(**r) for r in saved["rows"]], saved["meta"], a.out)
        return 0
    from perturbo.actors import connect

    meta: dict[str, Any] = {
        "command": a.command.strip(),
        "per_actor": a.per_actor,
        "median": a.median,
        "sigma": a.sigma,
        "seed": a.seed,
        "tune_budget": a.tune_budget,
        "load": [os.getloadavg()[0], os.getloadavg()[0]],
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
    }
    a.out.mkdir(parents=True, exist_ok=True)
    rows: list[Row] = []

    def save() -> None:  # after every row: an interrupted run keeps what it measured
        meta["load"][1] = os.getloadavg()[0]
        data = {"meta": meta, "rows": [asdict(r) for r in rows]}
        (a.out / "scaling.json").write_text(json.dumps(data, indent=1))

    runtime = connect(num_cpus=2)
    try:
        for k in [int(x) for x in a.actors.split(",")]:
            d = durations(k, a.per_actor, a.median, a.sigma, a.seed)
            ideal, n = float(d.sum()) / k, len(d)
            for schedule in ("sync", "async"):
                wall, gap = bench_perturbo(d, k, schedule)
                sim = rounds_makespan(d, k) if schedule == "sync" else greedy_makespan(d, k)
                rows.append(Row(f"perturbo {schedule}", k, n, ideal, sim, wall, gap_ms=gap))
                save()
                print(
                    f"{k:>2} actors {schedule:>5}: {wall:6.1f} s, eff {ideal / wall:.1%}",
                    flush=True,
                )
            if not a.no_tune and str(k) in a.tune_actors.split(","):
                cpu = min(1.0, math.floor(100 * 2 / k) / 100)
                with tempfile.TemporaryDirectory(prefix="perturbo-tune-") as storage:
                    idx, span, fit, gap = bench_tune(d, k, cpu, storage, a.tune_budget)
                dd = d[sorted(idx)]  # what it finished (all, unless its time budget ran out)
                sim = greedy_makespan(dd, k)
                planned = n if len(dd) < n else 0
                rows.append(Row("Ray Tune", k, len(dd), dd.sum() / k, sim, span, fit, gap, planned))
                save()
                print(
                    f"{k:>2} actors  tune: {span:6.1f} s (fit {fit:.1f} s), eff {ideal / span:.1%}",
                    flush=True,
                )
    finally:
        runtime.shutdown()
    write(rows, meta, a.out)
    return 0


def write(rows: list[Row], meta: dict[str, Any], out: Path) -> None:
    lines = [
        "# Scaling: parallel efficiency over 1-16 actors, synchronous vs asynchronous vs Ray Tune",
        "",
        f"Sleep-bound experiments, lognormal durations (median {meta['median']:g} s, sigma "
        f"{meta['sigma']:g}: heavy-tailed), {meta['per_actor']} experiments per actor, the same "
        f"seeded durations for all three systems (seed {meta['seed']}). One local Ray on "
        f"127.0.0.1 with 2 CPUs; 16 actors are placed by giving each the free CPUs / actors "
        f"(0.12 CPU at 16; Tune trials ask for the same). Machine: {meta['machine']}, shared "
        f"with other jobs (1-min load {meta['load'][0]:.1f} at the start, {meta['load'][1]:.1f} "
        f"at the end). Command: `{meta['command']}`.",
        "",
        "**efficiency** = ideal (sum of durations / actors) / measured; **simulated** = the "
        "same schedule with zero overhead (async, Tune: greedy in order; sync: sum of each "
        "round's longest); **overhead** = (measured - simulated) x actors / experiments. Tune's "
        "measured time is first trial start to last trial end; its `fit()` wall is shown apart. "
        "**gap** = median idle time between consecutive experiments on one worker (the "
        "steady-state cost of handing a worker its next experiment; for sync it includes "
        "waiting for the round's slowest). Ray Tune ran with `time_budget_s` = "
        f"{meta.get('tune_budget', 0):g} s per row: where it finished fewer experiments, its "
        "ideal and simulated times are over those it finished. Target: async efficiency >= "
        "90% at 16 actors.",
        "",
        "| system | actors | experiments | ideal (s) | simulated (s) | measured (s) | efficiency | bound (ideal / simulated) | overhead / experiment (ms) | gap (ms) | Tune: finished, fit() (s) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.system} | {r.actors} | {r.experiments} | {r.ideal_s:.1f} | {r.simulated_s:.1f} | "
            f"{r.wall_s:.1f} | {r.efficiency:.1%} | {r.ideal_s / r.simulated_s:.1%} | "
            f"{r.overhead_ms:.1f} | {r.gap_ms:.1f} | "
            f"{f'{r.experiments} of {r.planned} in its time budget, ' if r.planned else ''}"
            f"{f'{r.fit_s:.1f}' if r.fit_s else '-'} |"
        )
    top = max(r.actors for r in rows)
    at = {r.system: r for r in rows if r.actors == top}
    lines += [
        "",
        f"At {top} actors: " + ", ".join(f"{s} {r.efficiency:.1%}" for s, r in at.items()) + ".",
    ]
    if meta.get("notes"):
        lines += ["", meta["notes"]]
    if "perturbo async" in at:
        ok = at["perturbo async"].efficiency >= 0.9
        lines.append(f"Target (async >= 90% at {top} actors): {'met' if ok else 'NOT met'}.")
    (out / "scaling.md").write_text("\n".join(lines) + "\n")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(1, 2, figsize=(11, 4))
        for system, style in (
            ("perturbo sync", "o-"),
            ("perturbo async", "s-"),
            ("Ray Tune", "^--"),
        ):
            rs = sorted((r for r in rows if r.system == system), key=lambda r: r.actors)
            if rs:
                ax[0].plot(
                    [r.actors for r in rs], [100 * r.efficiency for r in rs], style, label=system
                )
                ax[1].plot(
                    [r.actors for r in rs],
                    [max(r.overhead_ms, 0.01) for r in rs],
                    style,
                    label=system,
                )
        ax[0].axhline(90, color="k", ls=":", lw=1, label="target 90%")
        ax[0].set(xscale="log", xlabel="actors", ylabel="parallel efficiency (%)", ylim=(0, 105))
        ax[1].set(
            xscale="log", yscale="log", xlabel="actors", ylabel="overhead per experiment (ms)"
        )
        for x in ax:
            x.set_xticks([r.actors for r in rows if r.system == rows[0].system], minor=False)
            x.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
            x.legend(fontsize=8)
        fig.suptitle(
            f"Lognormal(median {meta['median']:g} s, sigma {meta['sigma']:g}) sleeps, {meta['per_actor']} per actor"
        )
        fig.tight_layout()
        fig.savefig(out / "scaling.png", dpi=110)
    except Exception as e:  # noqa: BLE001 - the table is the result; the plot is a courtesy
        print(f"plot skipped: {e}", file=sys.stderr)
    print((out / "scaling.md").read_text())


if __name__ == "__main__":
    sys.exit(main())
