"""mf-bo's fidelity parameter: a range that is not positive and a categorical are refused,
naming the fix; a range of one value runs as plain bo, said."""

from __future__ import annotations

import pytest

from perturbo.search.fidelity import find_fidelity
from perturbo.search.mf_bo import MFBOPlanner
from perturbo.search.registry import GENERAL
from perturbo.space import Categorical, Float, Int, SearchSpace
from perturbo.types import PerturboError


def _space(fid: object) -> SearchSpace:
    return SearchSpace([Float("x", 0, 1), fid])  # type: ignore[list-item]


def test_a_fidelity_range_that_is_not_positive_is_refused() -> None:
    for fid in (Float("fidelity", -1.0, 1.0), Int("epochs", -3, 9), Float("fidelity", -2, 0)):
        with pytest.raises(PerturboError, match=r"must be a positive number.*low >= 0"):
            MFBOPlanner(_space(fid), "toy", 0)
        with pytest.raises(PerturboError, match="must be a positive number"):
            GENERAL.make("mf-bo", _space(fid), kind="toy", seed=0)
    assert find_fidelity(_space(Float("data_fraction", 0.0, 1.0)), "data_fraction")


def test_a_categorical_fidelity_is_refused_naming_an_int_or_float_range() -> None:
    sp = _space(Categorical("epochs", [1, 3, 9]))
    with pytest.raises(PerturboError, match=r"'epochs' is a categorical.*Int or Float range"):
        GENERAL.make("mf-bo", sp, kind="toy", seed=0)
    ordered = _space(Categorical("epochs", [1, 3, 9], ordered=True))
    assert find_fidelity(ordered) == "epochs"


def test_a_fidelity_of_one_value_runs_as_plain_bo_said() -> None:
    sp = _space(Int("epochs", 1, 1))
    with pytest.warns(UserWarning, match=r"'epochs' has one value \(1\).*runs as plain bo"):
        p = MFBOPlanner(sp, "toy", 0)
    assert p.fidelity is None and p._bo is not None
    (s,) = p.ask(1, [])
    assert s.planner == "mf-bo" and s.params["epochs"] == 1
    with pytest.warns(UserWarning, match="one value"):
        GENERAL.make("mf-bo", sp, kind="toy", seed=0)
