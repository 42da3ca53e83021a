"""``perturbo.Campaign(..., min_epochs=K)``: ASHA's first rung, as ``--min-epochs K`` sets it
from the CLI, checked the same way when the campaign is built
(:mod:`perturbo.kinds.hyperparameter.trial_budget`)."""

from __future__ import annotations

import pytest

from perturbo.kinds.hyperparameter.api import Campaign
from perturbo.space import Float, SearchSpace
from perturbo.types import PerturboError

SPACE = SearchSpace([Float("x", 0.0, 1.0)])


def _campaign(**kw) -> Campaign:
    seen: dict[float, list[int]] = {}

    def train(params, report):
        epochs = seen.setdefault(params["x"], [])
        for e in range(1, 10):
            epochs.append(e)
            if not report(e, params["x"]):
                break
        return {"acc": params["x"]}

    c = Campaign(train, space=SPACE, objective="acc", direction="max", max_epochs=9, **kw)
    c.seen = seen  # type: ignore[attr-defined]
    return c


def test_min_epochs_reaches_the_asha_rungs() -> None:
    c = _campaign(asha=True, min_epochs=3, trials=8, batch=1, planner="random", seed=0)
    rungs = c.parts().executor_factory.rungs
    assert (rungs.min_epochs, rungs.max_epochs) == (3, 9)
    c.run()
    stopped = [max(e) for e in c.seen.values() if max(e) < 9]
    assert stopped and all(e == 3 for e in stopped), c.seen  # the first rung: epoch 3, not 1


def test_min_epochs_is_checked_as_the_cli_checks_it() -> None:
    with pytest.raises(PerturboError, match="--min-epochs 9 is not below --max-epochs 9"):
        _campaign(asha=True, min_epochs=9).parts()
    with pytest.raises(PerturboError, match="min_epochs"):
        _campaign(asha=True, min_epochs=0).parts()
    with pytest.warns(UserWarning, match=r"--min-epochs 3 .* --asha is off"):
        _campaign(min_epochs=3).parts()
