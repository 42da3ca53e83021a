"""benchmarks/bo_outlier_probe.py: the planner is told the blown-up value, the regret is the
true values'."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.append(str(Path(__file__).resolve().parents[2] / "benchmarks"))  # after the packages
import bo_outlier_probe as probe  # noqa: E402

from perturbo.search.bo import BOPlanner


def test_the_planner_sees_the_outlier_and_the_regret_does_not(monkeypatch) -> None:
    monkeypatch.setattr(probe, "EVALS", 4)  # one batch: the Sobol' design, blind to values
    told: list[float] = []
    real = BOPlanner.tell

    def spy(self, observations):
        told.extend(o.outcome.metrics["value"] for o in observations)
        return real(self, observations)

    monkeypatch.setattr(BOPlanner, "tell", spy)
    clean = probe.run("branin", 0, False, {})
    assert max(told) < 400  # branin's values on its box
    monkeypatch.setattr(probe, "AT", told.index(min(told)))  # blow up the run's best value
    told.clear()
    blown = probe.run("branin", 0, True, {})
    assert max(told) >= probe.BLOW_UP and sum(v >= probe.BLOW_UP for v in told) == 1
    assert blown == pytest.approx(clean)  # the regret is computed from the true values
