"""The fidelity parameter of a search space (the one a multi-fidelity planner trades cost on):
which parameter it is, the ladder of values proposed for it, and the warning when there is none.
Light on purpose (no torch): the hyperparameter kind asks it before any planner is built."""

from __future__ import annotations

import warnings
from typing import Any

from perturbo.space import Categorical, Float, Int, SearchSpace

FIDELITY_NAMES = ("epochs", "fidelity", "max_epochs", "n_epochs")
"""Parameter names taken as the fidelity when ``fidelity`` is not given."""


def fidelity_ladder(param: Any, eta: float = 3.0) -> tuple[float, ...]:
    """The fidelities proposed for ``param``: an ordered categorical's choices, else
    ``low * eta**k`` below ``high``, then ``high`` (ints rounded, deduplicated)."""
    if isinstance(param, Categorical):
        return tuple(sorted(float(c) for c in param.choices))
    lo, hi = float(param.low), float(param.high)
    lo = max(lo, 1.0 if isinstance(param, Int) else hi / 81.0)
    out, r = [], lo
    while r < hi:
        # 12 significant digits: a data fraction is recorded as 0.15, not 0.15000000000000002
        out.append(round(r) if isinstance(param, Int) else float(f"{r:.12g}"))
        r *= eta
    return tuple(sorted({float(v) for v in (*out, hi)}))


def find_fidelity(space: SearchSpace, name: str | None = None) -> str | None:
    """The fidelity parameter's name: ``name`` (checked), else the first of
    :data:`FIDELITY_NAMES` in ``space`` that is numeric; None when there is none."""
    names = (name,) if name else FIDELITY_NAMES
    for n in names:
        if n not in space.names:
            continue
        p = space[n]
        numeric = isinstance(p, Int | Float) or (
            isinstance(p, Categorical)
            and p.ordered
            and all(isinstance(c, int | float) and not isinstance(c, bool) for c in p.choices)
        )
        if numeric and not p.when and float(min(fidelity_ladder(p))) > 0:
            return n
        if name:
            raise ValueError(
                f"fidelity parameter {name!r} must be a positive number without 'when'"
            )
    if name:
        raise ValueError(f"the space has no fidelity parameter {name!r}")
    return None


def warn_no_fidelity() -> None:
    """Said, not silent: a user who asked for multi-fidelity gets single-fidelity BO."""
    warnings.warn(
        "mf-bo: the space has no fidelity parameter (a positive number named "
        f"{' or '.join(FIDELITY_NAMES)}), so it runs as plain bo: pick a task trained "
        "over epochs, add an 'epochs' parameter to --space, or name the parameter a trial's "
        "cost grows with (--fidelity NAME)",
        stacklevel=3,
    )


__all__ = ["FIDELITY_NAMES", "fidelity_ladder", "find_fidelity", "warn_no_fidelity"]
