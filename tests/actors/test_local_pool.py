"""LocalExecutorPool: runs what is submitted, turns executor errors into FAILED outcomes,
and drives the real campaign loop."""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import pytest

from perturbo.actors import LocalExecutorPool
from perturbo.actors.local_pool import EXIT_GRACE_S
from perturbo.campaign import StopRule, run
from perturbo.protocols import ExecutorPool
from perturbo.search.random import RandomPlanner
from perturbo.types import ExperimentSpec, InvalidSpec, Outcome, Status


class Square:
    """x -> x**2; raises on x == 3, returns garbage on x == 4."""

    built = 0

    def __init__(self) -> None:
        Square.built += 1
        self.thread = threading.get_ident()

    def run(self, spec: ExperimentSpec) -> Any:
        x = spec.params["x"]
        if x == 3:
            raise ZeroDivisionError("x=3 is cursed")
        if x == 4:
            return {"y": 16}
        return Outcome(Status.COMPLETED, {"y": float(x * x), "thread": float(self.thread % 10**6)})


class IntSpace:
    """Integers 0..9, each may run once."""

    unique = True

    def validate(self, params: dict[str, Any]) -> dict[str, Any]:
        x = params.get("x")
        if not isinstance(x, (int, np.integer)) or not 0 <= x <= 9:
            raise InvalidSpec(f"x must be an integer in 0..9, got {x!r}")
        return {"x": int(x)}

    def key(self, params: dict[str, Any]) -> str:
        return str(params["x"])

    def sample(self, rng: np.random.Generator, n: int, exclude: set[str]) -> list[dict[str, Any]]:
        left = [x for x in range(10) if str(x) not in exclude]
        return [{"x": int(x)} for x in rng.permutation(left)[:n]]


def _specs(*xs: int) -> list[ExperimentSpec]:
    return [ExperimentSpec({"x": x}, "hyperparameter", id=f"e{x}") for x in xs]


def test_runs_everything_and_converts_errors_to_failed() -> None:
    Square.built = 0
    pool = LocalExecutorPool(Square)
    assert isinstance(pool, ExecutorPool)
    assert Square.built == 0  # built lazily
    pool.submit(_specs(1, 2, 3, 4, 5))
    assert [s.id for s in pool.in_flight()] == ["e1", "e2", "e3", "e4", "e5"]
    obs = pool.wait(timeout_s=10)
    assert Square.built == 1  # one executor, reused
    by_id = {o.spec.id: o.outcome for o in obs}
    assert sorted(by_id) == ["e1", "e2", "e3", "e4", "e5"]
    assert by_id["e2"].metrics["y"] == 4.0 and by_id["e5"].metrics["y"] == 25.0
    assert by_id["e3"].status is Status.FAILED
    assert "ZeroDivisionError: x=3 is cursed" in by_id["e3"].error
    assert by_id["e4"].status is Status.FAILED and "not an Outcome" in by_id["e4"].error
    assert all(o.worker == "local-0" for o in by_id.values())
    assert pool.in_flight() == [] and pool.wait(timeout_s=5) == []


def test_wait_returns_partial_results_after_timeout() -> None:
    class Slow(Square):
        def run(self, spec: ExperimentSpec) -> Outcome:
            time.sleep(0.05)
            return super().run(spec)

    pool = LocalExecutorPool(Slow)
    pool.submit(_specs(0, 1, 2, 5, 6, 7))
    first = pool.wait(timeout_s=0.0)
    assert len(first) == 1  # at least one, then the timeout stops it
    rest = pool.wait(timeout_s=10)
    assert len(first) + len(rest) == 6 and not pool.in_flight()


def test_factory_error_becomes_failed_outcome() -> None:
    def broken() -> Square:
        raise FileNotFoundError("screen.csv")

    pool = LocalExecutorPool(broken)
    pool.submit(_specs(1))
    (o,) = pool.wait(timeout_s=5)
    assert o.outcome.status is Status.FAILED
    assert "could not build the executor" in o.outcome.error and "screen.csv" in o.outcome.error


def test_threads_give_each_worker_its_own_executor() -> None:
    Square.built = 0
    with LocalExecutorPool(Square, n_workers=2) as pool:
        pool.submit(_specs(0, 1, 2, 5, 6, 7, 8, 9))
        obs = []
        while len(obs) < 8:
            obs += pool.wait(timeout_s=5)
    assert sorted(o.spec.id for o in obs) == sorted(f"e{x}" for x in (0, 1, 2, 5, 6, 7, 8, 9))
    assert 1 <= Square.built <= 2


def test_campaign_runs_through_local_pool() -> None:
    space = IntSpace()
    pool = LocalExecutorPool(Square)
    hist = run(
        planner=RandomPlanner(space, "hyperparameter", seed=1),
        pool=pool,
        space=space,
        batch=4,
        stop=StopRule(rounds=3),
        poll_s=0.1,
    )
    ran = [o for o in hist if o.outcome.status is not Status.REJECTED]
    xs = [o.spec.params["x"] for o in ran]
    assert len(xs) == 10 and sorted(xs) == list(range(10))  # 4+4+2: the pool ran dry
    for o in ran:
        x = o.spec.params["x"]
        if x in (3, 4):
            assert o.outcome.status is Status.FAILED
        else:
            assert o.outcome.metrics["y"] == x * x


def test_bad_n_workers() -> None:
    with pytest.raises(ValueError, match="n_workers"):
        LocalExecutorPool(Square, n_workers=0)


class Nap:
    """Sleeps ``params["s"]`` seconds, then returns it."""

    def run(self, spec: ExperimentSpec) -> Outcome:
        time.sleep(float(spec.params["s"]))
        return Outcome(Status.COMPLETED, {"s": float(spec.params["s"])})


def _naps(*secs: float) -> list[ExperimentSpec]:
    return [ExperimentSpec({"s": s}, "hyperparameter", id=f"n{i}") for i, s in enumerate(secs)]


def _drain(pool: LocalExecutorPool, n: int, limit_s: float = 10) -> list[Any]:
    out: list[Any] = []
    deadline = time.monotonic() + limit_s
    while len(out) < n and time.monotonic() < deadline:
        out += pool.wait(timeout_s=0.2)
    return out


@pytest.mark.parametrize("workers", [1, 2])
def test_timeout_fails_the_hung_experiment_and_abandons_its_thread(workers: int) -> None:
    with LocalExecutorPool(Nap, n_workers=workers, experiment_timeout_s=0.3) as pool:
        pool.submit(_naps(0.05, 3.0, 0.05, 0.05))
        assert pool.free_slots() == 0 and len(pool.in_flight()) == 4
        t0 = time.monotonic()
        obs = {o.spec.id: o.outcome for o in _drain(pool, 4)}
        assert time.monotonic() - t0 < 2.5
        assert sorted(obs) == ["n0", "n1", "n2", "n3"]
        assert obs["n1"].status is Status.FAILED and obs["n1"].error.startswith(
            "timed out after 0.3 s"
        )
        # it says what happens to the thread: stopped at its next bytecode, waited for at exit
        assert "cannot stop it" not in obs["n1"].error
        assert "stopped as soon as it runs Python again" in obs["n1"].error
        assert f"up to {EXIT_GRACE_S:g} s at exit" in obs["n1"].error, obs["n1"].error
        assert all(obs[i].ok for i in ("n0", "n2", "n3")) and pool.n_timed_out == 1
        assert pool.in_flight() == [] and pool.free_slots() == workers
        time.sleep(3.0)  # the abandoned thread returns now: its late result is dropped
        pool.submit(_naps(0.01))
        assert [o.spec.id for o in _drain(pool, 1)] == ["n0"]
        assert pool.wait(timeout_s=0.1) == []


def test_submit_timeout_overrides_and_free_slots_are_real() -> None:
    with LocalExecutorPool(Nap, n_workers=3) as pool:
        assert pool.free_slots() == 3
        pool.submit(_naps(0.5), timeout_s=0.1)
        pool.submit(_naps(0.5, 0.05)[1:])
        assert pool.free_slots() == 1
        obs = {o.spec.id: o.outcome.status for o in _drain(pool, 2)}
        assert list(obs.values()).count(Status.FAILED) == 1
        with pytest.raises(ValueError, match="timeout_s"):
            pool.submit(_naps(0.1), timeout_s=-1)
