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

ASHA in the same schedule (:func:`run_asha_async`, methods ``asha+bo-async`` and
``asha+random-async``), the bar's comparison there: ``mf_async_vs_asha.md``, by

    .venv/bin/python benchmarks/multi_fidelity.py --seeds 10 --name mf_async_vs_asha \\
        --methods mf-bo-async,asha+bo-async,asha+random-async
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


def run_asha_async(tr: Any, planner: Any, budget: float, spend: Any) -> list[Any]:
    """ASHA (eta 3, min 1 epoch) under ``planner`` (``bo`` or ``random`` on ``tr``'s configs),
    asynchronous as Ray Tune's ``AsyncHyperBandScheduler`` runs it: 4 workers, each trial
    trained rung by rung (1, 3, 9, 27 epochs) and cut by ASHA when it reaches a rung, against
    the trials that reached that rung before it in simulated time; a freed worker asks for one
    proposal, the other running trials pending. Each rung's stretch of training is one entry of
    the trace, with the total paid once it was launched (as ``mf-bo``'s promotions are), so a
    full training counts at the cost paid when its last stretch began. A trial cut at a rung is
    told as pruned there (its per-epoch values as ``intermediate``); once the budget is paid no
    stretch is launched, and a trial stopped that way is told at the epochs it reached."""
    from perturbo.search.asha import ASHA
    from perturbo.types import Observation, Outcome, Status

    asha = ASHA(tr.max_e, 1, 3.0, "min")
    trace: list[Any] = []
    # (finish time, launch no., trial id, spec, epochs at the stretch's start, at its end)
    running: list[tuple[float, int, str, Any, int, int]] = []
    clock, launched = 0.0, 0

    def stretch(tid: str, spec: Any, start: int) -> None:
        nonlocal launched
        cfg, key = dict(spec.params), tr.space.key(dict(spec.params))
        end = min(r for r in tr.rungs if r > start)  # the next rung (the ladder ends at max)
        paid = spend.pay(key, end)
        trace.append((spend.total, end, tr.curve(cfg, end)[-1], key))
        heapq.heappush(running, (clock + paid, launched, tid, spec, start, end))
        launched += 1

    def launch() -> None:
        (spec,) = planner.ask(1, [r[3] for r in running])
        stretch(f"a{launched}", spec.stamped(f"a{launched}", launched), 0)

    for _ in range(WORKERS):
        launch()
    while running:
        clock, _, tid, spec, start, end = heapq.heappop(running)
        vals = tr.curve(dict(spec.params), end)
        goes_on = True  # ASHA hears each new epoch; it cuts only at a rung (a stretch's end)
        for e in range(start + 1, end + 1):
            goes_on = goes_on and asha.report(tid, e, vals[e - 1])
        if end < tr.max_e and goes_on and spend.total < budget:
            stretch(tid, spec, end)
            continue
        status = Status.COMPLETED if end == tr.max_e else Status.PRUNED
        if status is Status.PRUNED:
            spend.drop(tr.space.key(dict(spec.params)))  # a pruned trial is not kept
        planner.tell([Observation(spec, Outcome(status, {"val_loss": vals[-1]}, tuple(vals)))])
        if spend.total < budget:
            launch()
    return trace


__all__ = ["WORKERS", "run_asha_async", "run_mfbo_async"]
