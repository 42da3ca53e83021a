"""Pending points told to an acquisition only when it is next evaluated.

A sequential greedy batch (BoTorch's ``optimize_acqf_mixed_alternating`` with ``q > 1``, and
:func:`perturbo.search.bo_continuous.optimize_continuous`) calls ``set_X_pending`` after every
pick, the last one included, and then once more to restore the pending points it started with.
For qLogNEHVI each call that adds points recomputes a box decomposition of the baseline under
every MC sample (``_set_cell_bounds``): with three and four objectives that is the costliest
step of an ask (cProfile of ``planner_time.py``'s four-objective row at 200 observations: five
decompositions of 32 samples, 8 of the ask's ~16 CPU s), and the one after the last pick is
never used. :func:`defer_pending` postpones each ``set_X_pending`` to the acquisition's next
forward call, so a call that no evaluation follows costs nothing. The acquisition sees the
same pending points at every evaluation it makes, so it proposes the same points
(docs/findings/hyperparameter.md, session 23; ``tests/search/test_lazy_pending.py``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["defer_pending"]


def defer_pending(acq: Any) -> Any:
    """``acq`` (a BoTorch acquisition, an ``nn.Module``) with ``set_X_pending`` deferred to its
    next forward call; the last value given wins. Returns ``acq``."""
    apply = acq.set_X_pending
    due: list[Any] = []

    def set_X_pending(X_pending: Any = None) -> None:  # noqa: N802, N803 (BoTorch's names)
        due[:] = [X_pending]

    def before_forward(_module: Any, _args: Any) -> None:
        if due:
            apply(due.pop())

    acq.set_X_pending = set_X_pending
    acq.register_forward_pre_hook(before_forward)
    return acq
