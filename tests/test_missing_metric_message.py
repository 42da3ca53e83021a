"""One wording for the missing-metric failure: the hyperparameter executor writes it with
:func:`perturbo.objective.missing_metric` and the schedule reads it back with
:func:`perturbo.objective.misnamed_objective` (to advise a new campaign naming the metric the
function returns). The two round-trip, names with quotes and brackets included."""

from __future__ import annotations

import pytest

from perturbo.kinds.hyperparameter.executor import HyperparameterExecutor
from perturbo.objective import misnamed_objective, missing_metric
from perturbo.types import ExperimentSpec, Status

NAMES = ["val_acc", "it's", 'say "hi"', "both ' and \"", "back\\slash", "a (b) [c]", "é"]


@pytest.mark.parametrize("name", NAMES)
def test_the_message_round_trips(name: str) -> None:
    got = {n: 1.0 for n in NAMES if n != name} | {"loss": 0.5}
    msg = missing_metric(name, got)
    assert misnamed_objective(msg) == (name, sorted(got))
    assert misnamed_objective(f"trial r001-0003: {msg}; more text") == (name, sorted(got))


def test_a_return_with_no_names() -> None:
    assert misnamed_objective(missing_metric("score", {})) == ("score", [])
    assert misnamed_objective(missing_metric("score", None)) == ("score", [])
    assert misnamed_objective("objective raised ValueError: no") is None


class _Returns:
    """A task whose function returns ``metrics`` whatever the params."""

    max_epochs = 0
    objective = "val_acc"

    def __init__(self, metrics: dict[str, float]) -> None:
        self.metrics = metrics

    def evaluate(self, params: dict, report: object) -> dict[str, float]:  # type: ignore[type-arg]
        return dict(self.metrics)


def test_the_executor_writes_what_the_schedule_reads() -> None:
    ex = HyperparameterExecutor(_Returns({"val_accuracy": 0.9, "loss": 0.1}))  # type: ignore[arg-type]
    out = ex.run(ExperimentSpec({"x": 1}, "random", id="r001-0000"))
    assert out.status is Status.FAILED
    assert misnamed_objective(out.error or "") == ("val_acc", ["loss", "val_accuracy"])
