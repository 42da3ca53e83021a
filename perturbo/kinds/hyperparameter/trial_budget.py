"""How much training a hyperparameter trial gets, checked when a campaign is built: mf-bo's
fidelity parameter (the one a trial's cost grows with) and ASHA's rungs (epochs at which a
poor trial is stopped). Every setting is checked here, on the driver, before any trial runs:
a bad one is one :class:`~perturbo.types.PerturboError` naming the flag and the fix, never a
failure of every trial once the user's code has started.
"""

from __future__ import annotations

import uuid
import warnings
from typing import TYPE_CHECKING, Any

from perturbo.types import PerturboError

if TYPE_CHECKING:
    from perturbo.space import SearchSpace

_FIDELITY_EXAMPLE = 'e.g. [data_fraction] type = "float", low = 0.05, high = 1.0'


def with_epochs(space: SearchSpace, max_epochs: int) -> SearchSpace:
    """``space`` plus ``Int("epochs", 1, max_epochs)`` (a built-in task trained over epochs,
    for ``--planner mf-bo``), unless it has a fidelity parameter already."""
    from perturbo.search.fidelity import find_fidelity
    from perturbo.space import Int, SearchSpace

    if find_fidelity(space) is not None:
        return space
    return SearchSpace([*space.params, Int("epochs", 1, max_epochs)])


def fidelity_top(space: SearchSpace, name: str | None) -> tuple[str, float] | None:
    """(mf-bo's fidelity param, its top value), or None where the space has none."""
    from perturbo.search.fidelity import fidelity_ladder, find_fidelity

    found = find_fidelity(space, name)
    return None if found is None else (found, float(fidelity_ladder(space[found])[-1]))


def check_fidelity(name: str, planner: str, space: SearchSpace) -> None:
    """``--fidelity NAME``: only mf-bo trades on a fidelity, and NAME must be a parameter of
    the space it can trade on (numeric, positive, never conditional: every trial needs one)."""
    from perturbo.search.fidelity import find_fidelity

    if planner != "mf-bo":
        raise PerturboError(
            f"--fidelity names the parameter --planner mf-bo trades cost on; --planner {planner} "
            "runs every trial as given: use --planner mf-bo, or drop --fidelity"
        )
    if name not in space.names:
        raise PerturboError(
            f"--fidelity {name!r}: the space has no parameter {name!r} (its parameters: "
            f"{', '.join(space.names)}); add it to --space, {_FIDELITY_EXAMPLE}"
        )
    param = space[name]
    if param.when:
        cond = " and ".join(f"{k} in {list(v)}" for k, v in param.when)
        raise PerturboError(
            f"--fidelity {name!r}: the fidelity parameter must not be conditional (every trial "
            f"needs one), and {name!r} is only active when {cond}: remove its `when` in --space, "
            "or name another parameter"
        )
    try:
        find_fidelity(space, name)
    except ValueError:
        raise PerturboError(
            f"--fidelity {name!r}: the fidelity must be a positive number (an int or float "
            f"with high > 0, or an ordered categorical of numbers), and {name!r} is "
            f"{_described(param)}: change it in --space, or name another parameter"
        ) from None


def _described(param: Any) -> str:
    d = param.describe()
    if "choices" in d:
        return f"a {d['type']} of {list(d['choices'])}" + (
            "" if d.get("ordered") else " (unordered)"
        )
    return f"a {d['type']} in [{d['low']:g}, {d['high']:g}]"


def check_asha(cfg: Any, max_epochs: int, objectives: tuple[str, ...], desirability: bool) -> None:
    """Every ASHA setting of campaign settings ``cfg`` against the task's ``max_epochs`` and
    the campaign's objectives, before anything runs (:class:`perturbo.search.asha.ASHA` would
    refuse them only inside the first trial). Without ``--asha``, an ASHA-only setting that
    differs from its default is said (it would do nothing), not refused: a recorded config
    resumes as it ran."""
    from perturbo.kinds.hyperparameter.settings import DEFAULTS

    if not cfg.asha:
        ignored = [
            f"--{k.replace('_', '-')} {getattr(cfg, k):g}"
            for k in ("min_epochs", "eta")
            if getattr(cfg, k) != DEFAULTS[k]
        ]
        if ignored:
            warnings.warn(
                f"{' and '.join(ignored)} {'set' if len(ignored) > 1 else 'sets'} ASHA's rungs, "
                "and --asha is off, so nothing uses "
                f"{'them' if len(ignored) > 1 else 'it'}: add --asha, or drop "
                f"{'them' if len(ignored) > 1 else 'it'}",
                stacklevel=3,
            )
        return
    if cfg.planner == "mf-bo":
        # both would decide each trial's epochs: ASHA's rungs stopped every mf-bo proposal
        # after the first at once (seen: 5 of 6 pruned in 5 ms, the best a 1-epoch trial)
        raise PerturboError(
            "--asha and --planner mf-bo both decide how many epochs a trial gets (mf-bo "
            "proposes each trial's epochs itself): drop --asha, or use --planner bo --asha"
        )
    if desirability:
        raise PerturboError(
            "--asha stops trials on one raw objective, not on --desirability's "
            "combination: drop --asha, or --desirability"
        )
    if len(objectives) > 1:
        raise PerturboError(
            f"--asha stops trials on one objective, and --objective names {len(objectives)} "
            f"({','.join(objectives)}): drop --asha, or name one objective"
        )
    if max_epochs < 2:
        raise PerturboError(
            f"--asha needs a task trained over epochs; {cfg.task!r} has none "
            f"(use digits-cnn or an -mlp task, or --max-epochs for your function)"
        )
    if cfg.min_epochs >= max_epochs:
        whose = (
            f"--max-epochs {max_epochs}"
            if cfg.max_epochs is not None
            else f"the {max_epochs} epochs of task {cfg.task!r} (its default)"
        )
        raise PerturboError(
            f"--min-epochs {cfg.min_epochs} is not below {whose}: ASHA's first rung comes "
            f"after --min-epochs epochs, so no trial could be stopped early; use --min-epochs "
            f"{max_epochs - 1} or less, or --max-epochs {cfg.min_epochs + 1} or more"
        )


def asha_rungs(cfg: Any, max_epochs: int, direction: str, campaign: str) -> Any:
    """The campaign's shared ASHA rung keeper (None without ``--asha``); its settings are
    checked first (:func:`check_asha`)."""
    if not cfg.asha:
        return None
    from perturbo.actors.rungs import SharedRungs

    return SharedRungs(
        f"{campaign}-{uuid.uuid4().hex[:8]}", max_epochs, cfg.min_epochs, cfg.eta, direction
    )


__all__ = ["asha_rungs", "check_asha", "check_fidelity", "fidelity_top", "with_epochs"]
