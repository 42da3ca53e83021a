"""RayExecutorPool when things go wrong, on a real local Ray: an actor killed mid-experiment
has its experiment resubmitted and reported exactly once; a poison experiment is given up
after max_retries without sinking the rest; executor errors are FAILED and not retried."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any, ClassVar

import pytest

from perturbo.protocols import ExecutorPool
from perturbo.types import ExperimentSpec, Observation, Outcome, Status

pytestmark = pytest.mark.slow

ray = pytest.importorskip("ray")
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])


class Crasher:
    """Logs every execution to ``log_dir``; kills its own process on the experiments named in
    ``params["die"]`` ("once": only the first time, judged by a marker file; "always"), and
    raises on ``params["raise"]``."""


    def __init__(self, log_dir: str) -> None:
        self.dir = Path(log_dir)

    def run(self, spec: ExperimentSpec) -> Outcome:
        with open(self.dir / f"{spec.id}.log", "a") as f:
            f.write(f"{os.getpid()}\n")
        die = spec.params.get("die")
        marker = self.dir / f"{spec.id}.died"
        if die == "always" or (die == "once" and not marker.exists()):
            marker.touch()
            os._exit(1)  # the actor process dies mid-experiment
        if spec.params.get("raise"):
            raise ValueError(f"bad config {spec.id}")
        return Outcome(Status.COMPLETED, {"pid": float(os.getpid())})


def _specs(n: int, prefix: str = "e", **params: Any) -> list[ExperimentSpec]:
    return [
        ExperimentSpec({"i": i, **params}, "hyperparameter", id=f"{prefix}{i}") for i in range(n)
    ]


def _collect(pool: ExecutorPool, n: int, timeout_s: float = 60) -> list[Observation]:
    out: list[Observation] = []
    deadline = time.monotonic() + timeout_s
    while len(out) < n and time.monotonic() < deadline:
        out += pool.wait(timeout_s=1.0)
    return out


def test_killed_actor_experiment_is_resubmitted_and_reported_once(
    ray_runtime: Any, tmp_path: Path
) -> None:
    from perturbo.actors import RayExecutorPool

    with RayExecutorPool(lambda: Crasher(str(tmp_path)), n_workers=2, max_retries=2) as pool:
        specs = [
            *_specs(5, "ok"),
            ExperimentSpec({"die": "once"}, "hyperparameter", id="victim"),
        ]
        pool.submit(specs)
        obs = _collect(pool, len(specs), timeout_s=80)
        ids = [o.spec.id for o in obs]
        assert sorted(ids) == sorted(s.id for s in specs), "every experiment reported exactly once"
        assert all(o.outcome.status is Status.COMPLETED for o in obs), [o.outcome for o in obs]
        assert pool.n_replaced == 1
        victim = next(o for o in obs if o.spec.id == "victim")
        runs = (tmp_path / "victim.log").read_text().split()
        assert len(runs) == 2, "the victim ran once (and died), then once more"
        assert victim.outcome.metrics["pid"] == float(runs[1]) != float(runs[0])
        assert pool.wait(timeout_s=0.1) == [] and not pool.in_flight()
        workers = pool.workers()
        assert len(workers) == 2 and str(runs[0]) not in " ".join(workers)


def test_poison_experiment_fails_after_retries_and_spares_the_rest(
    ray_runtime: Any, tmp_path: Path
) -> None:
    from perturbo.actors import RayExecutorPool

    with RayExecutorPool(lambda: Crasher(str(tmp_path)), n_workers=2, max_retries=1) as pool:
        specs = [
            *_specs(3, "ok"),
            ExperimentSpec({"die": "always"}, "hyperparameter", id="poison"),
            ExperimentSpec({"raise": True}, "hyperparameter", id="raises"),
        ]
        pool.submit(specs)
        obs = {o.spec.id: o.outcome for o in _collect(pool, len(specs), timeout_s=80)}
    assert sorted(obs) == sorted(s.id for s in specs)
    assert obs["poison"].status is Status.FAILED and "died 2 times" in obs["poison"].error
    assert len((tmp_path / "poison.log").read_text().split()) == 2  # 1 try + 1 retry
    assert (
        obs["raises"].status is Status.FAILED
        and "ValueError: bad config raises" in obs["raises"].error
    )
    assert len((tmp_path / "raises.log").read_text().split()) == 1  # executor errors: no retry
    assert all(obs[f"ok{i}"].ok for i in range(3))


def test_factory_error_gives_failed_outcomes(ray_runtime: Any) -> None:
    from perturbo.actors import RayExecutorPool

    def broken() -> Crasher:
        raise FileNotFoundError("no such screen: X.csv")

    with RayExecutorPool(broken, n_workers=1) as pool:
        pool.submit(_specs(2))
        obs = _collect(pool, 2)
        assert pool.n_replaced == 0
    assert len(obs) == 2 and all(o.outcome.status is Status.FAILED for o in obs)
    assert all(
        "could not build the executor" in o.outcome.error and "X.csv" in o.outcome.error
        for o in obs
    )
