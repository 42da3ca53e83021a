"""RayExecutorPool when things go wrong, on a real local Ray: an actor killed mid-experiment
has its experiment resubmitted and reported exactly once; a poison experiment is given up
after max_retries without sinking the rest; executor errors are FAILED and not retried."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

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


# -- time limits and resources that never appear -------------------------------------------


class Hang:
    """Sleeps ``params["s"]`` s (a hung experiment sleeps long)."""

    def run(self, spec: ExperimentSpec) -> Outcome:
        time.sleep(float(spec.params.get("s", 0.0)))
        return Outcome(Status.COMPLETED, {"pid": float(os.getpid())})


def test_an_experiment_past_its_timeout_fails_and_its_actor_is_replaced(ray_runtime: Any) -> None:
    from perturbo.actors import RayExecutorPool

    with RayExecutorPool(Hang, n_workers=2, experiment_timeout_s=1.5) as pool:
        pool.submit(_specs(2, "warm"))
        assert len(_collect(pool, 2)) == 2  # actors up: the clock below is the experiment's
        specs = [ExperimentSpec({"s": 300}, "hyperparameter", id="hung"), *_specs(5, "ok", s=0.1)]
        t0 = time.monotonic()
        pool.submit(specs)
        obs = {o.spec.id: o.outcome for o in _collect(pool, len(specs), timeout_s=90)}
        assert time.monotonic() - t0 < 60  # not the 300 s of the hung one (a busy box is slow)
        assert sorted(obs) == sorted(s.id for s in specs), "every experiment reported once"
        assert obs["hung"].status is Status.FAILED
        assert obs["hung"].error.startswith("timed out after 1.5 s")
        assert all(obs[f"ok{i}"].ok for i in range(5))
        assert pool.n_timed_out == 1 and pool.n_replaced == 1
        assert pool.wait(timeout_s=0.1) == [] and not pool.in_flight() and pool.free_slots() == 2
        pool.submit(_specs(2, "after"))  # the replacement actor works
        assert len(_collect(pool, 2)) == 2 and len(pool.workers()) == 2


def test_actors_that_can_never_be_placed_end_in_a_clear_error(ray_runtime: Any) -> None:
    from perturbo.actors import RayExecutorPool
    from perturbo.types import PerturboError

    pool = RayExecutorPool(
        Hang, n_workers=1, placement_timeout_s=2.0, resources={"no_such_device": 1}
    )
    try:
        pool.submit(_specs(2))
        t0 = time.monotonic()
        with pytest.raises(PerturboError, match=r"could not be placed within 2 s.*no worker.*Fix"):
            _collect(pool, 2, timeout_s=30)
        assert time.monotonic() - t0 < 6
    finally:
        pool.close()


# -- faults during an asynchronous campaign ------------------------------------------------


class Grid:
    """Params {"x": 0..n-1}, each run once; x == victim is the one the fault hits."""

    unique = True

    def validate(self, params: Any) -> dict[str, Any]:
        return {"x": int(params["x"])}

    def key(self, params: Any) -> str:
        return str(params["x"])

    def sample(self, rng: Any, n: int, exclude: set[str]) -> list[dict[str, Any]]:
        left = [x for x in range(40) if str(x) not in exclude]
        return [{"x": int(x)} for x in left[:n]]


class Victim:
    """Logs each execution; on x == 5 writes ``started`` with its actor id, then either
    exits the process (``mode="exit"``) or sleeps, waiting for the driver's ``ray.kill``."""

    def __init__(self, log_dir: str, mode: str) -> None:
        self.dir, self.mode = Path(log_dir), mode

    def run(self, spec: ExperimentSpec) -> Outcome:
        x = int(spec.params["x"])
        with open(self.dir / f"x{x}.log", "a") as f:
            f.write(f"{os.getpid()}\n")
        marker = self.dir / "started"
        if x == 5 and not marker.exists():
            marker.write_text(ray.get_runtime_context().get_actor_id())
            if self.mode == "exit":
                os._exit(1)
            time.sleep(30)  # killed from the driver meanwhile
        time.sleep(0.05 * (1 + x % 3))
        return Outcome(Status.COMPLETED, {"x": float(x)})


class Rounds:
    def __init__(self) -> None:
        self.rounds: list[tuple[int, list[Observation]]] = []

    def start(self, meta: Any) -> None: ...

    def record_round(self, round: int, observations: Any, metrics: Any, notes: Any) -> None:
        self.rounds.append((round, list(observations)))

    def finish(self, history: Any, metrics: Any) -> None: ...


@pytest.mark.parametrize("mode", ["exit", "ray.kill"])
def test_async_campaign_survives_a_worker_killed_mid_experiment(
    ray_runtime: Any, tmp_path: Path, mode: str
) -> None:
    import threading

    from perturbo.actors import RayExecutorPool
    from perturbo.campaign import StopRule, run
    from perturbo.search.random import RandomPlanner

    log = str(tmp_path)
    pool = RayExecutorPool(lambda: Victim(log, mode), n_workers=2, max_retries=2)
    stop_killer = threading.Event()

    def killer() -> None:  # the driver kills the actor running x == 5
        marker = tmp_path / "started"
        while not stop_killer.is_set() and not marker.exists():
            time.sleep(0.02)
        if marker.exists():
            aid = marker.read_text()
            (actor,) = [a for a in pool._actors if a is not None and a._actor_id.hex() == aid]
            ray.kill(actor, no_restart=True)

    t = threading.Thread(target=killer, daemon=True)
    if mode == "ray.kill":
        t.start()
    rec = Rounds()
    space = Grid()
    try:
        hist = run(planner=RandomPlanner(space, "hyperparameter", seed=0), pool=pool, space=space,
                   batch=4, stop=StopRule(max_experiments=14), recorder=rec, schedule="async",
                   poll_s=0.2)  # fmt: skip
        replaced = pool.n_replaced
    finally:
        stop_killer.set()
        pool.close()
    ids = [o.spec.id for _, obs in rec.rounds for o in obs]
    assert len(ids) == len(set(ids)) == 14, "every experiment recorded exactly once"
    assert sorted(o.spec.params["x"] for o in hist) == list(range(14))
    assert all(o.outcome.ok for o in hist), [o.outcome.error for o in hist if not o.outcome.ok]
    assert replaced == 1
    runs = (tmp_path / "x5.log").read_text().split()
    assert len(runs) == 2 and runs[0] != runs[1], "the victim ran again on a fresh actor"
    assert [r for r, _ in rec.rounds] == sorted({r for r, _ in rec.rounds})
