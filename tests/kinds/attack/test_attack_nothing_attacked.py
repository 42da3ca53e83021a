"""A campaign where no trial completed attacked nothing: its round metrics must not say
``n_still_robust = 0`` / ``passes_total = 0`` (which reads as "every sample broken")."""

from __future__ import annotations

import numpy as np

from perturbo.kinds.attack.campaign import AttackMetrics
from perturbo.kinds.attack.samples import pack_bits
from perturbo.types import ExperimentSpec, Observation, Outcome, Status, failed


def _failed(i: int) -> Observation:
    spec = ExperimentSpec({"method": "pgd", "samples": ""}, "attack", id=f"r{i}", round=i)
    return Observation(spec, failed("timed out after 0.3 s"))


def test_no_completed_trial_logs_no_robust_count() -> None:
    metrics = AttackMetrics(n=10, eps=0.1, objective="robust_accuracy", direction="min")
    hist = [_failed(i) for i in range(4)]
    out = metrics(hist[-1:], hist)
    assert "n_still_robust" not in out and "passes_total" not in out
    assert "worst_case_robust_accuracy" not in out
    assert out["n_failed"] == 4 and out["n_completed"] == 0


def test_a_completed_trial_logs_them() -> None:
    metrics = AttackMetrics(n=10, eps=0.1, objective="robust_accuracy", direction="min")
    bad = np.zeros(10, bool)
    bad[:3] = True
    done = Observation(
        ExperimentSpec({"method": "pgd", "samples": ""}, "attack", id="ok", round=1),
        Outcome(Status.COMPLETED, {"robust_accuracy": 0.7, "passes": 50.0, **pack_bits(bad)}),
    )
    hist = [_failed(0), done]
    out = metrics([done], hist)
    assert out["n_still_robust"] == 7 and out["passes_total"] == 50
    assert out["worst_case_robust_accuracy"] == 0.7
