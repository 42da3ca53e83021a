"""The fidelity parameter of a search space (the one a multi-fidelity planner trades cost on):
which parameter it is, the ladder of values proposed for it, and the warning when there is none.
Light on purpose (no torch): the hyperparameter kind asks it before any planner is built."""

from __future__ import annotations

import warnings
from typing import Any

from perturbo.space import Categorical, Float, Int, SearchSpace
from perturbo.types import PerturboError

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


class FidelityError(PerturboError, ValueError):
    """A parameter named as (or like) the fidelity that mf-bo cannot trade on; says the fix.
    A ValueError too, as the lookup raised before."""


def find_fidelity(space: SearchSpace, name: str | None = None) -> str | None:
    """The fidelity parameter's name: ``name`` (checked), else the first of
    :data:`FIDELITY_NAMES` in ``space`` that is numeric; None when there is none. A
    parameter with a fidelity's name that cannot be one (an Int/Float range reaching below
    0 or not above it, an unordered or non-numeric categorical) is refused, naming the fix,
    rather than passed over (mf-bo then said the space had no fidelity parameter)."""
    names = (name,) if name else FIDELITY_NAMES
    for n in names:
        if n not in space.names:
            continue
        p = space[n]
        if isinstance(p, Int | Float) and (p.low < 0 or p.high <= 0):
            raise FidelityError(
                f"mf-bo: the fidelity parameter {n!r} ranges over [{p.low:g}, {p.high:g}], but "
                f"a fidelity must be a positive number (a trial's cost grows with it: epochs, a "
                f"data fraction): give {n!r} bounds with low >= 0 and high > 0 (mf-bo proposes "
                f"high/81 ... high for a float, 1 ... high for an int), or rename it if it is "
                f"not a fidelity"
            )
        numeric = isinstance(p, Int | Float) or (
            isinstance(p, Categorical)
            and p.ordered
            and all(isinstance(c, int | float) and not isinstance(c, bool) for c in p.choices)
        )
        if numeric and not p.when and float(min(fidelity_ladder(p))) > 0:
            return n
        if isinstance(p, Categorical) and not p.when:
            raise FidelityError(
                f"mf-bo: the fidelity parameter {n!r} is a categorical of {list(p.choices)}; a "
                f'fidelity must be an Int or Float range (e.g. {n} = {{ type = "int", low = 1, '
                f"high = 27 }}), or a categorical of positive numbers with ordered = true; "
                f"change {n!r}, or rename it if it is not a fidelity"
            )
        if name:
            raise FidelityError(
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


def tradable_fidelity(space: SearchSpace, name: str | None, eta: float = 3.0) -> str | None:
    """:func:`find_fidelity`, None (warned) where there is none or it has one value: mf-bo
    then runs as plain bo. A one-value range (``[1, 1]``) has nothing to trade, and qMFKG on
    one fidelity is bo with a cost model that changes nothing; it runs rather than stops, as
    the user may have pinned the fidelity on purpose."""
    found = find_fidelity(space, name)
    if found is None:
        warn_no_fidelity()
        return None
    ladder = fidelity_ladder(space[found], eta)
    if len(ladder) > 1:
        return found
    value = ladder[0]
    warnings.warn(
        f"mf-bo: the fidelity parameter {found!r} has one value ({value:g}), so there is no "
        f"cheaper fidelity to trade: it runs as plain bo with every trial at {found} = "
        f"{value:g}; give {found!r} a range (low < high) for multi-fidelity search",
        stacklevel=3,
    )
    return None


__all__ = [
    "FIDELITY_NAMES",
    "FidelityError",
    "fidelity_ladder",
    "find_fidelity",
    "tradable_fidelity",
    "warn_no_fidelity",
]
