"""``mf-bo`` in the asynchronous schedule (the hyperparameter kind's default), for
``benchmarks/multi_fidelity.py``: 4 workers; whenever one frees, its result is told and one
proposal asked for, the other 3 pending. Time is simulated in epochs: a run lasts the epochs
it pays (with warm start, the epochs above the config's last run), so runs finish in the
order a 4-GPU box would finish them, and the schedule does not depend on this CPU's speed.

The trace is in launch order, each entry with the total cost paid once that run was launched
(as the synchronous runner records a batch's runs), so regret against cost means the same in
both schedules. Launching stops once the budget is paid; the runs in flight are not counted
beyond their launch.
"""

from __future__ import annotations

import heapq
from typing import Any

WORKERS = 4


def run_mfbo_async(
    tr: Any, seed: int, budget: float, spend: Any, opts: dict[str, Any]
) -> list[Any]:
    from perturbo.search.mf_bo import MFBOPlanner
    from perturbo.types import Observation, Outcome, Status

    opts = dict(opts)
    space = tr.fidelity_space(opts.pop("min_epochs", 1))
    planner = MFBOPlanner(
        space, "hyperparameter", seed, objective="val_loss", direction="min", **opts
    )
    trace: list[Any] = []
    running: list[tuple[float, int, Any, float]] = []  # (finish time, launch no., spec, value)
    clock, launched = 0.0, 0

    def launch(k: int) -> None:
        nonlocal launched
        pending = [r[2] for r in running]
        for s in planner.ask(k, pending):
            e = int(s.params["epochs"])
            cfg = {p: v for p, v in s.params.items() if p != "epochs"}
            v = tr.curve(cfg, e)[-1]
            key = tr.space.key(cfg)
            paid = spend.pay(key, e)
            trace.append((spend.total, e, v, key))
            spec = s.stamped(f"a{launched}", launched)
            heapq.heappush(running, (clock + paid, launched, spec, v))
            launched += 1

    launch(WORKERS)
    while running:
        clock, _, spec, v = heapq.heappop(running)
        planner.tell([Observation(spec, Outcome(Status.COMPLETED, {"val_loss": v}))])
        if spend.total < budget:
            launch(1)
    return trace


__all__ = ["WORKERS", "run_mfbo_async"]
