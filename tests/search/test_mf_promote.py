"""``mf-bo``'s promotion rules: ASHA's cut on the rung a config reached (``promote="rung"``),
checked against a cut computed here from the history, and the planner contract under it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from perturbo.search.mf_bo import MFBOPlanner
from perturbo.search.mf_promote import choose, in_top_of_rung
from tests.search.test_mf_bo import CHECKS, FIDELITY_BENCH, SPACE, cheap, run

pc_checks = [c for c in CHECKS if c.__name__ in ("check_ask_valid", "check_pending_avoided",
                                                 "check_resume", "check_bad_outcomes")]  # fmt: skip


def _cfg(params: Any) -> dict[str, Any]:
    return {k: v for k, v in params.items() if k != "epochs"}


def _key(params: Any) -> str:
    return repr(sorted(_cfg(params).items()))


def test_the_cut_is_ashas_top_third() -> None:
    # at rung 1: values 0..8 (larger is better); the others' 2/3 quantile decides
    values = {f"c{i}": {1.0: float(i)} for i in range(9)}
    assert [k for k in values if in_top_of_rung(values, k, 3.0)] == ["c6", "c7", "c8"]
    # at the highest rung a config reached: "a" is alone at 3 (its 1-epoch value is not judged)
    assert in_top_of_rung({"a": {1.0: -9.0, 3.0: -5.0}, "b": {1.0: 9.0}}, "a", 3.0)
    assert not in_top_of_rung({"a": {1.0: 0.0}, "b": {1.0: 1.0}}, "a", 3.0)


def test_choose_orders_by_the_bound_and_applies_the_rule() -> None:
    cands = [(0, 3.0), (1, 3.0), (2, 9.0)]
    upper = [0.5, 0.9, 0.7]
    # the model's rule: by the bound, stop at the first not above the bar
    assert choose(cands, upper, 0.6, 3, lambda i: None) == [(1, 3.0), (2, 9.0)]
    # ASHA's cut: a refused config is skipped, not a stop, and the bar plays no part
    assert choose(cands, upper, 0.6, 3, lambda i: i != 1) == [(2, 9.0), (0, 3.0)]
    assert choose(cands, upper, 0.6, 1, lambda i: True) == [(1, 3.0)]


def test_rung_promotions_pass_the_cut_computed_from_the_history() -> None:
    planner = cheap(seed=4, promote="rung")
    history = run(planner, rounds=9)
    assert planner.describe()["promote"] == "rung"
    promoted = 0
    for j, o in enumerate(history):
        if not o.spec.note.startswith("promoted"):
            continue
        promoted += 1
        before = [h for h in history if h.spec.round < o.spec.round]
        cfg = _cfg(o.spec.params)
        at: dict[str, dict[int, float]] = {}
        for h in before:
            ep, val = h.spec.params["epochs"], h.outcome.metrics["value"]
            at.setdefault(_key(h.spec.params), {})[ep] = val
        mine = at[_key(cfg)]
        rung = max(mine)
        others = [v[rung] for k, v in at.items() if k != _key(cfg) and rung in v]
        assert not others or mine[rung] >= np.percentile(others, 200 / 3), (j, rung)
    assert promoted >= 2


def test_the_rung_rule_refuses_what_the_model_rule_promotes() -> None:
    """Same history, both rules: the model's rule promotes some config below ASHA's cut (its
    bound is what counts), the rung rule none; so the test can tell the rules apart."""
    base = cheap(seed=4)
    history = run(base, rounds=6)
    below: list[Any] = []
    for rule in ("model", "rung"):
        p = cheap(seed=4, promote=rule)
        p.tell(history)
        out = [s for s in p.ask(4, []) if s.note.startswith("promoted")]
        ck = [p._configs_space.key(_cfg(s.params)) for s in out]
        below.append([c for c in ck if not in_top_of_rung(p._at, c, 3.0)])
    assert below[0] and not below[1]


@pytest.mark.parametrize("check", pc_checks, ids=lambda c: c.__name__)
def test_contract_with_rung_promotion(check: Any) -> None:
    check(lambda space, seed: cheap(space, seed, promote="rung"), FIDELITY_BENCH)


def test_an_unknown_rule_is_refused() -> None:
    with pytest.raises(ValueError, match="promote"):
        MFBOPlanner(SPACE, "toy", 0, promote="ucb")
