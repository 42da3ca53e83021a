"""A resumed attack campaign continues where it stopped: the cascade planner, told the
recorded history before it is asked anything, rebuilds its state (the opening run, the
ladder's rung, the neighbour configs of that rung, the stretch of stop-when-done) instead of
running the opening again and repeating a neighbour config that already ran."""

from __future__ import annotations

from typing import Any

import numpy as np

from perturbo.kinds.attack.escalate import Ladder
from perturbo.kinds.attack.samples import WorstCase, pack_bits
from perturbo.kinds.attack.space import RUNG, CascadePlanner
from perturbo.types import ExperimentSpec, Observation, Outcome, Status

OPENING = [{"method": "pgd", "steps": 50, "loss": "cw"}, {"method": "apgd-dlr", "steps": 50}]


class _Inner:
    name = "fixed"

    def __init__(self) -> None:
        self.told: list[Observation] = []

    def ask(self, n: int, pending: Any) -> list[ExperimentSpec]:
        return [ExperimentSpec({"method": "apgd-ce", "steps": 100, "restarts": 4})] * n

    def tell(self, obs: Any) -> None:
        self.told += list(obs)


def _clusters() -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.vstack(
        [rng.normal(0.0, 0.1, (6, 4)), rng.normal(5.0, 0.1, (6, 4)), np.full((1, 4), 50.0)]
    )


def _planner(x: np.ndarray) -> CascadePlanner:
    return CascadePlanner(
        _Inner(), WorstCase(len(x), 0.1), stop_when_done=True, opening=OPENING,
        ladder=Ladder(start=14.0, features=x),
    )  # fmt: skip


def _run_live(pl: CascadePlanner, n: int) -> list[Observation]:
    """Rounds as the loop runs them: ask, stamp, tell; what each config breaks is fixed."""
    breaks = {"pgd": [0, 1, 2, 3, 12], "apgd-dlr": [6, 7, 8, 9]}
    history: list[Observation] = []
    for rnd in range(5):
        specs = pl.ask(2, [])
        obs = []
        for k, spec in enumerate(specs):
            bad = np.zeros(n, bool)
            if spec.planner == "opening":
                bad[breaks[str(spec.params["method"])]] = True
            metrics = {**pack_bits(bad), "passes": 100.0}
            obs.append(
                Observation(spec.stamped(f"r{rnd}-{k}", rnd), Outcome(Status.COMPLETED, metrics))
            )
        pl.tell(obs)
        history += obs
    return history


def _state(pl: CascadePlanner) -> dict[str, Any]:
    lad = pl.ladder
    return {
        "rung": lad.rung, "rung_best": lad.rung_best, "climb": lad.climb,
        "passes": pl.passes, "passes_at_best": pl.passes_at_best,
        "since_best": pl.trials_since_best, "opening": pl._opening,
        "robust": pl.worst.robust.tolist(),
    }  # fmt: skip


def test_resume_rebuilds_the_cascade_state_from_the_history() -> None:
    x = _clusters()
    live = _planner(x)
    history = _run_live(live, len(x))
    planners = [o.spec.planner for o in history]
    assert planners[:2] == ["opening", "opening"] and "neighbours" in planners
    resumed = _planner(x)
    resumed.tell(history)  # what the campaign loop does on resume, before any ask
    assert _state(resumed) == _state(live)
    assert len(resumed.inner.told) == len(history)
    nxt, expected = resumed.ask(2, []), live.ask(2, [])
    assert all(s.planner not in ("opening", "neighbours") for s in nxt)
    assert [s.params for s in nxt] == [s.params for s in expected]


def test_resume_in_the_middle_of_the_opening_runs_only_the_rest() -> None:
    x = _clusters()
    live = _planner(x)
    (first,) = live.ask(2, [])
    obs = Observation(
        first.stamped("r0-0", 0), Outcome(Status.COMPLETED, pack_bits(np.zeros(len(x), bool)))
    )
    live.tell([obs])
    resumed = _planner(x)
    resumed.tell([obs])
    (second,) = resumed.ask(2, [])
    assert second.planner == "opening" and second.params["method"] == "apgd-dlr"
    assert second.params == live.ask(2, [])[0].params  # at the rung it climbed to
    assert second.params[RUNG] == 1  # the first config broke nothing: climbed
