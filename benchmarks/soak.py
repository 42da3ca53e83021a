"""Soak: one long asynchronous campaign, memory of the driver and the actors sampled over time.

    .venv/bin/python benchmarks/soak.py                  # ~8 min on 2 busy cores
    .venv/bin/python benchmarks/soak.py --experiments 300  # quick
    .venv/bin/python benchmarks/soak.py --replot         # rewrite md/png from soak.json

A campaign of ``--experiments`` quick experiments (each sleeps 5-15 ms) on ``--workers``
Ray actors, ``schedule="async"``, a seeded random planner over two floats, every round
recorded to a sqlite MLflow store by the real :class:`~perturbo.tracking.MlflowRecorder`
(a nested run per trial, as the hyperparameter kind records). A sampler thread reads, every
``--every`` seconds, the resident set (RSS) and unique set (USS: what the process alone
holds) of the driver and of each actor with psutil, with the number of experiments
recorded so far.

Reported: RSS/USS at warm-up and at the end, and the slope after warm-up (the first
``--warmup`` fraction of experiments left out) as MB per 1,000 experiments and per minute,
from a least-squares line. Target: flat (no leak that grows with the experiments). The
driver keeps the campaign's History and the planner its seen set by design: their own size
per 1,000 experiments is measured with tracemalloc and shown beside the driver's slope;
``benchmarks/soak_attribution.py`` attributes the rest (a snapshot diff by allocation site).

Writes benchmarks/results/soak.md, soak.png and soak.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import psutil  # noqa: E402

from perturbo.campaign import RoundReport, StopRule, run  # noqa: E402
from perturbo.search.random import RandomPlanner  # noqa: E402
from perturbo.space import Float, SearchSpace  # noqa: E402
from perturbo.types import ExperimentSpec, Observation, Outcome, Status  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
MB = 2**20


class Quick:
    """Sleeps 5-15 ms (by x), returns a smooth value."""

    def run(self, spec: ExperimentSpec) -> Outcome:
        x, y = float(spec.params["x"]), float(spec.params["y"])
        time.sleep(0.005 + 0.01 * x)
        return Outcome(Status.COMPLETED, {"value": -((x - 0.3) ** 2) - (y - 0.6) ** 2})


class Sampler(threading.Thread):
    """Samples (t, experiments done, driver rss/uss, actor rss/uss each) every ``every`` s."""

    def __init__(self, pids: list[int], every: float) -> None:
        super().__init__(daemon=True, name="soak-sampler")
        self.procs = [psutil.Process(os.getpid()), *(psutil.Process(p) for p in pids)]
        self.every, self.done = every, 0
        self.rows: list[list[float]] = []
        self.stop = threading.Event()
        self.t0 = time.monotonic()

    def sample(self) -> None:
        row = [time.monotonic() - self.t0, float(self.done)]
        for p in self.procs:
            try:
                m = p.memory_full_info()
                row += [m.rss / MB, m.uss / MB]
            except psutil.Error:
                row += [float("nan"), float("nan")]
        self.rows.append(row)

    def run(self) -> None:
        while not self.stop.wait(self.every):
            self.sample()


def history_mb_per_1000(n: int = 2000) -> float:
    """What the driver keeps by design per 1,000 experiments: the History's observations
    and the random planner's seen set (tracemalloc, this soak's kind of experiment)."""
    import tracemalloc

    from perturbo.history import History

    space = SearchSpace([Float("x", 0.0, 1.0), Float("y", 0.0, 1.0)])
    planner = RandomPlanner(space, "hyperparameter", seed=0)
    tracemalloc.start()
    h = History()
    for i in range(n):
        spec = planner.ask(1, [])[0].stamped(id=f"r{i:03d}-0000", round=i)
        o = Observation(spec, Outcome(Status.COMPLETED, {"value": 0.5}, (), "", 0.01, "h:1"))
        h.extend([o])
        planner.tell([o])
    used = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return used / MB * 1000 / n


def slope(x: np.ndarray, y: np.ndarray) -> float:
    ok = np.isfinite(x) & np.isfinite(y)
    return float(np.polyfit(x[ok], y[ok], 1)[0]) if ok.sum() >= 3 else float("nan")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--experiments", type=int, default=2000)
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--every", type=float, default=1.0, help="seconds between samples (1)")
    p.add_argument("--warmup", type=float, default=0.2, help="fraction left out of the slope")
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--replot", action="store_true", help="rewrite md/png from OUT/soak.json")
    a = p.parse_args(argv)
    if a.replot:
        saved = json.loads((a.out / "soak.json").read_text())
        write(np.array(saved["samples"]), saved["meta"], a.out)
        return 0
    command = ".venv/bin/python benchmarks/soak.py " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    from perturbo.actors import RayExecutorPool, connect
    from perturbo.tracking import MlflowRecorder, load_history

    load0 = os.getloadavg()[0]
    runtime = connect(num_cpus=2)
    store = tempfile.mkdtemp(prefix="perturbo-soak-")
    uri = f"sqlite:///{store}/soak.db"
    space = SearchSpace([Float("x", 0.0, 1.0), Float("y", 0.0, 1.0)])
    try:
        pool = RayExecutorPool(Quick, n_workers=a.workers)
        pids = [int(w.rsplit(":", 1)[1]) for w in pool.workers()]
        recorder = MlflowRecorder(
            tracking_uri=uri,
            campaign="soak",
            kind="hyperparameter",
            config={"experiments": a.experiments, "workers": a.workers},
            params={"planner": "random", "schedule": "async"},
            nesting="trial",
            objective="value",
            direction="max",
        )
        recorder.start({"pool": "ray", "workers": a.workers})
        sampler = Sampler(pids, a.every)
        sampler.sample()
        sampler.start()
        rounds = 0

        def on_round(r: RoundReport) -> None:
            nonlocal rounds
            rounds += 1
            sampler.done += r.n_ran

        t0 = time.perf_counter()
        hist = run(planner=RandomPlanner(space, "hyperparameter", seed=0), pool=pool, space=space,
                   batch=a.workers, stop=StopRule(max_experiments=a.experiments), recorder=recorder,
                   on_round=on_round, schedule="async", poll_s=1.0)  # fmt: skip
        wall = time.perf_counter() - t0
        sampler.stop.set()
        sampler.join()
        sampler.sample()
        replaced = pool.n_replaced
        pool.close()
        _, stored = load_history(uri, "soak")
    finally:
        runtime.shutdown()
    assert hist.n_ran == a.experiments and all(o.outcome.ok for o in hist)
    ids = [o.spec.id for o in stored]
    assert len(ids) == len(set(ids)) == a.experiments, "the store holds each experiment once"
    rows = np.array(sampler.rows)
    meta = {
        "command": command.strip(),
        "experiments": a.experiments,
        "workers": a.workers,
        "rounds": rounds,
        "wall_s": wall,
        "replaced": replaced,
        "warmup": a.warmup,
        "load": [load0, os.getloadavg()[0]],
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
    }
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "soak.json").write_text(json.dumps({"meta": meta, "samples": rows.tolist()}))
    write(rows, meta, a.out)
    return 0


def write(rows: np.ndarray, meta: dict[str, Any], out: Path) -> None:
    t, done = rows[:, 0], rows[:, 1]
    after = done >= meta["warmup"] * meta["experiments"]
    names = ["driver", *(f"actor {i}" for i in range((rows.shape[1] - 2) // 2 - 1))]
    lines = [
        "# Soak: memory over a long asynchronous campaign",
        "",
        f"{meta['experiments']} experiments (5-15 ms sleeps) on {meta['workers']} Ray actors, "
        f'`schedule="async"`, random planner, every round recorded to a sqlite MLflow store '
        f"(nested run per trial): {meta['rounds']} rounds in {meta['wall_s']:.0f} s "
        f"({meta['experiments'] / meta['wall_s']:.1f} experiments/s; the recorder is the "
        f"bottleneck, so a round groups the completions that came while the last was written). "
        f"Actors replaced: {meta['replaced']}. The store held each experiment exactly once "
        f"afterwards. Machine: {meta['machine']}, shared with other jobs (1-min load "
        f"{meta['load'][0]:.1f} at the start, {meta['load'][1]:.1f} at the end). Command: "
        f"`{meta['command']}`.",
        "",
        f"Slope = least-squares line after warm-up (the first {meta['warmup']:.0%} of the "
        "experiments left out). RSS: resident set; USS: memory the process alone holds.",
        "",
        "| process | RSS at warm-up (MB) | RSS at end (MB) | RSS slope (MB / 1,000 exp.) | RSS slope (MB / min) | USS at end (MB) | USS slope (MB / 1,000 exp.) |",
        "|---|---|---|---|---|---|---|",
    ]
    for i, name in enumerate(names):
        rss, uss = rows[:, 2 + 2 * i], rows[:, 3 + 2 * i]
        w = int(np.argmax(after)) if after.any() else 0
        lines.append(
            f"| {name} | {rss[w]:.0f} | {rss[-1]:.0f} | "
            f"{1000 * slope(done[after], rss[after]):+.2f} | "
            f"{60 * slope(t[after], rss[after]):+.2f} | {uss[-1]:.0f} | "
            f"{1000 * slope(done[after], uss[after]):+.2f} |"
        )
    kept = history_mb_per_1000()
    lines += [
        "",
        f"By design the driver keeps the History and the planner's seen set: {kept:.2f} MB per "
        "1,000 experiments of this kind (tracemalloc), part of the driver's slope above. What "
        "the rest is: `soak_attribution.md` (`benchmarks/soak_attribution.py`, a tracemalloc "
        "snapshot diff of the same campaign).",
    ]
    if meta.get("notes"):
        lines += ["", meta["notes"]]
    (out / "soak.md").write_text("\n".join(lines) + "\n")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(1, 2, figsize=(11, 4))
        for i, name in enumerate(names):
            ax[0].plot(done, rows[:, 2 + 2 * i], label=name, lw=1.5 if i == 0 else 0.8)
            ax[1].plot(t, rows[:, 3 + 2 * i], label=name, lw=1.5 if i == 0 else 0.8)
        warm = meta["warmup"] * meta["experiments"]
        ax[0].axvline(warm, color="k", ls=":", lw=1, label="end of warm-up")
        ax[0].set(xlabel="experiments recorded", ylabel="RSS (MB)", title="resident set")
        ax[1].set(xlabel="seconds", ylabel="USS (MB)", title="unique set")
        for x in ax:
            x.legend(fontsize=7)
        fig.suptitle(f"Soak: {meta['experiments']} experiments, {meta['workers']} actors, async")
        fig.tight_layout()
        fig.savefig(out / "soak.png", dpi=110)
    except Exception as e:  # noqa: BLE001 - the table is the result; the plot is a courtesy
        print(f"plot skipped: {e}", file=sys.stderr)
    print((out / "soak.md").read_text())


if __name__ == "__main__":
    sys.exit(main())
