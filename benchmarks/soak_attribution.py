"""Where the soak's driver memory goes: a tracemalloc snapshot diff of the same campaign.

    .venv/bin/python benchmarks/soak_attribution.py                 # ~6 min on 2 cores
    .venv/bin/python benchmarks/soak_attribution.py --experiments 300  # quick

The soak (``benchmarks/soak.py``) measures the driver's resident set growing ~1.9 MB per 1,000
experiments, but RSS cannot say what grows. This runs the soak's campaign (the same quick
experiments, random planner, asynchronous loop, every round recorded to a sqlite MLflow store
by the real recorder, a nested run per trial) on the in-process pool, so that every allocation
is the driver's, and diffs two tracemalloc snapshots taken after ``--warmup`` of the
experiments and at the end. Reported: the Python heap's growth per experiment, by source file
and by allocation site. Writes benchmarks/results/soak_attribution.md.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import sysconfig
import tempfile
import time
import tracemalloc
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from soak import RESULTS, Quick  # noqa: E402

from perturbo.actors import LocalExecutorPool  # noqa: E402
from perturbo.campaign import RoundReport, StopRule, run  # noqa: E402
from perturbo.search.random import RandomPlanner  # noqa: E402
from perturbo.space import Float, SearchSpace  # noqa: E402
from perturbo.tracking import MlflowRecorder  # noqa: E402

ROOT = str(Path(__file__).resolve().parents[1])


def _short(path: str) -> str:
    """A source path relative to site-packages, the repository or the standard library."""
    for prefix in (sysconfig.get_paths()["purelib"] + "/", ROOT + "/"):
        if path.startswith(prefix):
            return path[len(prefix) :]
    return path.rsplit("/lib/", 1)[-1]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--experiments", type=int, default=700)
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--warmup", type=float, default=0.2, help="fraction before the first snapshot")
    p.add_argument("--top", type=int, default=12)
    p.add_argument("--out", type=Path, default=RESULTS)
    a = p.parse_args(argv)
    store = tempfile.mkdtemp(prefix="perturbo-soak-attr-")
    space = SearchSpace([Float("x", 0.0, 1.0), Float("y", 0.0, 1.0)])
    recorder = MlflowRecorder(
        tracking_uri=f"sqlite:///{store}/soak.db",
        campaign="soak",
        kind="hyperparameter",
        config={"experiments": a.experiments},
        params={"planner": "random", "schedule": "async"},
        nesting="trial",
        objective="value",
        direction="max",
    )
    recorder.start({"pool": "local", "workers": a.workers})
    first = max(1, int(a.warmup * a.experiments))
    last = a.experiments - a.workers  # the last rounds may not reach the total exactly
    snaps: dict[int, tuple[int, tracemalloc.Snapshot]] = {}
    done = 0

    def on_round(r: RoundReport) -> None:
        nonlocal done
        done += r.n_ran
        for mark in (first, last):
            if done >= mark and mark not in snaps:
                gc.collect()
                snaps[mark] = (done, tracemalloc.take_snapshot())

    pool = LocalExecutorPool(Quick, n_workers=a.workers)
    tracemalloc.start(12)
    t0 = time.perf_counter()
    try:
        run(planner=RandomPlanner(space, "hyperparameter", seed=0), pool=pool, space=space,
            batch=a.workers, stop=StopRule(max_experiments=a.experiments), recorder=recorder,
            on_round=on_round, schedule="async", poll_s=0.05)  # fmt: skip
    finally:
        pool.close()
    wall = time.perf_counter() - t0
    tracemalloc.stop()
    (n0, s0), (n1, s1) = snaps[first], snaps[last]
    n = n1 - n0
    keep = [tracemalloc.Filter(False, tracemalloc.__file__)]
    s0, s1 = s0.filter_traces(keep), s1.filter_traces(keep)
    by_file = s1.compare_to(s0, "filename")
    total = sum(d.size_diff for d in by_file)
    lines = [
        "# Soak attribution: what the driver's Python heap gains per experiment",
        "",
        f"{a.experiments} experiments of the soak's kind (random planner, async, {a.workers} "
        "in-process workers, sqlite MLflow store, nested run per trial) in "
        f"{wall:.0f} s; tracemalloc snapshots after {n0} and {n1} experiments. Command: "
        "`.venv/bin/python benchmarks/soak_attribution.py "
        + " ".join(sys.argv[1:] if argv is None else argv)
        + "`.",
        "",
        f"**Heap growth: {total / n:.0f} bytes per experiment** ({total / n * 1000 / 2**20:.2f} "
        "MB per 1,000). The RSS slope `soak.md` reports also holds the allocator's share.",
        "",
        "| source file | bytes / experiment | objects / experiment |",
        "|---|---|---|",
    ]
    for d in by_file[: a.top]:
        lines.append(
            f"| `{_short(d.traceback[0].filename)}` | {d.size_diff / n:.0f} | "
            f"{d.count_diff / n:.1f} |"
        )
    lines += ["", "Largest allocation sites (innermost perturbo frame):", ""]
    by_site = s1.compare_to(s0, "traceback")
    for d in by_site[: a.top]:
        ours = [f for f in d.traceback if f.filename.startswith(ROOT)] or list(d.traceback)
        f = ours[-1]
        lines.append(f"- {d.size_diff / n:.0f} B/exp: `{_short(f.filename)}:{f.lineno}`")
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "soak_attribution.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
