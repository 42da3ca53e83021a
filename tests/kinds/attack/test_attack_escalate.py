"""The cost ladder (start cheap, climb when a config breaks nothing new) and the neighbour
configs that target the samples still standing with what broke their nearest neighbours."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from perturbo.kinds.attack.escalate import Ladder, config_cost, fit_config, neighbour_configs
from perturbo.kinds.attack.samples import WorstCase, decode_mask, pack_bits
from perturbo.kinds.attack.space import RUNG, SAMPLES, CascadePlanner, attack_space
from perturbo.types import ExperimentSpec, Observation, Outcome, Status


@pytest.mark.parametrize(
    "params",
    [
        {"method": "apgd-ce", "steps": 100, "restarts": 4},
        {"method": "apgd-t", "steps": 80, "targets": 9},
        {"method": "pgd", "steps": 60, "restarts": 3, "loss": "ce", "step_rel": 0.1},
        {"method": "square", "queries": 3000, "p_init": 0.3},
    ],
)
def test_fit_config_cuts_to_the_rung_and_stays_in_the_space(params: dict[str, Any]) -> None:
    space = attack_space("linf", n_classes=10)
    for per in (14.0, 56.0, 448.0):
        fitted = fit_config(params, per, max_targets=9)
        space.validate(fitted)  # what goes out is a config of the space
        floor = config_cost({**fitted, "steps": 5, "targets": 1, "restarts": 1, "queries": 100})
        assert config_cost(fitted) <= max(per, floor)
        assert config_cost(fitted) <= config_cost(params)
    grown = fit_config({"method": "apgd-t", "steps": 5, "targets": 1}, 120.0, grow=True)
    assert grown["targets"] > 1 and config_cost(grown) <= 120.0
    assert (
        fit_config({"method": "apgd-t", "steps": 5, "targets": 1}, 1e4, grow=True)["targets"] == 9
    )
    assert fit_config({"method": "apgd-ce", "steps": 5}, 60.0, grow=True)["steps"] == 28


def test_ladder_climbs_only_on_a_config_of_its_rung_that_broke_nothing() -> None:
    lad = Ladder(start=10.0, factor=2.0)
    assert not lad.told(0, broke_new=True) and lad.rung == 0
    assert lad.told(0, broke_new=False) and lad.rung == 1 and lad.per_sample == 20.0
    assert not lad.told(0, broke_new=False) and lad.rung == 1  # a slow config of rung 0


def _clusters() -> tuple[np.ndarray, list[str]]:
    """Two clusters of 6 points: in A, 4 broken by trial "a" and 2 standing; in B, 4 broken
    by "b" and 2 standing; plus one far point broken by "a"."""
    rng = np.random.default_rng(0)
    a = rng.normal(0.0, 0.1, (6, 4))
    b = rng.normal(5.0, 0.1, (6, 4))
    far = np.full((1, 4), 50.0)
    x = np.vstack([a, b, far])
    by = ["a", "a", "a", "a", "", "", "b", "b", "b", "b", "", "", "a"]
    return x, by


def test_neighbour_configs_give_each_standing_sample_what_broke_its_neighbours() -> None:
    x, by = _clusters()
    standing = np.array([b == "" for b in by])
    params_of = {"a": {"method": "pgd", "loss": "cw"}, "b": {"method": "apgd-dlr"}}
    groups = neighbour_configs(x, by, standing, params_of, k=3)
    got = {g["method"]: np.nonzero(m)[0].tolist() for g, m in groups}
    assert got == {"pgd": [4, 5], "apgd-dlr": [10, 11]}
    assert groups[0][0] == {"method": "pgd", "loss": "cw"}  # the config, as it ran
    # the first trial's breaks are the easy ones: the later breakers vote where they can
    late = neighbour_configs(x, by, standing, params_of, k=3, first="a")
    assert [(g["method"], int(m.sum())) for g, m in late] == [("apgd-dlr", 4)]
    assert neighbour_configs(x, [""] * 13, standing, params_of) == []


class _Planner:
    name = "fixed"

    def ask(self, n: int, pending: Any) -> list[ExperimentSpec]:
        return [ExperimentSpec({"method": "apgd-ce", "steps": 100, "restarts": 4})] * n

    def tell(self, obs: Any) -> None:
        pass


def _told(spec: ExperimentSpec, i: str, bad: np.ndarray, passes: float) -> Observation:
    metrics = {**pack_bits(bad), "passes": passes}
    return Observation(spec.stamped(i, 0), Outcome(Status.COMPLETED, metrics))


def test_the_cascade_climbs_and_first_targets_the_standing_with_their_neighbours_config() -> None:
    x, _ = _clusters()
    n = len(x)
    wc = WorstCase(n, 0.1)
    opening = [{"method": "pgd", "steps": 50, "loss": "cw"}, {"method": "apgd-dlr", "steps": 50}]
    pl = CascadePlanner(_Planner(), wc, opening=opening, ladder=Ladder(start=14.0, features=x))
    first = pl.ask(4, [])
    assert len(first) == 1 and first[0].params["steps"] == 6 and first[0].params[RUNG] == 0
    bad = np.zeros(n, bool)
    bad[[0, 1, 2, 3, 12]] = True  # the opening's pgd breaks part of cluster A
    pl.tell([_told(first[0], "t0", bad, 100.0)])
    second = pl.ask(4, [])  # the second opening config, on what the first left standing
    assert second[0].params["method"] == "apgd-dlr" and second[0].params["steps"] == 5
    bad = np.zeros(n, bool)
    bad[[6, 7, 8, 9]] = True  # ... and apgd-dlr part of cluster B
    pl.tell([_told(second[0], "t1", bad, 100.0)])
    third = pl.ask(4, [])  # no climb yet: the planner's configs, fitted to rung 0
    assert third and all(s.planner != "neighbours" for s in third)
    assert all(s.params["restarts"] == 1 and s.params["steps"] == 5 for s in third)
    pl.tell([_told(s, f"t{2 + i}", np.zeros(n, bool), 10.0) for i, s in enumerate(third)])
    assert pl.ladder.rung == 1  # a rung-0 config broke nothing: climb
    fourth = pl.ask(4, [])
    near = [s for s in fourth if s.planner == "neighbours"]
    assert [s.params["method"] for s in near] == ["apgd-dlr"]  # the later breaker: first="t0"
    assert decode_mask(near[0].params[SAMPLES], n).tolist() == [
        i in (4, 5, 10, 11) for i in range(n)
    ]
    assert near[0].params[RUNG] == 1 and near[0].params["steps"] == 26  # grown to rung 1 (56)
    assert all(s.planner != "neighbours" for s in pl.ask(4, []))  # once per climb


def test_a_climb_under_the_stretch_attacks_every_neighbour_group_with_its_share() -> None:
    """The stretch after a climb holds one config of the new rung on the standing samples:
    the neighbour groups split it by their sizes (not one group the whole, the rest none)."""
    x, _ = _clusters()
    n = len(x)
    pl = CascadePlanner(
        _Planner(), WorstCase(n, 0.1), stop_when_done=True, ladder=Ladder(start=14.0, features=x)
    )

    def told(i: str, params: dict[str, Any], broken: list[int], passes: float) -> None:
        bad = np.zeros(n, bool)
        bad[broken] = True
        pl.tell(
            [_told(ExperimentSpec({**params, SAMPLES: pl.worst.still_robust_mask}), i, bad, passes)]
        )

    told("t_", {"method": "fgsm", RUNG: 0}, [], 50.0)  # breaks nothing: climb to rung 1
    told("t0", {"method": "pgd", "loss": "cw", RUNG: 1}, [0, 1, 2, 3, 12], 100.0)
    told("t1", {"method": "apgd-dlr", RUNG: 1}, [6, 7, 8, 9], 100.0)
    told("t2", {"method": "fgsm", RUNG: 1}, [], 25.0)  # climb to rung 2 (224 per sample)
    assert pl.ladder.rung == 2 and pl.ladder.climb == 4 * 225
    out = pl.ask(4, [])
    assert [s.planner for s in out] == ["neighbours", "neighbours"]
    assert sorted(s.params["method"] for s in out) == ["apgd-dlr", "pgd"]
    assert [s.params["pass_budget"] for s in out] == [450, 450]
    assert all(int(decode_mask(s.params[SAMPLES], n).sum()) == 2 for s in out)
