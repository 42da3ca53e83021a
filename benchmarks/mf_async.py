"""``mf-bo`` in the asynchronous schedule (the hyperparameter kind's default), for
``benchmarks/multi_fidelity.py``: 4 workers; whenever one frees, its result is told and one
proposal asked for, the other 3 pending. Time is simulated in epochs: a run lasts the epochs
it pays (with warm start, the epochs above the config's last run), so runs finish in the
order a 4-GPU box would finish them, and the schedule does not depend on this CPU's speed.

The trace is in launch order, each entry with the total cost paid once that run was launched
(as the synchronous runner records a batch's runs), so regret against cost means the same in
both schedules. Launching stops once the budget is paid; the runs in flight are not counted
beyond their launch. ``benchmarks/results/multi_fidelity_async.md`` was written by

    .venv/bin/python benchmarks/multi_fidelity.py --seeds 4 --name multi_fidelity_async \\
        --methods mf-bo-async,mf-bo-async-fit1
"""

from __future__ import annotations

import heapq
from typing import Any

WORKERS = 4


def run_mfbo_async(tr: Any, planner: Any, budget: float, spend: Any) -> list[Any]:
    """``planner`` (``mf_trainer.mfbo_planner``) on ``tr`` until ``budget`` epochs are paid."""
    from mf_trainer import run_spec

    from perturbo.types import Observation, Outcome, Status

    trace: list[Any] = []
    running: list[tuple[float, int, Any, float]] = []  # (finish time, launch no., spec, value)
    clock, launched = 0.0, 0

    def launch(k: int) -> None:
        nonlocal launched
        for s in planner.ask(k, [r[2] for r in running]):
            v, paid = run_spec(tr, spend, s, trace)
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
