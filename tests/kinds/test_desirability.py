"""Desirability functions (issue 20 item 4): the Derringer-Suich math against values worked out
by hand, the written spec and its one-line errors, and a campaign whose most desirable trial
is the one recomputed here, by a different formula path, from the raw objectives it recorded."""

from __future__ import annotations

import math

import numpy as np
import pytest
from stores import *  # noqa: F403

from perturbo import Campaign, tracking
from perturbo.cli import main
from perturbo.desirability import Desirability, geometric_mean, parse_desirability
from perturbo.kinds.hyperparameter.compose import build
from perturbo.show_results import fmt
from perturbo.space import Float, SearchSpace
from perturbo.types import PerturboError, Status

# -- the math, against hand-computed values ---------------------------------------------------


@pytest.mark.parametrize(
    "term, y, want",
    [
        # larger is better on [0.90, 0.98]: (0.94 - 0.90) / 0.08 = 1/2
        ("a:max:0.90..0.98", 0.94, 0.5),
        ("a:max:0.90..0.98^2", 0.94, 0.25),  # (1/2)^2
        ("a:max:0.90..0.98^0.5", 0.92, 0.5),  # (1/4)^(1/2)
        ("a:max:0.90..0.98", 0.85, 0.0),  # below LOW
        ("a:max:0.90..0.98", 0.99, 1.0),  # above HIGH
        # smaller is better on [1e3, 5e4]: (50000 - 20000) / 49000 = 30/49
        ("n:min:1e3..5e4", 2e4, 30 / 49),
        ("n:min:1e3..5e4^2", 2e4, 900 / 2401),
        ("n:min:1e3..5e4", 500.0, 1.0),
        ("n:min:1e3..5e4", 6e4, 0.0),
        # target is best on [1, 2, 5]: rising (1.5 - 1) / 1 = 1/2, falling (5 - 3.5) / 3 = 1/2
        ("t:target:1..2..5", 1.5, 0.5),
        ("t:target:1..2..5", 3.5, 0.5),
        ("t:target:1..2..5^2^0.5", 1.5, 0.25),
        ("t:target:1..2..5^2^0.5", 3.5, 0.5**0.5),
        ("t:target:1..2..5", 2.0, 1.0),
        ("t:target:1..2..5", 0.5, 0.0),
        ("t:target:1..2..5", 5.5, 0.0),
        ("t:target:-1..0..1", -0.25, 0.75),  # negative numbers
    ],
)
def test_each_shape_matches_its_hand_computed_value(term: str, y: float, want: float) -> None:
    (d,) = parse_desirability(term).terms
    assert float(d(y)) == pytest.approx(want, abs=1e-12)


def test_overall_is_the_geometric_mean_and_one_zero_zeroes_it() -> None:
    spec = parse_desirability("a:max:0.90..0.98,n:min:1e3..5e4")
    # d_a = 1/2, d_n = 30/49: D = sqrt(15/49) = sqrt(15) / 7
    v = spec.values({"a": 0.94, "n": 2e4})
    assert v["d_a"] == pytest.approx(0.5)
    assert v["d_n"] == pytest.approx(30 / 49)
    assert v["desirability"] == pytest.approx(math.sqrt(15) / 7)
    assert spec.values({"a": 0.80, "n": 2e4})["desirability"] == 0.0
    assert math.isnan(spec.values({"a": 0.94})["desirability"])  # a metric missing
    # three terms: cube root of 1 * 1/8 * 1 = 1/2
    assert geometric_mean(np.array([[1.0, 0.125, 1.0]]))[0] == pytest.approx(0.5)
    rows = spec.overall(np.array([[0.94, 2e4], [0.99, 500.0], [0.85, 500.0]]))
    assert rows == pytest.approx([math.sqrt(15) / 7, 1.0, 0.0])


def test_the_written_spec_reads_back() -> None:
    text = "val_accuracy:max:0.9..0.98,n_params:min:1000..50000^2,t:target:1..2..5^1^0.5"
    spec = parse_desirability(text)
    assert spec.spec() == text and parse_desirability(spec.spec()) == spec
    assert spec.names == ("val_accuracy", "n_params", "t")
    assert [d.shape for d in spec.terms] == ["max", "min", "target"]
    assert parse_desirability(["a:max:0..1", " b:min:0..1 "]).names == ("a", "b")


@pytest.mark.parametrize(
    "spec, words",
    [
        ("a:max:1..", ["'a:max:1..'", "range '1..'", "LOW..HIGH"]),
        ("a:best:1..2", ["'a:best:1..2'", "shape 'best'", "max, min, target"]),
        ("a:max:2..1", ["'a:max:2..1'", "LOW < HIGH"]),
        ("a:target:1..2", ["'a:target:1..2'", "LOW..TARGET..HIGH"]),
        ("a:target:1..3..2", ["LOW < TARGET < HIGH"]),
        ("a:min:1..2^0", ["'a:min:1..2^0'", "positive"]),
        ("a:max:1..2^2^3", ["'a:max:1..2^2^3'", "second exponent"]),
        ("a", ["term 'a'", "NAME:SHAPE:RANGE"]),
        ("a:max:0..1,a:min:0..1", ["objective a twice"]),
        ("", ["no objective"]),
    ],
)
def test_a_bad_spec_is_one_line_naming_the_bad_part(spec: str, words: list[str]) -> None:
    with pytest.raises(PerturboError) as e:
        parse_desirability(spec)
    msg = str(e.value)
    assert "\n" not in msg
    for w in words:
        assert w in msg, (w, msg)
    with pytest.raises(PerturboError):
        Desirability("a", "max", 1.0, 1.0)


@pytest.mark.parametrize(
    "config, words",
    [
        ({"desirability": "val_accuracy:max:0.9..oops"}, ["--desirability term", "oops"]),
        ({"desirability": "accuracy:max:0.9..1"}, ["'accuracy' is not a metric", "val_accuracy"]),
        (
            {"objective": "val_accuracy", "desirability": "n_params:min:1..2"},
            ["--objective names val_accuracy", "n_params"],
        ),
        (
            {"desirability": "val_accuracy:max:0.9..1,n_params:min:1..2", "direction": "max,max"},
            ["--direction max,max disagrees", "max,min"],
        ),
        ({"desirability": "val_accuracy:max:0.9..1", "asha": True}, ["--asha", "--desirability"]),
    ],
)  # fmt: skip
def test_bad_desirability_input_names_the_flag(config: dict, words: list[str]) -> None:
    with pytest.raises(PerturboError) as e:
        build({"task": "wine-mlp", **config})
    for w in words:
        assert w in str(e.value), (w, str(e.value))


def test_build_plans_on_the_desirability_and_keeps_the_raw_objectives() -> None:
    parts = build(
        {"task": "wine-mlp", "planner": "random",
         "desirability": "val_accuracy:max:0.9..0.98,n_params:min:1e3..5e4"}
    )  # fmt: skip
    assert parts.objectives == ("desirability",) and parts.directions == ("max",)
    assert parts.params["objective"] == "desirability" and parts.params["direction"] == "max"
    assert parts.params["desirability"] == "val_accuracy:max:0.9..0.98,n_params:min:1000..50000"


def test_cli_bad_spec_is_one_line(store: str, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(
        ["run", "hyperparameter", "--task", "branin", "--desirability", "value:min:0..x",
         "--local", "--tracking-uri", store]
    )  # fmt: skip
    err = capsys.readouterr().err
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    lines = [ln for ln in lines if not ln.rstrip().endswith("...")]
    assert rc == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert "--desirability term 'value:min:0..x'" in lines[0]


# -- a campaign: the most desirable trial is the one recomputed from the raw objectives --------

SPEC = "acc:max:0.6..0.95^2,size:min:20..80,lat:target:0.1..0.3..0.9"


def _synthetic(params: dict) -> dict[str, float]:
    x, y = float(params["x"]), float(params["y"])
    return {"acc": 1.0 - (x - 0.8) ** 2 - 0.3 * (y - 0.5) ** 2, "size": 10 + 90 * x * y,
            "lat": x * (1 - y) + 0.05}  # fmt: skip


def _by_hand(acc: float, size: float, lat: float) -> float:
    """SPEC's desirability written out piecewise (no clipping, no numpy)."""
    if acc <= 0.6 or size >= 80 or lat <= 0.1 or lat >= 0.9:
        return 0.0
    da = 1.0 if acc >= 0.95 else ((acc - 0.6) / 0.35) ** 2
    ds = 1.0 if size <= 20 else (80 - size) / 60
    dl = (lat - 0.1) / 0.2 if lat <= 0.3 else (0.9 - lat) / 0.6
    return (da * ds * dl) ** (1 / 3)


def test_campaign_picks_the_trial_the_raw_objectives_make_most_desirable(
    store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    space = SearchSpace([Float("x", 0.0, 1.0), Float("y", 0.0, 1.0)])
    camp = Campaign(
        _synthetic, space=space, desirability=SPEC, planner="random", trials=12, batch=4,
        seed=3, tracking_uri=store, name="desire",
    )  # fmt: skip
    camp.run()
    res = camp.resume(trials=16)  # resume rebuilds the desirability from the recorded config
    assert res.objective == "desirability" and res.direction == "max"
    c = tracking.open_store(store).client
    exp = c.get_experiment_by_name("desire")
    (parent,) = c.search_runs([exp.experiment_id], "tags.`perturbo.role` = 'campaign'")
    trials = c.search_runs([exp.experiment_id], "tags.`perturbo.role` = 'trial'", max_results=100)
    done = [t for t in trials if t.data.tags["perturbo.status"] == Status.COMPLETED.value]
    assert len(done) == 16
    by_hand = {}
    for t in done:
        m = t.data.metrics
        want = _by_hand(m["acc"], m["size"], m["lat"])
        assert m["desirability"] == pytest.approx(want, abs=1e-9), t.data.tags["perturbo.id"]
        assert {"d_acc", "d_size", "d_lat"} <= set(m)
        by_hand[t.data.tags["perturbo.id"]] = want
    best_id = max(by_hand, key=by_hand.__getitem__)
    assert sorted(by_hand.values())[-2] < by_hand[best_id]  # one clear winner
    assert 0.0 < by_hand[best_id] < 1.0 and min(by_hand.values()) == 0.0
    assert res.best is not None and res.best.spec.id == best_id
    assert parent.data.params["desirability"] == SPEC
    assert parent.data.params["objective"] == "desirability"
    # `perturbo show` gives the chosen trial in the user's own metrics, not only its score
    best = next(t for t in done if t.data.tags["perturbo.id"] == best_id).data.metrics
    assert main(["show", "desire", "--tracking-uri", store]) == 0
    out = capsys.readouterr().out
    measured = next(ln for ln in out.splitlines() if ln.strip().startswith("measured:"))
    for n in ("acc", "size", "lat"):
        assert f"{n}={fmt(best[n])} (d={fmt(best['d_' + n])})" in measured, measured
