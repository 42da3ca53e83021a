"""A `when` condition must name a parent that takes a few exact values (a categorical or an
int): on a float parent it is refused at construction, naming both parameters, not accepted
with a child that is never sampled."""

from __future__ import annotations

import pytest

import perturbo
from perturbo.space import Categorical, Float, Int, SearchSpace
from perturbo.types import PerturboError

FLOAT_PARENT = {
    "lr": {"type": "float", "low": 0, "high": 1},
    "z": {"type": "int", "low": 1, "high": 3, "when": {"lr": [0.5]}},
}


def _one_line_naming_both(e: pytest.ExceptionInfo[PerturboError]) -> str:
    text = str(e.value)
    assert "\n" not in text
    for w in ("'z'", "'lr'", "a float", "categorical or an int"):
        assert w in text, (w, text)
    return text


def test_a_float_parent_is_refused_in_python() -> None:
    with pytest.raises(PerturboError) as e:
        SearchSpace([Float("lr", 0, 1), Int("z", 1, 3, when={"lr": [0.5]})])
    _one_line_naming_both(e)
    with pytest.raises(PerturboError) as e:
        SearchSpace.from_dict(FLOAT_PARENT)
    _one_line_naming_both(e)


def test_a_float_parent_is_refused_before_a_campaign_runs() -> None:
    ran: list[dict] = []

    def f(params):
        ran.append(params)
        return params["lr"]

    with pytest.raises(PerturboError) as e:
        perturbo.Campaign(f, space=FLOAT_PARENT, direction="max", trials=6).run()
    _one_line_naming_both(e)
    assert ran == []


def test_a_float_parent_in_a_toml_file_names_the_file(tmp_path) -> None:
    toml = tmp_path / "space.toml"
    toml.write_text(
        '[lr]\ntype = "float"\nlow = 0.0\nhigh = 1.0\n'
        '[z]\ntype = "int"\nlow = 1\nhigh = 3\nwhen = { lr = [0.5] }\n'
    )
    with pytest.raises(PerturboError) as e:
        SearchSpace.from_toml(toml)
    assert "space.toml" in _one_line_naming_both(e)


def test_categorical_and_int_parents_still_work() -> None:
    s = SearchSpace(
        [
            Categorical("opt", ["adam", "sgd"]),
            Int("layers", 1, 3),
            Float("m", 0, 1, when={"opt": ["sgd"]}),
            Int("w", 1, 4, when={"layers": [2, 3]}),
        ]
    )
    assert s.validate({"opt": "sgd", "layers": 2, "m": 0.5, "w": 2}) == {
        "opt": "sgd",
        "layers": 2,
        "m": 0.5,
        "w": 2,
    }
    assert s.validate({"opt": "adam", "layers": 1}) == {"opt": "adam", "layers": 1}
