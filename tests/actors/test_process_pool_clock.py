"""ProcessExecutorPool's time limit counts the experiment, not its child's start-up: a fresh
child (Python, perturbo, building the executor, importing the objective) takes seconds on a
loaded machine, and a fast objective under ``--experiment-timeout 1`` must not fail as
"timed out" for it (nor the next trial on a child started after a real time-out). A child
that never begins its experiment is still stopped, at its own start-up limit."""

from __future__ import annotations

import os
import time

from perturbo.types import ExperimentSpec, Observation, Outcome, Status


class SlowStart:
    """An executor whose build sleeps ``SLOW_START_S`` (a slow import: torch on a busy box)."""

    def __init__(self) -> None:
        time.sleep(float(os.environ.get("SLOW_START_S", "0")))

    def run(self, spec: ExperimentSpec) -> Outcome:
        if spec.params.get("sleep"):
            time.sleep(float(spec.params["sleep"]))
        return Outcome(Status.COMPLETED, {"value": float(spec.params["i"])})


def _spec(i: int, **params: object) -> ExperimentSpec:
    return ExperimentSpec({"i": i, **params}, "hyperparameter", id=f"e{i}")


def _collect(pool: object, n: int, timeout_s: float = 120) -> dict[str, Outcome]:
    out: list[Observation] = []
    deadline = time.monotonic() + timeout_s
    while len(out) < n and time.monotonic() < deadline:
        out += pool.wait(timeout_s=1.0)  # type: ignore[attr-defined]
    return {o.spec.id: o.outcome for o in out}


def test_a_slow_start_up_is_not_the_experiments_time(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from perturbo.actors.process_pool import ProcessExecutorPool

    monkeypatch.setenv("SLOW_START_S", "2.5")  # each fresh child takes > 2.5 s to begin
    with ProcessExecutorPool(SlowStart, n_workers=2, experiment_timeout_s=1.0) as pool:
        pool.submit([_spec(i) for i in range(4)])
        obs = _collect(pool, 4)
        assert sorted(obs) == ["e0", "e1", "e2", "e3"]
        assert all(o.ok for o in obs.values()), [o.error for o in obs.values() if not o.ok]
        assert pool.n_timed_out == 0
        # a real time-out kills its child; the next trial, on a fresh (slow) child, is fine
        pool.submit([_spec(4, sleep=30)])
        pool.submit([_spec(5), _spec(6)])
        obs = _collect(pool, 3)
        assert obs["e4"].status is Status.FAILED and obs["e4"].error.startswith(
            "timed out after 1 s"
        )
        assert obs["e5"].ok and obs["e6"].ok, (obs["e5"].error, obs["e6"].error)
        assert pool.n_timed_out == 1


def test_a_child_that_never_begins_is_stopped_at_the_start_up_limit(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from perturbo.actors.process_pool import ProcessExecutorPool

    monkeypatch.setenv("SLOW_START_S", "300")  # an import that hangs
    with ProcessExecutorPool(
        SlowStart, n_workers=1, experiment_timeout_s=0.5, start_timeout_s=3.0
    ) as pool:
        t0 = time.monotonic()
        pool.submit([_spec(0)])
        obs = _collect(pool, 1)
        assert time.monotonic() - t0 < 60
        error = obs["e0"].error
        assert obs["e0"].status is Status.FAILED and "start-up limit of 3 s" in error, error
        assert "timed out after" not in error and pool.n_timed_out == 1
        assert pool.in_flight() == [] and pool.workers() == []


def test_no_time_limit_no_start_up_limit(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from perturbo.actors.process_pool import ProcessExecutorPool

    monkeypatch.setenv("SLOW_START_S", "2")
    with ProcessExecutorPool(SlowStart, n_workers=1, start_timeout_s=0.5) as pool:
        pool.submit([_spec(0)])
        assert _collect(pool, 1)["e0"].ok
