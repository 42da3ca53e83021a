"""A user's objective that takes the space's parameters by name (``train(lr, width)``), not
one dict: called by name, or refused before any trial with what is missing."""

from __future__ import annotations

import pytest

from perturbo import Campaign
from perturbo.kinds.hyperparameter.user_call import call_style
from perturbo.space import Categorical, Float, SearchSpace
from perturbo.types import PerturboError

SPACE = SearchSpace(
    [
        Categorical("kind", ["a", "b"]),
        Float("x", 0.0, 1.0),
        Float("y", 0.0, 1.0, when={"kind": ["b"]}),
    ]
)


def by_name(kind, x, y=0.0, report=None):
    """Maximised at kind 'b', x = 0.3, y = 1."""
    return {"score": 1 - (x - 0.3) ** 2 + (0.5 * y if kind == "b" else 0.0)}


def test_the_style_is_read_from_the_signature() -> None:
    assert call_style(by_name, SPACE) == "kwargs"
    assert call_style(lambda params: 0.0, SPACE) == "dict"
    assert call_style(lambda config, report: 0.0, SPACE) == "dict"
    assert call_style(lambda kind, **rest: 0.0, SPACE) == "kwargs"
    assert call_style(max, SPACE) == "dict"  # no signature to read: as before


@pytest.mark.parametrize(
    "fn, message",
    [
        (lambda kind, x: 0.0, r"no argument for 'y': add it"),
        (lambda kind, x, y=0, seed=None, depth=None: 0.0, None),
        (lambda kind, x, depth, y=0: 0.0, r"'depth' is not a parameter of the space"),
        (lambda kind, x, y: 0.0, r"'y' is conditional .* needs a default"),
    ],
)
def test_a_function_that_cannot_take_every_trial_is_refused(fn, message) -> None:
    if message is None:
        assert call_style(fn, SPACE) == "kwargs"
        return
    with pytest.raises(PerturboError, match=message) as e:
        call_style(fn, SPACE, "train")
    assert "def train(params)" in str(e.value)  # the other way to write it


def test_a_campaign_calls_it_by_name() -> None:
    """Called with one dict, ``by_name`` would get it in ``kind`` and x = its default: every
    trial the same value (the silent failure this guards against)."""
    res = Campaign(
        by_name, space=SPACE, objective="score", direction="max", trials=12, batch=4, seed=0
    ).run()
    values = {round(o.outcome.metrics["score"], 9) for o in res.completed}
    assert len(res.completed) == 12 and len(values) == 12
    assert res.best_value == pytest.approx(by_name(**res.best_params)["score"])


def test_a_campaign_refuses_it_before_any_trial() -> None:
    def train(kind, x):
        raise AssertionError("no trial may run")

    with pytest.raises(PerturboError, match="no argument for 'y'"):
        Campaign(train, space=SPACE, objective="score", direction="max", trials=4).run()
