"""The campaign loop and the history, on a toy space with the in-process pool."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from perturbo.actors import LocalExecutorPool
from perturbo.campaign import MAX_EMPTY_ROUNDS, StopRule, run
from perturbo.history import History
from perturbo.types import (
    ExperimentSpec,
    InvalidSpec,
    Observation,
    Outcome,
    PerturboError,
    Status,
)

ITEMS = [f"g{i}" for i in range(20)]


class ToySpace:
    """Twenty items, each runnable once; names are normalised (case, whitespace)."""

    unique = True

    def validate(self, params: Mapping[str, Any]) -> dict[str, Any]:
        item = str(params.get("item", "")).strip().lower()
        if item not in ITEMS:
            raise InvalidSpec(f"unknown item {params.get('item')!r}")
        return {"item": item}

    def key(self, params: Mapping[str, Any]) -> str:
        return str(params["item"])

    def sample(self, rng: Any, n: int, exclude: set[str]) -> list[dict[str, Any]]:
        return [{"item": i} for i in ITEMS if i not in exclude][:n]


class ToyExecutor:
    def run(self, spec: ExperimentSpec) -> Outcome:
        n = int(spec.params["item"][1:])
        return Outcome(Status.COMPLETED, {"value": float(n)})


class ScriptedPlanner:
    """Proposes the given batches in order (then nothing); records what it was told."""

    name = "scripted"

    def __init__(self, batches: Sequence[Sequence[str]]) -> None:
        self.batches = [list(b) for b in batches]
        self.told: list[Observation] = []

    def ask(self, n: int, pending: Sequence[ExperimentSpec]) -> list[ExperimentSpec]:
        items = self.batches.pop(0) if self.batches else []
        return [ExperimentSpec({"item": i}, planner=self.name) for i in items]

    def tell(self, observations: Sequence[Observation]) -> None:
        self.told.extend(observations)


def _run(planner: Any, stop: StopRule, batch: int = 4, history: History | None = None) -> History:
    pool = LocalExecutorPool(ToyExecutor)
    try:
        return run(
            planner=planner, pool=pool, space=ToySpace(), batch=batch, stop=stop, history=history
        )
    finally:
        pool.close()


def test_rounds_ids_normalisation_and_rejections() -> None:
    planner = ScriptedPlanner([[" G1", "g2", "g2", "nope"], ["g1", "g3"]])
    h = _run(planner, StopRule(rounds=2))
    by_id = {o.spec.id: o for o in h}
    assert [o.spec.round for o in h] == [0, 0, 0, 0, 1, 1]
    ok = [o for o in h if o.outcome.ok]
    assert [o.spec.params["item"] for o in ok] == ["g1", "g2", "g3"]  # " G1" normalised
    reasons = {o.spec.id: o.outcome.error for o in h if o.outcome.status is Status.REJECTED}
    assert "twice in this batch" in reasons["r001-0002"]
    assert "unknown item" in reasons["r001-0003"]
    assert "already tested" in reasons["r002-0000"]
    assert by_id["r001-0001"].outcome.metrics["value"] == 2.0
    assert planner.told == list(h)  # the planner sees everything, rejections included


def test_budget_counts_only_experiments_that_ran() -> None:
    planner = ScriptedPlanner([["g1", "nope", "g2"], ["g3", "g4", "g5"], ["g6"]])
    h = _run(planner, StopRule(max_experiments=4), batch=3)
    assert h.n_ran == 4
    # the second round was asked for only the 2 experiments the budget had left
    assert [o.spec.params["item"] for o in h.by_round(1)] == ["g3", "g4"]


def test_resume_continues_numbering_and_never_repeats() -> None:
    first = _run(ScriptedPlanner([["g1", "g2"]]), StopRule(rounds=1))
    planner = ScriptedPlanner([["g2", "g3"]])
    h = _run(planner, StopRule(rounds=2), history=History(list(first)))
    assert planner.told[:2] == list(first)  # told the recorded history first
    r1 = h.by_round(1)
    assert [o.outcome.status for o in r1] == [Status.REJECTED, Status.COMPLETED]
    assert [o.spec.id for o in r1] == ["r002-0000", "r002-0001"]


def test_a_planner_that_only_proposes_invalid_experiments_cannot_spin_forever() -> None:
    planner = ScriptedPlanner([["nope"]] * 50)
    h = _run(planner, StopRule(max_experiments=10))
    assert h.last_round == MAX_EMPTY_ROUNDS - 1
    assert all(o.outcome.status is Status.REJECTED for o in h)


def test_stops_when_the_planner_has_nothing_left() -> None:
    h = _run(ScriptedPlanner([["g1"]]), StopRule(rounds=10))
    assert h.last_round == 0


def test_bad_batch_is_refused() -> None:
    with pytest.raises(ValueError, match="batch"):
        _run(ScriptedPlanner([]), StopRule(rounds=1), batch=0)


def test_history_json_round_trip(tmp_path: Any) -> None:
    h = _run(ScriptedPlanner([["g1", "nope"], ["g2"]]), StopRule(rounds=2))
    h.save(tmp_path / "h.json")
    back = History.load(tmp_path / "h.json")
    assert list(back) == list(h)
    assert back.last_round == 1 and back.n_ran == 2


# -- the asynchronous schedule, planner failures, time limits ------------------------------


class SleepExecutor:
    """Sleeps ``0.02 * (1 + n % 4)`` s for item gN (durations vary); item g13 hangs (8 s)."""

    def run(self, spec: ExperimentSpec) -> Outcome:
        n = int(spec.params["item"][1:])
        time.sleep(8.0 if n == 13 else 0.02 * (1 + n % 4))
        return Outcome(Status.COMPLETED, {"value": float(n)})


class PendingPlanner:
    """Proposes the first untaken items; records ``(n, len(pending))`` of every ask."""

    name = "pending"

    def __init__(self, skip: Sequence[str] = ()) -> None:
        self.asks: list[tuple[int, int]] = []
        self.told: list[Observation] = []
        self.skip = set(skip)

    def ask(self, n: int, pending: Sequence[ExperimentSpec]) -> list[ExperimentSpec]:
        self.asks.append((n, len(pending)))
        taken = {o.spec.params["item"] for o in self.told} | {s.params["item"] for s in pending}
        free = [i for i in ITEMS if i not in taken and i not in self.skip]
        return [ExperimentSpec({"item": i}, planner=self.name) for i in free[:n]]

    def tell(self, observations: Sequence[Observation]) -> None:
        self.told.extend(observations)


class ListRecorder:
    """Keeps every recorded round, as the MLflow recorder would write it."""

    def __init__(self) -> None:
        self.rounds: list[tuple[int, list[Observation]]] = []
        self.finished = False

    def start(self, meta: Mapping[str, Any]) -> None: ...

    def record_round(
        self, round: int, observations: Sequence[Observation], metrics: Any, notes: Any
    ) -> None:
        self.rounds.append((round, list(observations)))

    def finish(self, history: Sequence[Observation], metrics: Mapping[str, float]) -> None:
        self.finished = True

    def ids(self) -> list[str]:
        return [o.spec.id for _, obs in self.rounds for o in obs]


class CountingPool(LocalExecutorPool):
    submitted = 0

    def submit(self, specs: Sequence[ExperimentSpec], timeout_s: float | None = None) -> None:
        self.submitted += len(specs)
        super().submit(specs, timeout_s)


def _async(
    planner: Any, stop: StopRule, workers: int = 4, **kw: Any
) -> tuple[History, ListRecorder, CountingPool]:
    rec = ListRecorder()
    pool = CountingPool(SleepExecutor, n_workers=workers)
    try:
        h = run(
            planner=planner, pool=pool, space=ToySpace(), batch=kw.pop("batch", 8), stop=stop,
            recorder=rec, schedule="async", poll_s=0.05, **kw,
        )  # fmt: skip
    finally:
        pool.close()
    return h, rec, pool


def _exactly_once(h: History, rec: ListRecorder) -> None:
    ids = rec.ids()
    assert len(ids) == len(set(ids)), "an experiment was recorded twice"
    assert ids == [o.spec.id for o in h]
    numbers = [r for r, _ in rec.rounds]
    assert numbers == sorted(set(numbers)), f"round numbers not monotonic: {numbers}"
    for r, obs in rec.rounds:
        assert all(o.spec.round == r for o in obs)


def test_async_refills_free_workers_with_the_running_ones_pending() -> None:
    planner = PendingPlanner(skip=["g13"])
    h, rec, pool = _async(planner, StopRule(max_experiments=12))
    _exactly_once(h, rec)
    assert h.n_ran == 12 and pool.submitted == 12 and rec.finished
    assert planner.asks[0] == (4, 0)  # the first ask fills the four workers
    later = planner.asks[1:]
    assert later and all(p >= 1 for _, p in later), later  # refills see what is in flight
    assert sum(n for n, _ in later) == 8 and max(n for n, _ in later) < 4
    assert len(rec.rounds) >= 4  # completions are recorded as they come, not per batch
    assert planner.told == list(h)


def test_async_is_faster_than_rounds_on_uneven_durations() -> None:
    t0 = time.monotonic()
    _async(PendingPlanner(skip=["g13"]), StopRule(max_experiments=16))
    t_async = time.monotonic() - t0
    pool = LocalExecutorPool(SleepExecutor, n_workers=4)
    t0 = time.monotonic()
    run(planner=PendingPlanner(skip=["g13"]), pool=pool, space=ToySpace(), batch=4,
        stop=StopRule(max_experiments=16), poll_s=0.05)  # fmt: skip
    t_sync = time.monotonic() - t0
    pool.close()
    assert t_async < t_sync, (t_async, t_sync)


def test_async_budget_counts_in_flight_and_never_over_submits() -> None:
    h, rec, pool = _async(PendingPlanner(skip=["g13"]), StopRule(max_experiments=5), workers=4)
    assert h.n_ran == 5 and pool.submitted == 5
    _exactly_once(h, rec)


def test_async_resume_continues_numbering_and_never_repeats() -> None:
    first, rec1, _ = _async(PendingPlanner(skip=["g13"]), StopRule(max_experiments=6))
    planner = PendingPlanner(skip=["g13"])
    h, rec2, _ = _async(planner, StopRule(max_experiments=12), history=History(list(first)))
    assert planner.told[:6] == list(first)
    assert h.n_ran == 12 and len({o.spec.id for o in h}) == 12
    assert len({o.spec.params["item"] for o in h}) == 12  # nothing in the history ran again
    assert rec2.rounds[0][0] == first.last_round + 1


def test_async_rounds_limit_records_exactly_that_many_rounds() -> None:
    h, rec, _ = _async(PendingPlanner(skip=["g13"]), StopRule(rounds=3))
    assert [r for r, _ in rec.rounds] == [0, 1, 2]
    _exactly_once(h, rec)


def test_async_rejections_are_recorded_and_told_and_cannot_spin() -> None:
    planner = ScriptedPlanner([["g1", "nope", "g2"], ["g1"], ["zzz"], ["zzz"], ["zzz"], ["g3"]])
    h, rec, _ = _async(planner, StopRule(max_experiments=10), workers=2)
    _exactly_once(h, rec)
    bad = [o for o in h if o.outcome.status is Status.REJECTED]
    assert {o.outcome.error.split()[0] for o in bad} >= {"unknown", "g1"}
    assert planner.told == list(h)
    assert "g3" not in {o.spec.params.get("item") for o in h}  # gave up after 3 empty asks


def test_async_refuses_a_repeat_of_a_running_experiment_in_a_unique_space() -> None:
    class Greedy(PendingPlanner):
        def ask(self, n: int, pending: Sequence[ExperimentSpec]) -> list[ExperimentSpec]:
            super().ask(n, pending)
            return [ExperimentSpec({"item": "g1"})] * min(n, 1)

    h, rec, _ = _async(Greedy(), StopRule(max_experiments=3), workers=2)
    ran = [o for o in h if o.outcome.status is not Status.REJECTED]
    assert [o.spec.params["item"] for o in ran] == ["g1"]
    assert any("already running" in o.outcome.error for o in h)


class FlakyPlanner(PendingPlanner):
    """Raises on the asks whose (0-based) index is in ``fail_on``."""

    def __init__(self, fail_on: set[int]) -> None:
        super().__init__(skip=["g13"])
        self.fail_on = fail_on
        self.calls = 0

    def ask(self, n: int, pending: Sequence[ExperimentSpec]) -> list[ExperimentSpec]:
        self.calls += 1
        if self.calls - 1 in self.fail_on:
            raise RuntimeError("model server hiccup")
        return super().ask(n, pending)


@pytest.mark.parametrize("schedule", ["sync", "async"])
def test_a_planner_that_raises_once_is_asked_again(schedule: str) -> None:
    planner = FlakyPlanner({1})
    rec = ListRecorder()
    pool = LocalExecutorPool(SleepExecutor, n_workers=2)
    h = run(planner=planner, pool=pool, space=ToySpace(), batch=2, stop=StopRule(max_experiments=6),
            recorder=rec, schedule=schedule, poll_s=0.05)  # fmt: skip
    pool.close()
    assert h.n_ran == 6 and rec.finished
    _exactly_once(h, rec)


@pytest.mark.parametrize("schedule", ["sync", "async"])
def test_a_planner_that_keeps_raising_stops_with_the_history_recorded(schedule: str) -> None:
    planner = FlakyPlanner(set(range(2, 100)))
    rec = ListRecorder()
    pool = LocalExecutorPool(SleepExecutor, n_workers=2)
    with pytest.raises(
        PerturboError,
        match=r"planner 'pending' raised 2 times.*RuntimeError: model server hiccup.*resume",
    ):
        run(planner=planner, pool=pool, space=ToySpace(), batch=2, stop=StopRule(max_experiments=10),
            recorder=rec, schedule=schedule, poll_s=0.05)  # fmt: skip
    pool.close()
    assert not rec.finished  # resumable: the campaign is not marked finished
    ids = rec.ids()
    assert len(ids) == len(set(ids)) and len(ids) >= 2  # what ran before is recorded, once
    assert {o.spec.params["item"] for _, obs in rec.rounds for o in obs} >= {"g0", "g1"}


@pytest.mark.parametrize("schedule", ["sync", "async"])
def test_experiment_timeout_fails_the_hung_one_and_the_campaign_goes_on(schedule: str) -> None:
    rec = ListRecorder()
    pool = LocalExecutorPool(SleepExecutor, n_workers=2)
    planner = PendingPlanner(skip=[f"g{i}" for i in range(12)])  # g12, g13 (hangs), g14...
    t0 = time.monotonic()
    h = run(planner=planner, pool=pool, space=ToySpace(), batch=2, stop=StopRule(max_experiments=5),
            recorder=rec, schedule=schedule, poll_s=0.05, experiment_timeout_s=0.5)  # fmt: skip
    pool.close()
    assert time.monotonic() - t0 < 5  # g13 sleeps 8 s
    _exactly_once(h, rec)
    by_item = {o.spec.params["item"]: o.outcome for o in h}
    assert by_item["g13"].status is Status.FAILED
    assert by_item["g13"].error.startswith("timed out after 0.5 s")
    assert all(by_item[i].ok for i in ("g12", "g14", "g15", "g16"))


def test_bad_schedule_and_timeout_are_refused() -> None:
    with pytest.raises(ValueError, match="schedule"):
        run(
            planner=ScriptedPlanner([]), pool=LocalExecutorPool(ToyExecutor), space=ToySpace(),
            batch=1, stop=StopRule(rounds=1), schedule="eventually",
        )  # fmt: skip
    with pytest.raises(ValueError, match="experiment_timeout_s"):
        run(planner=ScriptedPlanner([]), pool=LocalExecutorPool(ToyExecutor), space=ToySpace(),
            batch=1, stop=StopRule(rounds=1), experiment_timeout_s=0)  # fmt: skip


def test_campaign_parts_pass_the_schedule_and_resume_the_factory() -> None:
    from perturbo.parts import CampaignParts

    class Factory:
        resumed: list[int] = []

        def __call__(self) -> SleepExecutor:
            return SleepExecutor()

        def resume(self, history: History) -> None:
            self.resumed.append(len(history))

    first = _run(ScriptedPlanner([["g1", "g2"]]), StopRule(rounds=1))
    parts = CampaignParts(
        kind="toy", planner=PendingPlanner(skip=["g13"]), space=ToySpace(), executor_factory=Factory(),
        batch=4, stop=StopRule(max_experiments=8), config={}, schedule="async",
        experiment_timeout_s=5.0,
    )  # fmt: skip
    pool = CountingPool(SleepExecutor, n_workers=4)
    h = parts.run(pool, history=History(list(first)), poll_s=0.05)
    pool.close()
    assert Factory.resumed == [2]
    assert h.n_ran == 8 and pool.submitted == 6
    assert len(parts.planner.asks) > 1 and parts.planner.asks[1][1] > 0  # type: ignore[attr-defined]


class Quadratic:
    """value = -(x - 0.3)^2 - (y - 0.7)^2, after a short sleep that varies with x."""

    def run(self, spec: ExperimentSpec) -> Outcome:
        x, y = float(spec.params["x"]), float(spec.params["y"])
        time.sleep(0.01 + 0.03 * x)
        return Outcome(Status.COMPLETED, {"value": -((x - 0.3) ** 2) - (y - 0.7) ** 2})


class Watching:
    """Wraps a planner; records each ask's pending configs and what it proposed."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.name = inner, inner.name
        self.asks: list[tuple[set[tuple[float, float]], list[tuple[float, float]]]] = []

    def ask(self, n: int, pending: Sequence[ExperimentSpec]) -> list[ExperimentSpec]:
        out = self.inner.ask(n, pending)
        key = lambda s: (round(s.params["x"], 9), round(s.params["y"], 9))  # noqa: E731
        self.asks.append(({key(s) for s in pending}, [key(s) for s in out]))
        return out

    def tell(self, observations: Sequence[Observation]) -> None:
        self.inner.tell(observations)


@pytest.mark.parametrize(
    "name", [pytest.param("bo", marks=pytest.mark.slow), "optuna-tpe", "evolution"]
)
def test_async_with_real_planners_proposes_around_the_pending(name: str) -> None:
    from perturbo.space import Float, SearchSpace

    space = SearchSpace([Float("x", 0.0, 1.0), Float("y", 0.0, 1.0)])
    if name == "bo":
        from perturbo.search.bo import BOPlanner

        inner: Any = BOPlanner(
            space, "hyperparameter", seed=0, n_init=4, num_restarts=2, raw_samples=32
        )
    elif name == "optuna-tpe":
        from perturbo.search.optuna_planner import OptunaPlanner

        inner = OptunaPlanner(space, "hyperparameter", seed=0, sampler="tpe")
    else:
        from perturbo.search.evolution import EvolutionPlanner

        inner = EvolutionPlanner(space, "hyperparameter", seed=0)
    planner = Watching(inner)
    rec = ListRecorder()
    pool = LocalExecutorPool(Quadratic, n_workers=3)
    budget = 7 if name == "bo" else 10  # a GP fit per refill: keep it short
    h = run(planner=planner, pool=pool, space=space, batch=3, stop=StopRule(max_experiments=budget),
            recorder=rec, schedule="async", poll_s=0.05)  # fmt: skip
    pool.close()
    _exactly_once(h, rec)
    assert h.n_ran == budget and all(o.outcome.ok for o in h)
    refills = planner.asks[1:]
    assert refills and all(len(p) >= 1 for p, _ in refills)  # asked with the running ones
    assert all(not (p & set(out)) for p, out in refills)  # never a repeat of a pending config
    assert len({(o.spec.params["x"], o.spec.params["y"]) for o in h}) == budget
