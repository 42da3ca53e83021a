"""What a user's objective returns: a number, or a dict of metrics whose values are numbers.
Anything else fails the trial saying what came back (None from a forgotten ``return``), not
with a TypeError from perturbo's own line."""

from __future__ import annotations

import numpy as np
import pytest

from perturbo.kinds.hyperparameter import HyperparameterExecutor
from perturbo.kinds.hyperparameter.tasks import UserTask
from perturbo.kinds.hyperparameter.user_call import ObjectiveReturnError, metrics_of
from perturbo.space import Float, SearchSpace
from perturbo.types import ExperimentSpec, Status

SPACE = SearchSpace([Float("x", 0.0, 1.0)])


def _outcome(fn):
    task = UserTask("test:objective", SPACE, _fn=fn)
    return HyperparameterExecutor(task).run(ExperimentSpec({"x": 0.5}, "hyperparameter", id="t"))


def _forgot_return(params):
    params["x"] + 1


@pytest.mark.parametrize(
    "fn, words",
    [
        (_forgot_return, ["objective returned None; return a number or a dict of metrics"]),
        (lambda p: [p["x"], 1.0], ["objective returned a list ([0.5, 1.0])", "not a number"]),
        (lambda p: "0.5", ["objective returned a str ('0.5')", "not a number"]),
        (lambda p: np.array([0.5, 1.0]), ["objective returned a ndarray", "not a number"]),
        (lambda p: {"value": None}, ["metric 'value' as NoneType", "not a number"]),
        (lambda p: {"value": p["x"], "acc": "high"}, ["metric 'acc' as str ('high')"]),
    ],
)
def test_a_non_number_fails_the_trial_saying_what_came_back(fn, words) -> None:
    o = _outcome(fn)
    assert o.status is Status.FAILED
    for w in words:
        assert w in o.error, (w, o.error)
    assert "float() argument" not in o.error and "TypeError" not in o.error, o.error
    assert o.error.startswith("objective returned"), o.error  # not "objective raised ..."


@pytest.mark.parametrize(
    "value, metrics",
    [
        (0.5, {"value": 0.5}),
        (2, {"value": 2.0}),
        (np.float32(0.25), {"value": 0.25}),
        (np.array(0.75), {"value": 0.75}),
        ({"value": np.float64(0.5), "n": 3}, {"value": 0.5, "n": 3.0}),
    ],
)
def test_numbers_and_numeric_dicts_are_metrics(value, metrics) -> None:
    assert metrics_of(value, "value") == metrics
    o = _outcome(lambda p: value)
    assert o.status is Status.COMPLETED and o.metrics["value"] == metrics["value"]


def test_a_torch_scalar_is_a_number() -> None:
    torch = pytest.importorskip("torch")
    assert metrics_of(torch.tensor(0.5), "loss") == {"loss": 0.5}
    with pytest.raises(ObjectiveReturnError, match="returned a Tensor"):
        metrics_of(torch.tensor([0.5, 1.0]), "loss")


def test_a_function_of_a_script_run_as_main_says_how_to_resume_it() -> None:
    """A campaign started from ``python script.py`` records ``__main__:fn``; ``perturbo
    resume`` cannot import that (it said "module '__main__' has no function")."""
    from perturbo.types import PerturboError

    with pytest.raises(PerturboError, match=r"script run as __main__.*\.resume\(\)"):
        UserTask("__main__:train", SPACE)
