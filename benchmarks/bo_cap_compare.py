"""`bo` with qLogNEI's baseline capped at 16 points against 32 (session 19's protocol in
docs/findings/hyperparameter.md, "cap 32 -> 16"), paired by (task, seed) at 50 evaluations.

The cap-32 arm is ``results/bo_cap32_runs.jsonl`` (the `bo` runs at 50 evaluations that
``hyperparameter_runs.jsonl`` held before session 19, commit 35e305d); the cap-16 arm is the
`bo` runs of ``hyperparameter_runs.jsonl`` now. Both are the benchmark's own runs
(``hyperparameter.one_run("bo", task, seed, 52, 4)``; ``benchmarks/hyperparameter.py
--planners bo --evals 50 --fresh --out X.md`` makes them again). Regret is normalised as in
the benchmark's report, with the same references.

    .venv/bin/python benchmarks/bo_cap_compare.py

Writes ``benchmarks/results/bo_cap_compare.md``. Seconds (it reads runs, runs nothing).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from hpo_report import load_runs, regret_curves  # noqa: E402
from hpo_stats import paired_signs, sign_test  # noqa: E402
from hpo_tasks import make_task  # noqa: E402
from hyperparameter import reference  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
AT = 50
RUN_EVALS = 52  # the runs read at AT: 13 rounds of 4


def arms() -> list[dict[str, Any]]:
    """Every run of the benchmark, with the cap-32 `bo` runs added as ``bo-cap32``."""
    old = [dict(r, planner="bo-cap32") for r in load_runs(RESULTS / "bo_cap32_runs.jsonl")]
    return load_runs(RESULTS / "hyperparameter_runs.jsonl") + old


def report(runs: list[dict[str, Any]]) -> str:
    curves, _ = regret_curves(runs, make_task, reference, budget=AT)
    tasks = sorted({t for t, p in curves if p == "bo-cap32"})
    bound = {}
    for r in runs:
        if r["planner"] == "bo" and r["evals"] == RUN_EVALS and "cap_bound_asks" in r:
            bound.setdefault(r["task"], []).append(r["cap_bound_asks"])
    lines = [
        "## `bo`: qLogNEI's baseline capped at 16 points against 32 (50 evaluations)",
        "",
        "_Written by `benchmarks/bo_cap_compare.py` from recorded runs (see its docstring)._",
        "",
        "Median normalised regret at 50 evaluations over the seeds; the seeds on which cap 16 "
        "ends lower / the same / higher than cap 32 (the same seed); the asks of a cap-16 run "
        "where the cap bound (median over seeds; 0: the run is cap 32's bit for bit).",
        "",
        "| task | cap 16 | cap 32 | cap 16 lower / same / higher | asks where 16 bound |",
        "|---|---|---|---|---|",
    ]
    tot = [0, 0, 0]
    for t in tasks:
        if (t, "bo") not in curves:
            continue
        a, b = curves[t, "bo"][:, AT - 1], curves[t, "bo-cap32"][:, AT - 1]
        c = paired_signs(a, b)
        tot = [x + y for x, y in zip(tot, c, strict=True)]
        nb = f"{np.median(bound[t]):.0f}" if t in bound else "?"
        lines.append(
            f"| {t} | {np.median(a):.4g} | {np.median(b):.4g} | {c[0]} / {c[1]} / {c[2]} | {nb} |"
        )
    lo, same, hi = tot
    p = sign_test(lo, hi)
    worse = hi > lo and p < 0.05
    lines += [
        "",
        f"Over all seeds: cap 16 ends lower on {lo}, the same on {same}, higher on {hi} "
        f"(two-sided sign test over the seeds that differ: p = {p:.2f}). The protocol's rule "
        f"(cap 16 adopted unless worse at p < 0.05): **{'not adopted' if worse else 'adopted'}**.",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    text = report(arms())
    (RESULTS / "bo_cap_compare.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
