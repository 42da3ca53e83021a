"""The multi-fidelity BO planner (``mf-bo``): valid (config, fidelity) pairs, cheap fidelities
first on a task whose low fidelities track the high one, resume to the same state, and the
planner contract on a space with an ``epochs`` fidelity."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import Any

import pytest

from perturbo.search.mf_bo import MFBOPlanner, fidelity_ladder, find_fidelity
from perturbo.search.registry import GENERAL
from perturbo.space import Categorical, Float, Int, SearchSpace
from perturbo.testing import planner_contract as pc
from perturbo.testing.planner_benches import Bench, mixed_space, value
from perturbo.types import ExperimentSpec, Observation, Outcome, Status

SPACE = SearchSpace(
    [
        Float("x1", 0.0, 1.0),
        Float("x2", 0.0, 1.0),
        Categorical("c", ["a", "b", "c"]),
        Int("epochs", 1, 27),
    ]
)


def synthetic(p: Mapping[str, Any]) -> float:
    """Peak at x = (0.7, 0.3), c = b; a lower fidelity is the same surface shifted down
    (perfectly rank-correlated with the full one)."""
    base = -((p["x1"] - 0.7) ** 2 + (p["x2"] - 0.3) ** 2) + (0.1 if p["c"] == "b" else 0.0)
    return base - 0.5 * (1 - p["epochs"] / 27) ** 2


def cheap(space: SearchSpace = SPACE, seed: int = 0, **kw: Any) -> MFBOPlanner:
    kw = {"num_fantasies": 2, "num_restarts": 1, "raw_samples": 16, "maxiter": 5, **kw}
    return MFBOPlanner(space, "toy", seed, **kw)


def run(planner: MFBOPlanner, rounds: int, batch: int = 4) -> list[Observation]:
    history: list[Observation] = []
    for r in range(rounds):
        specs = planner.ask(batch, [])
        obs = [
            Observation(s.stamped(f"r{r}-{i}", r), Outcome(Status.COMPLETED, {"value": synthetic(s.params)}))
            for i, s in enumerate(specs)
        ]  # fmt: skip
        planner.tell(obs)
        history += obs
    return history


def test_ladder_and_fidelity_lookup() -> None:
    assert fidelity_ladder(Int("epochs", 1, 27)) == (1.0, 3.0, 9.0, 27.0)
    assert fidelity_ladder(Int("epochs", 2, 20)) == (2.0, 6.0, 18.0, 20.0)
    assert fidelity_ladder(Categorical("epochs", [12, 200, 50], ordered=True)) == (
        12.0,
        50.0,
        200.0,
    )
    assert find_fidelity(SPACE) == "epochs"
    assert find_fidelity(mixed_space()) is None
    with pytest.raises(ValueError):
        find_fidelity(SPACE, "c")


def test_proposes_valid_pairs_on_the_ladder_and_cheap_ones_first() -> None:
    planner = cheap()
    history = run(planner, rounds=5)
    fids = [o.spec.params["epochs"] for o in history]
    assert all(f in (1, 3, 9, 27) for f in fids)
    for o in history:
        assert SPACE.validate(o.spec.params) == dict(o.spec.params)
        assert o.spec.planner == "mf-bo"
    keys = [SPACE.key(o.spec.params) for o in history]
    assert len(set(keys)) == len(keys)
    # cost spent: well under running every proposal at full fidelity, cheaper rungs first
    assert sum(fids) < 0.5 * 27 * len(fids)
    first = fids[: planner.n_init]
    assert max(first) < 27 and sum(first) / len(first) < 5
    assert any("qMFKG" in o.spec.note for o in history)
    # the model's proposals are on low rungs more often than not
    model = [f for o, f in zip(history, fids, strict=True) if "qMFKG" in o.spec.note]
    assert sum(f < 27 for f in model) > len(model) / 2
    assert planner.best() is not None


@pytest.mark.parametrize("warm", [True, False])
def test_promotions_climb_the_ladder_when_runs_continue(warm: bool) -> None:
    """With warm_start a promoted config runs at the next rung above the highest it reached
    (a continued run pays only the new epochs); without, straight at the full fidelity."""
    planner = cheap(warm_start=warm)
    history = run(planner, rounds=8)
    reached: dict[str, int] = {}
    promoted = 0
    for o in history:
        cfg = {k: v for k, v in o.spec.params.items() if k != "epochs"}
        ck, e = repr(sorted(cfg.items())), o.spec.params["epochs"]
        if o.spec.note.startswith("promoted"):
            promoted += 1
            assert ck in reached  # only observed configs are promoted
            assert e == (min(r for r in (1, 3, 9, 27) if r > reached[ck]) if warm else 27)
        reached[ck] = max(e, reached.get(ck, 0))
    assert promoted >= 2
    if warm:  # a config reaches the full fidelity through the rungs
        assert any(f == 27 and o.spec.note.startswith("promoted") for o, f in
                   ((o, o.spec.params["epochs"]) for o in history))  # fmt: skip


def test_resume_replays_the_same_state() -> None:
    a = cheap(seed=3)
    history = run(a, rounds=3)
    pending = [ExperimentSpec({"x1": 0.5, "x2": 0.5, "c": "a", "epochs": 3}, "toy")]
    b = cheap(seed=3)
    b.tell(history)
    assert b._x and len(b._x) == len(a._x)
    assert [s.params for s in a.ask(3, pending)] == [s.params for s in b.ask(3, pending)]


def test_registry_entry_and_no_fidelity_is_bo_said() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a space with a fidelity: nothing to say
        p = GENERAL.make("mf-bo", SPACE, kind="toy", seed=0)
    assert isinstance(p, MFBOPlanner) and p.fidelity == "epochs"
    said = "no fidelity parameter .* runs as plain bo"
    with pytest.warns(UserWarning, match=said):  # the CLI's way
        q = GENERAL.make("mf-bo", mixed_space(), kind="toy", seed=0)
    assert type(q).__name__ == "BOPlanner" and q.name == "mf-bo"
    with pytest.warns(UserWarning, match=said):  # the Python API's
        MFBOPlanner(mixed_space(), "toy", 0)
    assert "mf-bo" in GENERAL.help(SearchSpace)


# -- the planner contract on a space with an epochs fidelity ----------------------------------


def _measure(p: Mapping[str, Any]) -> dict[str, float]:
    return {"value": value(p) - 0.3 * (1 - p["epochs"] / 9) ** 2}


def _small() -> SearchSpace:
    return SearchSpace([Int("a", 0, 2), Categorical("b", ["p", "q", "r"]), Int("epochs", 1, 9)])


FIDELITY_BENCH = Bench(
    SearchSpace([*mixed_space().params, Int("epochs", 1, 9)]),
    "toy",
    lambda p: _measure(p) if "lr" in p else {"value": value(p) + math.log(p["epochs"])},
    small=_small(),
    conditional=("slope", "act", frozenset({"relu"})),
    resume_exact=True,
)
CHECKS = [
    c
    for c in pc.CONTRACT
    if c.__name__ not in ("check_fixed_params",)  # fixed_space() has no fidelity: bo's case
]


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_contract_with_a_fidelity(check: Any) -> None:
    check(lambda space, seed: cheap(space, seed), FIDELITY_BENCH)


def test_y_warp_fits_on_the_warped_values(monkeypatch: pytest.MonkeyPatch) -> None:
    """``y_warp`` (opt-in): the model is fitted on Yeo-Johnson-warped values, a diverged
    observation included (the GP's targets; its hyperparameters may come from the fit at the
    last multiple of 4 observations, search/gp_refit.py); off, on the values as told."""
    from perturbo.search import bo_transforms

    calls: list[int] = []
    real = bo_transforms.warp_outcomes

    def spy(Y: Any) -> Any:
        calls.append(len(Y))
        return real(Y)

    monkeypatch.setattr(bo_transforms, "warp_outcomes", spy)
    for warp in (False, True):
        planner = cheap(seed=1, y_warp=warp)
        history = run(planner, rounds=2)  # past the 6 initial configs: the model proposes
        diverged = ExperimentSpec({"x1": 0.1, "x2": 0.9, "c": "a", "epochs": 1}, "toy")
        planner.tell(
            [Observation(diverged.stamped("div", 3), Outcome(Status.COMPLETED, {"value": -53.0}))]
        )
        specs = planner.ask(4, [])
        assert len(specs) == 4 and all(SPACE.validate(s.params) for s in specs)
        assert bool(calls) == warp and (not warp or len(history) + 1 in calls)


# -- acquisition="nei" (opt-in): qLogNEI at the full fidelity, new configs at the lowest rung --


NEI_CHECKS = [c for c in CHECKS if c.__name__ in ("check_ask_valid", "check_pending_avoided",
                                                   "check_resume", "check_bad_outcomes")]  # fmt: skip


@pytest.mark.parametrize("check", NEI_CHECKS, ids=lambda c: c.__name__)
def test_contract_with_nei(check: Any) -> None:
    check(lambda space, seed: cheap(space, seed, acquisition="nei"), FIDELITY_BENCH)


def test_nei_starts_new_configs_at_the_lowest_rung_and_picks_by_the_full_fidelity() -> None:
    planner = cheap(seed=2, acquisition="nei")
    run(planner, rounds=4)  # past the initial design
    pending = [ExperimentSpec({"x1": 0.7, "x2": 0.3, "c": "b", "epochs": 1}, "toy")]
    specs = planner.ask(4, pending)
    new = [s for s in specs if "qLogNEI" in s.note]
    assert new and all(s.params["epochs"] == 1 for s in new)
    assert all(not s.note.startswith("sobol") for s in specs)
    assert planner.describe()["acquisition"] == "nei"
    with pytest.raises(ValueError, match="acquisition"):
        MFBOPlanner(SPACE, "toy", 0, acquisition="ucb")
