"""Float bounds whose width overflows, float ranges too narrow for the config key's precision,
and categorical choices sharing a key are refused at construction, naming the fix."""

from __future__ import annotations

import pytest

from perturbo.space import Categorical, Float, Int, SearchSpace
from perturbo.types import PerturboError


def test_overflowing_width_is_refused() -> None:
    with pytest.raises(PerturboError, match=r"'x'.*overflows.*width high - low is a finite"):
        Float("x", -1e308, 1e308)
    with pytest.raises(PerturboError, match=r"'n'.*overflows"):
        Int("n", -(10**308), 10**308)
    with pytest.raises(PerturboError, match="overflows"):
        SearchSpace.from_dict({"x": {"type": "float", "low": -1.7e308, "high": 1.7e308}})
    Float("x", -1e307, 1e307)  # a finite width: accepted
    Float("x", 1e-300, 1e300, log=True)


def test_float_range_too_narrow_for_the_key_is_refused() -> None:
    with pytest.raises(PerturboError, match=r"'x'.*too narrow.*10 significant digits.*rescale"):
        Float("x", 1.0, 1.0 + 1e-9)
    with pytest.raises(PerturboError, match="too narrow"):
        Float("lr", 1000.0, 1000.0 + 1e-5, log=True)
    # wide enough, tiny in absolute terms, or a single value: accepted
    Float("x", 1.0, 1.0 + 1e-5)
    Float("x", 0.0, 1e-12)
    Float("x", 1e-12, 2e-12)
    Float("x", 3.0, 3.0)
    sp = SearchSpace([Float("x", 1.0, 1.0 + 1e-5)])
    keys = {sp.key({"x": 1.0 + i * 1e-8}) for i in range(1001)}
    assert len(keys) > 900  # the range's values stay told apart


def test_categorical_choices_sharing_a_key_are_refused() -> None:
    with pytest.raises(PerturboError, match=r"'c'.*0\.1.*same config.*10 significant digits"):
        Categorical("c", [0.1, 0.1 + 1e-12])
    # distinct keys: accepted (1 and 1.0 and "1" and True differ in their keys)
    Categorical("c", [0.1, 0.2, 1, 1.0000001, "1", True])
