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

    space = _space_of(cfg)
    check_max_epochs(cfg, space)
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
    _check_reports(cfg, max_epochs)
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

    _check_own_epochs(cfg, space, max_epochs)


_EPOCH_NAMES = ("epochs", "max_epochs", "n_epochs")
"""Fidelity names that count epochs (``fidelity`` itself may be anything a cost grows with)."""


def _space_of(cfg: Any) -> SearchSpace | None:
    """The campaign's own ``--space`` (None: the task's), read as the campaign reads it."""
    from perturbo.space import SearchSpace

    if not cfg.space:
        return None
    if isinstance(cfg.space, dict):
        return SearchSpace.from_dict(cfg.space)
    return SearchSpace.from_toml(cfg.space)


def _epoch_param(space: SearchSpace | None, name: str | None = None) -> tuple[str, float] | None:
    """(the space's epoch-counting fidelity param, its top), or None."""
    if space is None:
        return None
    try:
        top = fidelity_top(space, name)
    except ValueError:  # a bad --fidelity: check_fidelity says so
        return None
    return top if top is not None and top[0] in _EPOCH_NAMES else None


def check_max_epochs(cfg: Any, space: SearchSpace | None) -> None:
    """``--planner mf-bo --max-epochs N`` with an epochs parameter in ``--space``: mf-bo
    proposes that parameter's values up to its ``high``, and nothing reads ``--max-epochs``
    (seen: ``--max-epochs 9`` ignored, trials of 27 epochs). Refused rather than capped: the
    space is the user's statement of the range, and silently narrowing it would be a second
    surprise; where the two agree there is nothing to refuse."""
    if cfg.planner != "mf-bo" or cfg.max_epochs is None:
        return
    found = _epoch_param(space, getattr(cfg, "fidelity", None))
    if found is None or found[1] == cfg.max_epochs:
        return
    name, top = found
    raise PerturboError(
        f"--max-epochs {cfg.max_epochs} and --space's {name!r} (up to {top:g}) both set a full "
        f"trial's epochs, and --planner mf-bo proposes {name!r} from the space: set high = "
        f"{cfg.max_epochs} for {name!r} in --space, or drop --max-epochs"
    )


def _check_reports(cfg: Any, max_epochs: int) -> None:
    """``--asha`` on a user's function that takes no ``report``: ASHA can stop nothing and
    sees no epoch, so every trial trains in full while the campaign says ASHA ran (seen:
    ``epochs_saved_frac 1`` with nothing saved)."""
    if ":" not in cfg.task or not cfg.allow_user_code:
        return
    from perturbo.kinds.hyperparameter.tasks import takes_report, user_function

    fn = user_function(cfg.task)
    if takes_report(fn):
        return
    label = cfg.task.partition(":")[2]
    upto = f"--max-epochs {max_epochs}" if max_epochs else "--max-epochs N"
    raise PerturboError(
        f"--asha stops a trial through the function's `report` argument, and {label}() takes "
        f"none, so no trial could be stopped: write def {label}(params, report), call "
        f"report(epoch, value) after each epoch (value: the objective so far) and stop when it "
        f"returns False, training at most {upto} epochs; or drop --asha"
    )


def _check_own_epochs(cfg: Any, space: SearchSpace | None, max_epochs: int) -> None:
    """``--asha`` with an epochs parameter in ``--space``: each trial would train that many
    epochs while ASHA's rungs and savings assume ``max_epochs``, as with ``--planner mf-bo``
    (refused above): two things deciding a trial's epochs."""
    found = _epoch_param(space)
    if found is None:
        return
    raise PerturboError(
        f"--asha decides how many epochs a trial gets (up to {max_epochs}, stopping poor ones "
        f"early), and --space has its own {found[0]!r} parameter (up to {found[1]:g}) that "
        f"each trial would train instead: remove {found[0]!r} from --space, or drop --asha "
        "(--planner mf-bo chooses it per trial)"
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


__all__ = [
    "asha_rungs",
    "check_asha",
    "check_fidelity",
    "check_max_epochs",
    "fidelity_top",
    "with_epochs",
]
