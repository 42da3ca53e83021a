"""The campaign loop and the history, on a toy space with the in-process pool."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import pytest

from perturbo.actors import LocalExecutorPool
from perturbo.campaign import MAX_EMPTY_ROUNDS, StopRule, run
from perturbo.history import History
from perturbo.types import (
    ExperimentSpec,
    InvalidSpec,
    Observation,
    Outcome,
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
    assert "twice in this batch" in reasons["r000-0002"]
    assert "unknown item" in reasons["r000-0003"]
    assert "already tested" in reasons["r001-0000"]
    assert by_id["r000-0001"].outcome.metrics["value"] == 2.0
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
    assert [o.spec.id for o in r1] == ["r001-0000", "r001-0001"]


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
