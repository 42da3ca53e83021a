"""``--objective min-eps`` says its answer: the smallest eps that reached the success target,
or plainly that none did (with the best success rate and its eps). Its ``eps_score`` alone is
a penalty where no config reached the target (0.2232 read as an eps)."""

from __future__ import annotations

from typing import Any

from perturbo.kinds.attack.campaign import AttackMetrics
from perturbo.kinds.attack.executor import eps_score
from perturbo.types import ExperimentSpec, Observation, Outcome, Status


def _trial(i: int, eps: float, success: float) -> Observation:
    metrics = {"eps": eps, "success_rate": success, "eps_score": eps_score(eps, success, 0.5, 0.1)}
    spec = ExperimentSpec({"method": "pgd", "eps": eps}, "attack", id=f"t{i}", round=i)
    return Observation(spec, Outcome(Status.COMPLETED, metrics))


class _Planner:
    stopped_by = "trial budget spent"


def _end(hist: list[Observation], capsys: Any) -> tuple[dict[str, float], dict[str, str], str]:
    metrics = AttackMetrics(
        n=10, eps=0.1, objective="eps_score", direction="min", planner=_Planner(),
        target_success=0.5,
    )  # fmt: skip
    out = metrics([], hist)
    return dict(out), out.params, capsys.readouterr().err


def test_none_reached_the_target_is_said_plainly(capsys: Any) -> None:
    out, params, err = _end([_trial(0, 0.08, 0.268), _trial(1, 0.05, 0.1)], capsys)
    assert "min_eps_at_target" not in out
    assert out["best_success_rate"] == 0.268 and out["best_success_rate_eps"] == 0.08
    line = "no config reached 50% success at eps <= 0.1; the best was 26.8% at eps 0.08"
    assert line in err and line in params["min_eps_result"]


def test_the_smallest_eps_reaching_the_target(capsys: Any) -> None:
    hist = [_trial(0, 0.09, 0.7), _trial(1, 0.06, 0.55), _trial(2, 0.03, 0.2)]
    out, params, err = _end(hist, capsys)
    assert out["min_eps_at_target"] == 0.06 and out["best_success_rate"] == 0.7
    assert "smallest eps reaching 50% success: 0.06 (experiment t1)" in err
    assert params["min_eps_result"].startswith("smallest eps reaching 50% success: 0.06")


def test_min_eps_leads_the_headline() -> None:
    from perturbo.kinds.attack import KIND

    assert KIND.headline[:2] == ("min_eps_at_target", "best_success_rate")
