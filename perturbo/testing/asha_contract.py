"""The contract of an ASHA rung keeper: :class:`~perturbo.search.asha.ASHA`, and the handle the
workers share (:class:`~perturbo.actors.rungs.SharedRungs`, in-process without Ray).

ASHA proposes nothing (it is no planner): it decides, epoch by epoch, whether a trial goes
on. So the planner contract's checks do not apply; these do, with Optuna's pruner tests
(``tests/pruners_tests/test_successive_halving.py``) as the yardstick: rungs at
``min_epochs * eta**k`` below ``max_epochs`` (its ``min_resource``/``reduction_factor``), the
first trial at a rung goes on (its bootstrap count 0), a trial goes on only in the top
``1/eta`` of those before it, a NaN stops it (``test_successive_halving_pruner_with_nan``),
the direction honoured (``min`` on ``v`` = ``max`` on ``-v``). Added: a retried trial's report
replaces its value, and a rung keeper rebuilt from the recorded history decides the next
trials exactly as the one that saw the campaign live (resume).

``make(max_epochs, min_epochs, eta, direction)`` builds a fresh keeper with ``report(trial_id,
epoch, value) -> bool``, ``seed(history) -> int`` (recorded observations) and ``stats()``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from perturbo.types import ExperimentSpec, Observation, Outcome, Status


class Rungs(Protocol):
    def report(self, trial_id: str, epoch: int, value: float) -> bool: ...

    def seed(self, history: Sequence[Observation]) -> int: ...

    def stats(self) -> list[Any]: ...


MakeRungs = Callable[..., Rungs]


def _reached(rungs: Rungs) -> dict[int, int]:
    return {s.epoch: s.n_reached for s in rungs.stats()}


def check_rungs_where_promised(make: MakeRungs) -> None:
    """Rungs at ``min_epochs * eta**k`` below ``max_epochs``; a report at another epoch goes
    on and is not recorded; at a rung it is."""
    assert list(_reached(make(27, 1, 3.0, "max"))) == [1, 3, 9]
    assert list(_reached(make(20, 2, 2.0, "max"))) == [2, 4, 8, 16]
    assert list(_reached(make(5, 5, 3.0, "max"))) == []
    rungs = make(27, 1, 3.0, "max")
    assert rungs.report("a", 2, -1e9), "a report between rungs stopped the trial"
    assert _reached(rungs) == {1: 0, 3: 0, 9: 0}
    rungs.report("a", 3, 0.5)
    assert _reached(rungs) == {1: 0, 3: 1, 9: 0}


def check_top_fraction_goes_on(make: MakeRungs) -> None:
    """The first trial at a rung goes on; a trial better than every one before it goes on; one
    worse than every one before it stops; in a mixed order a trial goes on only in the top
    ``1/eta`` of those before it (eta 2: the upper half; eta 3: the upper third)."""
    rungs = make(9, 1, 3.0, "max")
    assert all(rungs.report(f"up{i}", 1, float(i)) for i in range(6)), "a best-so-far stopped"
    rungs = make(9, 1, 3.0, "max")
    went = [rungs.report(f"down{i}", 1, float(-i)) for i in range(6)]
    assert went == [True] + [False] * 5, f"worst-so-far trials went on: {went}"
    for eta, stop, go in ((2.0, 14.0, 16.0), (3.0, 18.0, 22.0)):  # cut-off 15, then 20
        rungs = make(9, 1, eta, "max")
        for i, v in enumerate((0.0, 10.0, 20.0, 30.0)):
            rungs.report(f"t{i}", 1, v)
        assert not rungs.report("low", 1, stop), f"eta {eta}: {stop} of 0,10,20,30 went on"
        assert rungs.report("high", 1, go), f"eta {eta}: {go} of 0,10,20,30,{stop} stopped"


def _decisions(rungs: Rungs, reports: Sequence[tuple[str, int, float]]) -> list[bool]:
    return [rungs.report(t, e, v) for t, e, v in reports]


def _reports(seed: int, n: int = 40) -> list[tuple[str, int, float]]:
    rng = random.Random(seed)
    return [(f"t{rng.randrange(12)}", rng.choice((1, 3, 9)), rng.uniform(-1, 1)) for _ in range(n)]


def check_direction(make: MakeRungs) -> None:
    """``min`` on ``v`` decides exactly as ``max`` on ``-v``, report by report."""
    reports = _reports(1)
    a = _decisions(make(27, 1, 3.0, "max"), [(t, e, -v) for t, e, v in reports])
    b = _decisions(make(27, 1, 3.0, "min"), reports)
    assert a == b, f"max on -v and min on v differ:\n{a}\n{b}"
    assert True in a and False in a, "the reports decided nothing either way"


def check_bad_values(make: MakeRungs) -> None:
    """NaN and inf stop the trial and are not recorded: the next trial is judged against the
    finite values alone (at an empty rung: it goes on)."""
    rungs = make(27, 1, 3.0, "max")
    assert not rungs.report("nan", 1, math.nan) and not rungs.report("inf", 1, -math.inf)
    assert _reached(rungs)[1] == 0, "a NaN/inf value was recorded at the rung"
    assert rungs.report("first", 1, -5.0), "the first finite value at the rung stopped"


def check_retry_replaces(make: MakeRungs) -> None:
    """A retried trial's report at a rung replaces its earlier value (counted once, not judged
    against itself)."""
    rungs = make(27, 1, 3.0, "max")
    assert rungs.report("a", 1, 1.0) and rungs.report("a", 1, -1.0), "judged against itself"
    assert _reached(rungs)[1] == 1, "a retried report counted twice"
    assert not rungs.report("b", 1, -2.0)
    assert rungs.report("c", 1, -0.5), "the retried trial's first value was kept"


def _campaign(make: MakeRungs, n: int, seed: int) -> tuple[Rungs, list[Observation]]:
    """``n`` trials reported epoch by epoch until stopped or done, recorded as the loop does
    (per-epoch values, PRUNED where stopped)."""
    rng = random.Random(seed)
    rungs = make(9, 1, 3.0, "max")
    history = []
    for i in range(n):
        base, values, status = rng.uniform(0, 1), [], Status.COMPLETED
        for epoch in range(1, 10):
            v = base + 0.05 * epoch + rng.gauss(0, 0.02)
            values.append(v)
            if not rungs.report(f"old{i}", epoch, v):
                status = Status.PRUNED
                break
        spec = ExperimentSpec({"i": i}, "toy", id=f"old{i}")
        history.append(Observation(spec, Outcome(status, {"value": values[-1]}, tuple(values))))
    return rungs, history


def check_resume(make: MakeRungs) -> None:
    """A keeper seeded with the recorded history holds the same rungs (entries and stops) as
    the one that saw the campaign live, and decides the next trials exactly as it does."""
    live, history = _campaign(make, 14, seed=5)
    rebuilt = make(9, 1, 3.0, "max")
    n = rebuilt.seed(history)
    assert n == sum(_reached(live).values()), f"seeded {n} rung entries, live {_reached(live)}"
    assert rebuilt.stats() == live.stats(), f"rebuilt {rebuilt.stats()}\nlive {live.stats()}"
    stopped = sum(s.n_stopped for s in live.stats())
    assert 0 < stopped < len(history), f"the campaign stopped {stopped} of {len(history)}"
    nxt = [(f"new{i}", e, 0.1 * i + 0.05 * e) for i in range(8) for e in (1, 3)]
    a, b = _decisions(live, nxt), _decisions(rebuilt, nxt)
    assert a == b, f"rebuilt from the history it decides\n{b}\nlive\n{a}"


ASHA_CONTRACT: tuple[Callable[[MakeRungs], None], ...] = (
    check_rungs_where_promised,
    check_top_fraction_goes_on,
    check_direction,
    check_bad_values,
    check_retry_replaces,
    check_resume,
)
"""Every check, each called as ``check(make)``."""

__all__ = [
    "ASHA_CONTRACT",
    "MakeRungs",
    "Rungs",
    "check_bad_values",
    "check_direction",
    "check_resume",
    "check_retry_replaces",
    "check_rungs_where_promised",
    "check_top_fraction_goes_on",
]
