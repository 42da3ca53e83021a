"""The contract every kind's :class:`~perturbo.protocols.Executor` meets.

``run(spec)`` returns an :class:`~perturbo.types.Outcome`, never raises: a valid spec
completes with the kind's metrics (finite floats); a bad one (unknown subject, missing or
ill-typed params, a config the executor cannot run) comes back not ok, with the error in one
line, and the executor goes on serving valid specs; each spec's outcome is its own (what ran
before on the same executor does not change it: an actor serves many specs); where the kind
promises it, the same spec gives the same metrics, from the same executor and from a fresh
one built by the same (picklable) factory, as each Ray actor builds its own; where the kind
stops trials early (ASHA's rungs), a stopped trial is reported PRUNED with the values it
reached, not raised and not failed. Use it from a test module::

    from perturbo.testing.executor_contract import CONTRACT, ExecutorBench
    BENCH = ExecutorBench(MyFactory(...), good=[{...}], bad=[{...}], metrics=("loss",))
    @pytest.mark.parametrize("check", CONTRACT)
    def test_contract(check):
        check(BENCH)
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from perturbo.protocols import Executor
from perturbo.types import ExperimentSpec, Outcome, Status


@dataclass(frozen=True)
class ExecutorBench:
    """What an executor is checked on. ``factory``: a picklable zero-argument callable that
    builds the executor (what the pools ship to actors). ``good``/``bad``: params of specs it
    must complete / refuse. ``metrics``: names every completed outcome carries. ``refuses``:
    the status a bad spec gets (FAILED: it ran and failed; REJECTED: the kind refuses it as
    not of its space, as the genetic executor does an unknown gene). ``deterministic``: same
    spec, same metrics, except the ``volatile`` ones (timings, load counters)."""

    factory: Callable[[], Executor]
    good: Sequence[Mapping[str, Any]]
    bad: Sequence[Mapping[str, Any]]
    metrics: tuple[str, ...]
    refuses: Status = Status.FAILED
    deterministic: bool = True
    volatile: tuple[str, ...] = ()
    kind: str = ""
    stopping: Callable[[], Executor] | None = None
    """A factory for the same executor with an early stopper that stops every trial at its
    first report (``None``: the kind does not stop trials early)."""


def _spec(bench: ExecutorBench, params: Mapping[str, Any], i: int) -> ExperimentSpec:
    return ExperimentSpec(dict(params), bench.kind, id=f"contract-{i:03d}", round=0)


def _run(executor: Executor, spec: ExperimentSpec) -> Outcome:
    try:
        out = executor.run(spec)
    except Exception as e:  # noqa: BLE001 - the contract names what escaped
        raise AssertionError(f"run({dict(spec.params)}) raised {type(e).__name__}: {e}") from e
    assert isinstance(out, Outcome), f"run() returned {type(out).__name__}, not an Outcome"
    return out


def _stable(bench: ExecutorBench, out: Outcome) -> dict[str, float]:
    return {k: v for k, v in out.metrics.items() if k not in bench.volatile}


def check_valid_specs_complete(bench: ExecutorBench) -> None:
    """Every good spec completes with the kind's metrics, all finite floats, and a duration."""
    ex = bench.factory()
    for i, params in enumerate(bench.good):
        out = _run(ex, _spec(bench, params, i))
        assert out.status is Status.COMPLETED, f"{params}: {out.status.value} ({out.error})"
        missing = set(bench.metrics) - set(out.metrics)
        assert not missing, (
            f"{params}: metrics {sorted(missing)} missing from {sorted(out.metrics)}"
        )
        for k, v in out.metrics.items():
            assert isinstance(v, float) and math.isfinite(v), f"{params}: metric {k}={v!r}"
        assert out.duration_s >= 0.0 and not out.error, (out.duration_s, out.error)


def check_bad_specs_are_outcomes(bench: ExecutorBench) -> None:
    """A bad spec never raises: it comes back ``bench.refuses`` with a one-line error, and
    the executor then still completes a good spec."""
    assert bench.bad, "a bench with no bad specs checks nothing"
    ex = bench.factory()
    for i, params in enumerate(bench.bad):
        out = _run(ex, _spec(bench, params, 100 + i))
        assert out.status is bench.refuses, (
            f"{params}: {out.status.value}, expected {bench.refuses.value} ({out.error!r})"
        )
        assert out.error.strip() and "\n" not in out.error.strip(), (
            f"{params}: the error must be one line naming the problem, got {out.error!r}"
        )
        assert not out.ok
    after = _run(ex, _spec(bench, bench.good[0], 999))
    assert after.status is Status.COMPLETED, f"broken after bad specs: {after.error}"


def check_deterministic(bench: ExecutorBench) -> None:
    """Where promised: one spec run twice, and by a fresh executor from the factory shipped
    through pickle (as to a Ray actor), gives the same metrics."""
    factory = pickle.loads(pickle.dumps(bench.factory))
    if not bench.deterministic:
        assert _run(factory(), _spec(bench, bench.good[0], 0)).ok
        return
    ex = bench.factory()
    spec = _spec(bench, bench.good[-1], 7)
    first = _stable(bench, _run(ex, spec))
    assert first == _stable(bench, _run(ex, spec)), "same spec, same executor: other metrics"
    again = _stable(bench, _run(factory(), spec))
    assert first == again, f"a fresh executor gives other metrics:\n{first}\n{again}"


def check_outcome_per_spec(bench: ExecutorBench) -> None:
    """Each spec's outcome is its own: on one executor, the good specs run in reverse order,
    each after a bad one, give the metrics a fresh executor gives each alone (same spec ids:
    an executor may seed by the id, as the attack kind does, so a retried spec reproduces),
    every outcome a new object, and the good specs' metrics differ (the bench can tell
    outcomes apart). Deterministic kinds with two good specs or more."""
    if not bench.deterministic or len(bench.good) < 2:
        return
    specs = [_spec(bench, p, 300 + i) for i, p in enumerate(bench.good)]
    alone = [_stable(bench, _run(bench.factory(), s)) for s in specs]
    assert len({str(sorted(a.items())) for a in alone}) == len(alone), (
        "two good specs give the same metrics: the bench cannot tell outcomes apart"
    )
    ex = bench.factory()
    seen: list[Outcome] = []
    for i in reversed(range(len(specs))):
        if bench.bad:
            _run(ex, _spec(bench, bench.bad[i % len(bench.bad)], 200 + i))
        out = _run(ex, specs[i])
        assert _stable(bench, out) == alone[i], (
            f"{bench.good[i]}: after other specs on the same executor\n{_stable(bench, out)}\n"
            f"alone\n{alone[i]}"
        )
        assert all(out is not o and out.metrics is not o.metrics for o in seen)
        seen.append(out)


def check_stopped_is_pruned(bench: ExecutorBench) -> None:
    """Where the kind stops trials early: a trial its stopper rejects ends PRUNED (not
    failed, nothing raised, no error) with the value it reached at the stop and its metrics
    so far, and the executor then serves the next spec the same way."""
    if bench.stopping is None:
        return
    ex = bench.stopping()
    for i in range(2):
        out = _run(ex, _spec(bench, bench.good[0], 400 + i))
        assert out.status is Status.PRUNED, f"a stopped trial: {out.status.value} ({out.error})"
        assert not out.error, f"a stopped trial is no error: {out.error!r}"
        assert out.metrics and all(math.isfinite(v) for v in out.metrics.values()), out.metrics
        assert len(out.intermediate) == 1, f"stopped at its first report: {out.intermediate}"
        assert all(math.isfinite(v) for v in out.intermediate)


CONTRACT: tuple[Callable[[ExecutorBench], None], ...] = (
    check_valid_specs_complete,
    check_bad_specs_are_outcomes,
    check_outcome_per_spec,
    check_deterministic,
    check_stopped_is_pruned,
)

__all__ = ["CONTRACT", "ExecutorBench"]
