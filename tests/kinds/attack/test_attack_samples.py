"""The per-sample worst case, its encodings, the cascade space and planner."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from perturbo.kinds.attack.samples import (
    WorstCase,
    decode_mask,
    encode_mask,
    pack_bits,
    unpack_bits,
)
from perturbo.kinds.attack.space import CascadePlanner, CascadeSpace, attack_space
from perturbo.types import ExperimentSpec, InvalidSpec, Observation, Outcome, Status


def test_masks_round_trip() -> None:
    rng = np.random.default_rng(0)
    m = rng.random(500) < 0.3
    assert (decode_mask(encode_mask(m), 500) == m).all()
    assert (unpack_bits(pack_bits(m), 500) == m).all()
    assert decode_mask("", 7).all()
    assert len(encode_mask(np.ones(500, bool))) == 125


def _obs(i: str, bad: np.ndarray, samples: str = "", eps: float | None = None) -> Observation:
    params: dict[str, Any] = {"method": "pgd", "samples": samples}
    if eps is not None:
        params["eps"] = eps
    return Observation(ExperimentSpec(params, id=i), Outcome(Status.COMPLETED, pack_bits(bad)))


def test_worst_case_is_the_ensemble_over_trials() -> None:
    wc = WorstCase(5, eps=0.1)
    assert np.isnan(wc.accuracy()) and wc.still_robust_mask == ""
    wc.update([_obs("a", np.array([1, 0, 0, 0, 0], bool))])
    assert wc.accuracy() == 0.8
    left = wc.still_robust_mask
    assert decode_mask(left, 5).tolist() == [False, True, True, True, True]
    wc.update([_obs("b", np.array([0, 0, 1, 0, 0], bool), samples=left)])
    wc.update([_obs("b", np.array([0, 1, 1, 1, 1], bool), samples=left)])  # told twice: ignored
    wc.update([_obs("c", np.array([0, 1, 0, 0, 0], bool), eps=0.5)])  # larger eps: not counted
    assert wc.accuracy() == 0.6
    assert wc.table() == [(0, "a"), (1, ""), (2, "b"), (3, ""), (4, "")]


def test_cascade_space_validates_and_ignores_the_mask_in_keys() -> None:
    inner = attack_space("linf")
    sp = CascadeSpace(inner)
    p = {"method": "fgsm", "loss": "ce", "samples": "ff"}
    assert sp.validate(p)["samples"] == "ff"
    assert sp.key(p) == sp.key({"method": "fgsm", "loss": "ce"})
    with pytest.raises(InvalidSpec, match="hex"):
        sp.validate({**p, "samples": "xyz"})
    with pytest.raises(InvalidSpec):
        sp.validate({"method": "cw-l2"})


class _Fixed:
    name = "fixed"

    def __init__(self) -> None:
        self.told: list[Observation] = []

    def ask(self, n: int, pending: Any) -> list[ExperimentSpec]:
        assert all("samples" not in s.params for s in pending)
        return [ExperimentSpec({"method": "fgsm", "loss": "ce"}) for _ in range(n)]

    def tell(self, obs: Any) -> None:
        self.told.extend(obs)


def test_cascade_planner_adds_the_mask_strips_it_and_stops_when_all_broken() -> None:
    inner, wc = _Fixed(), WorstCase(3, 0.1)
    pl = CascadePlanner(inner, wc)
    first = pl.ask(2, [])
    assert [s.params["samples"] for s in first] == ["", ""] and first[0].kind == "attack"
    pl.tell([_obs("a", np.array([1, 0, 0], bool))])
    assert "samples" not in inner.told[0].spec.params
    nxt = pl.ask(1, first)
    assert decode_mask(nxt[0].params["samples"], 3).tolist() == [False, True, True]
    pl.tell([_obs("b", np.array([0, 1, 1], bool), samples=nxt[0].params["samples"])])
    assert pl.ask(1, []) == []


def test_space_per_norm_and_classes() -> None:
    assert "cw-l2" in attack_space("l2")["method"].choices
    two = attack_space("linf", n_classes=2)
    assert "apgd-t" not in two["method"].choices and "dlr" not in two["loss"].choices
    assert attack_space("linf", eps=0.1)["eps"].high == 0.1


def test_cascade_planner_stops_when_the_pass_budget_is_spent() -> None:
    inner, wc = _Fixed(), WorstCase(3, 0.1)
    pl = CascadePlanner(inner, wc, max_passes=100)
    spent = Observation(
        ExperimentSpec({"method": "fgsm", "samples": ""}, id="a"),
        Outcome(Status.COMPLETED, {**pack_bits(np.zeros(3, bool)), "passes": 120.0}),
    )
    assert pl.ask(1, [])
    pl.tell([spent])
    assert pl.ask(1, []) == []
