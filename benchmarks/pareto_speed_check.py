"""Does session 24's quicker Pareto mode (search/baseline_posterior.py, search/fast_boxes.py,
``pareto_baseline.non_dominated_many``) end where the code before it ended?

Both arms in one run: ``bo`` on DTLZ2-m3 (3 objectives, 52 evaluations in rounds of 4,
``benchmarks/pareto.py``'s ``one_run``), "now" as shipped and "before" with the three
changes patched out. They compute the same acquisition (two bitwise, one to ~1e-13), but
rounding moves L-BFGS's stopping point and a campaign goes on from other points, so single
seeds differ; the question is whether the distribution of final regrets moved.
Writes ``benchmarks/results/pareto_speed_check_arms.{jsonl,md}``.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/pareto_speed_check.py --seeds 10-19
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

OUT = Path(__file__).parent / "results"


def main(argv: list[str] | None = None) -> int:
    import pareto
    from planner_pareto_rows import before_session_24
    from scipy.stats import mannwhitneyu

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", default="10-19", help="first-last (inclusive)")
    a = ap.parse_args(argv)
    lo, hi = (int(x) for x in a.seeds.split("-"))
    runs: list[dict[str, Any]] = []
    for arm in ("now", "before"):
        with before_session_24() if arm == "before" else contextlib.nullcontext():
            for seed in range(lo, hi + 1):
                r = pareto.one_run("dtlz2-m3", "bo", seed)
                runs.append({**r, "arm": arm})
                print(arm, seed, round(r["curve"][-1][1], 3), flush=True)
    OUT.mkdir(exist_ok=True)
    with open(OUT / "pareto_speed_check_arms.jsonl", "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in runs)
    final = {arm: [r["curve"][-1][1] for r in runs if r["arm"] == arm] for arm in ("now", "before")}
    cpu = {arm: [r["cpu_s"] for r in runs if r["arm"] == arm] for arm in ("now", "before")}
    p = mannwhitneyu(final["now"], final["before"]).pvalue
    lines = [
        "## `bo`'s Pareto mode before and after session 24's speed-ups (DTLZ2-m3)",
        "",
        f"Seeds {lo}-{hi}, both arms in this run; 52 evaluations in rounds of 4; final log10 "
        "HV regret (lower is better). Written by `benchmarks/pareto_speed_check.py`.",
        "",
        "| arm | median final log10 HV regret | per seed | CPU s per run (median) |",
        "|---|---|---|---|",
    ]
    for arm in ("now", "before"):
        per = ", ".join(f"{v:.3f}" for v in final[arm])
        lines.append(f"| {arm} | {statistics.median(final[arm]):.3f} | {per} | "
                     f"{statistics.median(cpu[arm]):.1f} |")  # fmt: skip
    lines += ["", f"Mann-Whitney U, now against before: p = {p:.2f}."]
    (OUT / "pareto_speed_check_arms.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
