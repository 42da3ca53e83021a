"""Running one experiment safely: shared by the local pool and the Ray actors.

Whatever the executor does (raise, return garbage, fail to build), the caller gets an
:class:`~perturbo.types.Outcome`; only the death of the process itself escapes (and the Ray
pool resubmits on that).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from perturbo.protocols import Executor
from perturbo.types import ExperimentSpec, Outcome, failed
from perturbo.types import describe_error as describe


def run_one(
    get_executor: Callable[[], Executor],
    spec: ExperimentSpec,
    worker: str,
    started: Callable[[], None] | None = None,
) -> Outcome:
    """Build (once, lazily, by ``get_executor``) and run the executor on ``spec``; never raises
    an ``Exception``: failures become ``Status.FAILED`` outcomes with the error text.
    ``started`` is called once the executor is built, just before it runs ``spec`` (the
    process pool starts an experiment's clock there, not at the worker's start-up)."""
    t0 = time.perf_counter()
    try:
        executor = get_executor()
    except Exception as e:  # noqa: BLE001 - any build error is the experiment's outcome
        return replace(
            failed(f"could not build the executor: {describe(e)}", time.perf_counter() - t0),
            worker=worker,
        )
    if started is not None:
        started()
    try:
        outcome = executor.run(spec)
    except Exception as e:  # noqa: BLE001 - the executor's failure is the experiment's outcome
        return replace(failed(describe(e), time.perf_counter() - t0), worker=worker)
    dt = time.perf_counter() - t0
    if not isinstance(outcome, Outcome):
        return replace(
            failed(
                f"executor {type(executor).__name__}.run returned "
                f"{type(outcome).__name__}, not an Outcome",
                dt,
            ),
            worker=worker,
        )
    if outcome.duration_s == 0.0 or not outcome.worker:
        outcome = replace(
            outcome, duration_s=outcome.duration_s or dt, worker=outcome.worker or worker
        )
    return outcome
