"""A campaign whose first experiments all failed the same way stops (fail-fast), but an
objective that is NaN or inf for diverged configs (a log-lr sweep) is a per-config result,
not a bug: it stopped after 4 trials of 20 with "all 4 experiments so far failed the same
way". Now such a campaign goes on until far more evidence (max(12, a quarter of the budget)
experiments all non-finite), and says the objective never returned a finite value."""

from __future__ import annotations

import math
import warnings

import pytest

from perturbo.history import History
from perturbo.schedule import NONFINITE_FAILURES, SAME_FAILURES, Steps, nonfinite_failure
from perturbo.types import ExperimentSpec, Observation, PerturboError, failed

NAN = "objective 'value' is nan (diverged or invalid)"
INF = "objective 'value' is inf (diverged or invalid)"


def _history(*reasons: str) -> History:
    return History(
        [
            Observation(ExperimentSpec({"x": i}, "random", id=f"r001-{i:04d}"), failed(r))
            for i, r in enumerate(reasons)
        ]
    )


def _steps(history: History, budget: int | None = None) -> Steps:
    return Steps(planner=None, pool=None, space=None, history=history, budget=budget)  # type: ignore[arg-type]


def test_the_reasons_told_apart() -> None:
    assert nonfinite_failure(NAN) and nonfinite_failure(INF)
    assert nonfinite_failure("objective 'loss' is -inf (diverged or invalid)")
    assert not nonfinite_failure("ValueError: bad config")
    assert not nonfinite_failure("objective 'value' is not a number: 'abc'")


def test_a_few_nan_results_do_not_stop_the_campaign() -> None:
    _steps(_history(*[NAN] * SAME_FAILURES)).check_not_all_failing()  # no stop
    _steps(_history(*[NAN, INF] * 5 + [NAN])).check_not_all_failing()  # 11 < 12
    _steps(_history(*[NAN] * 20), budget=100).check_not_all_failing()  # 20 < 100 / 4
    with pytest.raises(PerturboError):  # one step short of each limit above
        _steps(_history(*[NAN] * 25), budget=100).check_not_all_failing()


@pytest.mark.parametrize("budget", [None, 20, 100])
def test_all_nonfinite_after_the_limit_stops_it_naming_how_many(budget: int | None) -> None:
    n = max(NONFINITE_FAILURES, (budget or 0) // 4)
    with pytest.raises(PerturboError) as e:
        _steps(_history(*([NAN, INF] * n)[:n]), budget).check_not_all_failing()
    msg = str(e.value)
    assert f"all {n} experiments" in msg and "never returned a finite value" in msg, msg
    assert "NaN" in msg and "failed the same way" not in msg


def test_a_systematic_failure_still_stops_at_four() -> None:
    with pytest.raises(PerturboError, match="all 4 experiments so far failed the same way"):
        _steps(_history(*["ValueError: always broken"] * SAME_FAILURES)).check_not_all_failing()


def test_campaign_whose_first_configs_diverge_runs_its_budget() -> None:
    """The tester's repro, made certain: the first 6 trials diverge (NaN), later ones do not."""
    import itertools

    from perturbo import Campaign
    from perturbo.space import Float, SearchSpace

    warnings.simplefilter("ignore")
    calls = itertools.count()

    def f(p: dict[str, float]) -> float:
        return math.nan if next(calls) < 6 else p["x"]

    space = SearchSpace([Float("x", 0, 1), Float("y", 0, 1)])
    res = Campaign(f, space=space, planner="random", direction="max", trials=20, batch=2).run()
    assert len(res.history) == 20
    assert sum(o.outcome.ok for o in res.history) == 14
