"""``benchmarks/planner_time.py``'s rows for ``bo``'s Pareto mode (moved out of it): two,
three and four objectives on the protocol's mixed 6-D space, qLogNEHVI (the default) and
qLogNParEGO (the option), and two baseline rows timing older code in the same run (BoTorch's
own Pareto mask pruning the baseline, before search/pareto_baseline.py; GPyTorch's joint
posterior, BoTorch's PyTorch box decompositions and its Pareto mask for three objectives,
before search/baseline_posterior.py, search/fast_boxes.py and
``pareto_baseline.non_dominated_many``). Each computes the same acquisition as today's code (the second to
rounding: docs/findings/hyperparameter.md, session 24)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from planner_protocol import mixed_space, time_both

__all__ = ["PARETO_ROWS", "before_session_24"]


def _bo_two_objectives() -> dict[str, Any]:
    """``bo`` in its Pareto mode (qLogNEHVI): ``value`` up and ``size`` down."""
    from perturbo.search.bo import BOPlanner

    space = mixed_space()
    planner = BOPlanner(space, "toy", 0, objective=("value", "size"), direction=("max", "min"))
    return time_both(planner, space)


def _bo_three_objectives() -> dict[str, Any]:
    """``bo``'s Pareto mode with three objectives: ``value`` up, ``size`` and ``latency``
    down (the box decompositions and the pruned baseline grow with the front)."""
    from perturbo.search.bo import BOPlanner

    space = mixed_space()
    planner = BOPlanner(
        space, "toy", 0, objective=("value", "size", "latency"), direction=("max", "min", "min")
    )
    return time_both(planner, space)


def _bo_objectives(m: int, mo_acq: str = "nehvi") -> Callable[[], dict[str, Any]]:
    """``bo``'s Pareto mode on the first ``m`` of ``value`` (up), ``size``, ``latency`` and
    ``memory`` (down), its acquisition ``mo_acq`` (search/bo_multi.py)."""

    def run() -> dict[str, Any]:
        from perturbo.search.bo import BOPlanner

        names = ("value", "size", "latency", "memory")[:m]
        space = mixed_space()
        direction = ("max", "min", "min", "min")[:m]
        return time_both(BOPlanner(space, "toy", 0, objective=names, direction=direction,
                                   mo_acq=mo_acq), space)  # fmt: skip

    return run


def _bo_two_objectives_botorch_mask() -> dict[str, Any]:
    """``bo``'s Pareto mode with BoTorch's ``is_non_dominated`` pruning its baseline, as before
    search/pareto_baseline.py (the same proposals)."""
    from unittest import mock

    from botorch.utils.multi_objective.pareto import is_non_dominated

    from perturbo.search import pareto_baseline

    botorchs = lambda Y: is_non_dominated(Y, deduplicate=False)  # noqa: E731
    with mock.patch.object(pareto_baseline, "non_dominated_2d", botorchs):
        return _bo_two_objectives()


def before_session_24() -> contextlib.ExitStack:
    """Inside: ``bo``'s Pareto mode as before session 24: GPyTorch's joint posterior
    recomputing the baseline's rows at every evaluation (before search/baseline_posterior.py),
    BoTorch's box decompositions in PyTorch (before search/fast_boxes.py) and BoTorch's Pareto
    mask when pruning the baseline (before ``pareto_baseline.non_dominated_many``). Also
    ``benchmarks/pareto_speed_check.py``'s "before" arm."""
    from unittest import mock

    from botorch.acquisition.multi_objective.logei import (
        qLogNoisyExpectedHypervolumeImprovement as plain,
    )
    from botorch.utils.multi_objective.pareto import is_non_dominated

    from perturbo.search import bo, fast_boxes, pareto_baseline

    stack = contextlib.ExitStack()
    stack.enter_context(mock.patch.object(bo, "cached_baseline", contextlib.nullcontext))
    stack.enter_context(mock.patch.object(fast_boxes, "NumpyBoxesNEHVI", plain))
    botorchs = lambda Y: is_non_dominated(Y, deduplicate=False)  # noqa: E731
    stack.enter_context(mock.patch.object(pareto_baseline, "non_dominated_many", botorchs))
    return stack


def _bo_objectives_uncached(m: int) -> Callable[[], dict[str, Any]]:
    """``_bo_objectives(m)`` under :func:`before_session_24`."""

    def run() -> dict[str, Any]:
        with before_session_24():
            return _bo_objectives(m)()

    return run


BO_TWO_ROW = ("bo, 2 objectives (Pareto)", "mixed 6-D: value up, size down", _bo_two_objectives)
BO_THREE_ROW = (
    "bo, 3 objectives (Pareto)", "mixed 6-D: value up, size and latency down",
    _bo_three_objectives,
)  # fmt: skip
BO_MANY_ROWS = [
    ("bo, 3 objectives, qLogNParEGO (option)", "mixed 6-D: value up, size and latency down",
     _bo_objectives(3, "parego")),
    ("bo, 4 objectives (Pareto)", "mixed 6-D: value up, size, latency, memory down",
     _bo_objectives(4)),
    ("bo, 4 objectives, qLogNParEGO (option)", "mixed 6-D: value up, size, latency, memory down",
     _bo_objectives(4, "parego")),
]  # fmt: skip
BO_TWO_MASK_ROW = (
    "bo, 2 objectives, BoTorch's Pareto mask (baseline)", "mixed 6-D: value up, size down",
    _bo_two_objectives_botorch_mask,
)  # fmt: skip
BO_UNCACHED_ROW = (
    "bo, 3 objectives, before session 24 (baseline)",
    "mixed 6-D: value up, size and latency down", _bo_objectives_uncached(3),
)  # fmt: skip
PARETO_ROWS = [BO_TWO_ROW, BO_THREE_ROW, *BO_MANY_ROWS, BO_UNCACHED_ROW, BO_TWO_MASK_ROW]
