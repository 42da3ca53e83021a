"""Search spaces: construction errors a user can make, validation, the unit-cube encoding."""

from __future__ import annotations

import math

import numpy as np
import pytest

from perturbo.space import Categorical, Float, Int, SearchSpace
from perturbo.types import InvalidSpec, PerturboError


def space() -> SearchSpace:
    return SearchSpace(
        [
            Float("lr", 1e-4, 1e-1, log=True),
            Float("dropout", 0.0, 0.5),
            Int("width", 16, 256, log=True),
            Int("layers", 1, 4),
            Categorical("optimizer", ["adam", "sgd"]),
            Float("momentum", 0.0, 0.99, when={"optimizer": ["sgd"]}),
            Categorical("batch", [16, 32, 64], ordered=True),
        ]
    )


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda: Float("lr", 1.0, 0.1), ["'lr'", "low=1.0 > high=0.1", "swap"]),
        (lambda: Int("n", 5, 2), ["'n'", "swap"]),
        (lambda: Categorical("act", []), ["'act'", "at least one choice"]),
        (lambda: Float("lr", 0.0, 1.0, log=True), ["'lr'", "log", "positive", "low > 0"]),
        (lambda: Float("lr", -1.0, 1.0, log=True), ["'lr'", "low > 0"]),
        (lambda: Int("n", 0, 8, log=True), ["'n'", "positive"]),
        (lambda: Float("x", 0, math.inf), ["'x'", "finite"]),
        (lambda: Categorical("c", ["a", "a"]), ["'c'", "duplicates"]),
        (lambda: SearchSpace([Float("x", 0, 1), Float("x", 0, 2)]), ["'x'", "twice"]),
        (
            lambda: SearchSpace([Float("m", 0, 1, when={"opt": ["sgd"]})]),
            ["'m'", "'opt'", "define 'opt' first"],
        ),
        (
            lambda: SearchSpace(
                [Categorical("opt", ["adam"]), Float("m", 0, 1, when={"opt": ["sgd"]})]
            ),
            ["'m'", "'sgd'"],
        ),
        (lambda: SearchSpace([]), ["no parameters"]),
    ],
)
def test_invalid_spaces_name_the_parameter_and_the_fix(make, words) -> None:
    with pytest.raises(PerturboError) as e:
        make()
    for w in words:
        assert w in str(e.value), (w, str(e.value))


def test_from_dict_and_toml_round_trip(tmp_path) -> None:
    s = space()
    assert SearchSpace.from_dict(s.to_dict()).to_dict() == s.to_dict()
    toml = tmp_path / "space.toml"
    toml.write_text(
        '[lr]\ntype = "float"\nlow = 1e-4\nhigh = 0.1\nlog = true\n'
        '[optimizer]\ntype = "categorical"\nchoices = ["adam", "sgd"]\n'
        '[momentum]\ntype = "float"\nlow = 0.0\nhigh = 0.99\nwhen = { optimizer = ["sgd"] }\n'
        '[units]\ntype = "int"\nlow = 8\nhigh = 64\n'
    )
    t = SearchSpace.from_toml(toml)
    assert t.names == ("lr", "optimizer", "momentum", "units")
    assert t["lr"] == Float("lr", 1e-4, 0.1, log=True)
    assert t.validate({"lr": 0.01, "optimizer": "adam", "units": 9}) == {
        "lr": 0.01,
        "optimizer": "adam",
        "units": 9,
    }


@pytest.mark.parametrize(
    "table, words",
    [
        ({"lr": {"type": "real", "low": 0, "high": 1}}, ["'lr'", "unknown type 'real'"]),
        ({"lr": {"type": "float", "low": 0}}, ["'lr'", "missing", "high"]),
        ({"lr": {"type": "float", "low": 0, "high": 1, "step": 2}}, ["'lr'", "step"]),
        ({"c": {"type": "categorical", "choices": []}}, ["'c'", "at least one"]),
        ({"lr": {"type": "float", "low": 2, "high": 1}}, ["'lr'", "swap"]),
    ],
)
def test_from_dict_errors(table, words) -> None:
    with pytest.raises(PerturboError) as e:
        SearchSpace.from_dict(table)
    for w in words:
        assert w in str(e.value)


def test_from_toml_errors(tmp_path) -> None:
    with pytest.raises(PerturboError, match="does not exist"):
        SearchSpace.from_toml(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[lr\n")
    with pytest.raises(PerturboError, match="not valid TOML"):
        SearchSpace.from_toml(bad)


def test_validate_normalises_and_rejects_with_reasons() -> None:
    s = space()
    ok = {
        "lr": "0.01",
        "dropout": 0,
        "width": 32.0,
        "layers": 2,
        "optimizer": "sgd",
        "momentum": 0.9,
        "batch": "32",
    }
    v = s.validate(ok)
    assert v == {
        "lr": 0.01,
        "dropout": 0.0,
        "width": 32,
        "layers": 2,
        "optimizer": "sgd",
        "momentum": 0.9,
        "batch": 32,
    }
    assert isinstance(v["width"], int) and isinstance(v["batch"], int)
    # an inactive conditional parameter is dropped; an active one is required
    adam = s.validate({**ok, "optimizer": "adam"})
    assert "momentum" not in adam
    bad = {
        "lr": ({**ok, "lr": 1.0}, "outside"),
        "width": ({**ok, "width": 32.5}, "not an integer"),
        "optimizer": ({**ok, "optimizer": "rmsprop"}, "not one of"),
        "momentum": (
            {k: x for k, x in ok.items() if k != "momentum"},
            "missing parameter 'momentum'",
        ),
        "extra": ({**ok, "colour": 1}, "unknown parameter"),
        "nan": ({**ok, "dropout": math.nan}, "not finite"),
    }
    for name, (params, reason) in bad.items():
        with pytest.raises(InvalidSpec, match=reason):
            s.validate(params)
        _ = name


def test_encode_decode_round_trip_and_scales() -> None:
    s = space()
    rng = np.random.default_rng(0)
    for cfg in s.sample(rng, 200, set()):
        x = s.encode(cfg)
        assert x.shape == (s.dim,) and np.all((x >= 0) & (x <= 1))
        back = s.decode(x)
        assert back.keys() == cfg.keys()
        for k, v in cfg.items():
            assert back[k] == (pytest.approx(v, rel=1e-9) if isinstance(v, float) else v), k
    # log scale: the middle of the cube is the geometric mean
    assert s.decode(np.full(s.dim, 0.5))["lr"] == pytest.approx(math.sqrt(1e-4 * 1e-1))
    assert s.cat_dims == (4,)  # ordered 'batch' is not an unordered category
    assert set(s.discrete_dims) == {2, 3, 4, 6}
    # every integer owns an equal share of the unit interval
    n = Int("n", 1, 4)
    counts = np.bincount([n._from_unit(u) for u in np.linspace(0, 1, 4001)])[1:]
    assert counts.min() > 900


def test_sampling_is_seeded_respects_conditions_and_log_scale() -> None:
    s = space()
    a = s.sample(np.random.default_rng(3), 500, set())
    assert a == s.sample(np.random.default_rng(3), 500, set())
    for c in a:
        assert c == s.validate(c)
        assert ("momentum" in c) == (c["optimizer"] == "sgd")
    lrs = np.log10([c["lr"] for c in a])
    assert abs(np.median(lrs) - (-2.5)) < 0.2  # log-uniform, not uniform (whose median is ~0.05)


def test_small_grid_sampling_avoids_excluded() -> None:
    s = SearchSpace([Int("a", 0, 2), Categorical("b", ["p", "q"])])
    assert len(s.grid()) == 6 and s.size() == 6
    taken = {s.key(c) for c in s.grid()[:5]}
    [c] = s.sample(np.random.default_rng(0), 1, taken)
    assert s.key(c) not in taken
    nb = s.neighbours({"a": 0, "b": "p"})
    assert {s.key(c) for c in nb} == {
        s.key(x) for x in ({"a": 1, "b": "p"}, {"a": 2, "b": "p"}, {"a": 0, "b": "q"})
    }


def test_describe_lists_every_parameter() -> None:
    text = space().describe()
    assert "lr: float in [0.0001, 0.1] (log scale)" in text
    assert "momentum" in text and "only when optimizer in ['sgd']" in text
