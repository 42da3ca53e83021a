"""The hyperparameter kind's composition: ``build(config, context)`` turns a plain config dict (from flags, a TOML file, or the config logged to
MLflow on resume) into :class:`~perturbo.parts.CampaignParts`. Heavy modules (torch,
BoTorch, Optuna, Ray) are imported inside the functions, so ``--help`` is fast.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from perturbo.kinds.hyperparameter.settings import DEFAULTS, HyperparameterConfig
from perturbo.kinds.hyperparameter.trial_budget import (
    asha_rungs,
    check_asha,
    fidelity_top,
    with_epochs,
)
from perturbo.kinds.hyperparameter.trial_budget import (
    check_fidelity as _check_fidelity,  # perturbo.kinds.hyperparameter.lab imports it here
)
from perturbo.types import PerturboError

if TYPE_CHECKING:
    from perturbo.kindspec import BuildContext
    from perturbo.parts import CampaignParts
    from perturbo.protocols import Planner
    from perturbo.space import SearchSpace

KIND_NAME = "hyperparameter"


def default_name(config: Mapping[str, Any]) -> str:
    c = {**DEFAULTS, **config}
    task = str(c["task"]).replace(":", "-").replace("/", "-")
    return f"hyperparameter-{task}-{c['planner']}-s{c['seed']}"


def _names(value: str | list[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    parts = value.split(",") if isinstance(value, str) else [str(v) for v in value]
    return tuple(p.strip() for p in parts if p.strip())


def objectives_of(
    objective: str | list[str] | None,
    direction: str | list[str] | None,
    task: Any,
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The campaign's objectives and their directions from ``--objective``/``--direction``
    (comma-separated or TOML lists), checked against the metrics ``task`` reports (where it
    declares them: built-in tasks do, user functions cannot). Without ``--direction`` only a
    built-in task's own objective has one (its own); any other objective -- a user
    function's, or another metric of a built-in task -- is refused rather than guessed."""
    names = _names(objective) or (task.objective,)
    dirs = _names(direction)
    known = tuple(getattr(task, "metric_names", lambda: ())())
    for n in names:
        if known and n not in known:
            raise PerturboError(
                f"--objective {n!r} is not a metric of task {task.name!r}; use one of "
                f"{', '.join(known)} (comma-separated for several)"
            )
    if len(set(names)) < len(names):
        raise PerturboError(f"--objective names a metric twice ({','.join(names)}); name each once")
    for d in dirs:
        if d not in ("max", "min"):
            raise PerturboError(
                f"--direction {d!r} is neither max nor min; pass max or min per objective"
            )
    if not dirs:
        if len(names) > 1:
            raise PerturboError(
                f"--objective names {len(names)} metrics ({','.join(names)}) but no --direction: "
                f"pass one max|min each, e.g. --direction {','.join(['max'] * len(names))}"
            )
        if known and names[0] == task.objective:
            dirs = (task.direction,)
        else:
            raise PerturboError(_no_direction(names[0], task, user_code=not known))
    if len(dirs) != len(names):
        raise PerturboError(
            f"--direction gives {_n(len(dirs), 'direction')} ({','.join(dirs)}) for "
            f"{_n(len(names), 'objective')} ({','.join(names)}); pass one max|min per objective, "
            "in the same order"
        )
    return names, dirs


def _n(n: int, noun: str) -> str:
    """``1 objective``, ``2 objectives``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _no_direction(objective: str, task: Any, user_code: bool) -> str:
    """Why a campaign without ``--direction`` is refused: perturbo never guesses whether to
    maximise or minimise a metric (a loss maximised looks like a working campaign)."""
    what = (
        f"the objective {objective!r} of your function {task.name!r} has no known direction"
        if user_code
        else f"--objective {objective!r} is not task {task.name!r}'s own objective "
        f"({task.objective}, {task.direction}imised), so its direction is not known"
    )
    return (
        f"{what}: pass --direction min (e.g. a loss) or --direction max (Python: "
        "direction='min' or 'max'); perturbo never guesses which"
    )


def _desirability_of(spec: Any, given: tuple[str, ...]) -> Any:
    """The campaign's :class:`~perturbo.desirability.Desirabilities` (None without
    ``--desirability``), checked against ``--objective`` where both are given."""
    if not spec:
        return None
    from perturbo.desirability import parse_desirability

    try:
        desire = parse_desirability(spec)
    except PerturboError as e:
        raise PerturboError(f"--{e}") from None
    if given and set(given) != set(desire.names):
        raise PerturboError(
            f"--objective names {','.join(given)} but --desirability has terms for "
            f"{','.join(desire.names)}: give one term per objective (or drop --objective: the "
            "terms name the objectives)"
        )
    return desire


def _desired_objectives(
    desire: Any, given: tuple[str, ...], direction: str | list[str] | None, task: Any
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The raw objectives of a desirability campaign (``--objective``'s order, else the
    terms') and their directions (each term's shape: max, min or target), checked against the
    task's metrics and against ``--direction`` where given."""
    names = given or desire.names
    known = tuple(getattr(task, "metric_names", lambda: ())())
    for n in names:
        if known and n not in known:
            raise PerturboError(
                f"--desirability term {desire.of(n).spec()!r}: {n!r} is not a metric of task "
                f"{task.name!r}; use one of {', '.join(known)}"
            )
    shapes = tuple(desire.of(n).shape for n in names)
    dirs = _names(direction)
    if dirs and (
        len(dirs) != len(names)
        or any(s != "target" and s != d for s, d in zip(shapes, dirs, strict=True))
    ):
        raise PerturboError(
            f"--direction {','.join(dirs)} disagrees with --desirability's shapes "
            f"({','.join(shapes)} for {','.join(names)}): drop --direction (the terms say it)"
        )
    return names, shapes


def _recorded_direction(context: BuildContext | None) -> str | None:
    """The direction a campaign recorded before ``--direction`` was required of a user
    objective (its ``direction`` param): what ``perturbo resume`` of such a campaign keeps."""
    if context is None or context.store is None or not context.campaign:
        return None
    try:
        return context.store.summary(context.campaign).params.get("direction") or None
    except PerturboError:
        return None  # a new campaign: nothing recorded


def _ref_point_of(
    spec: str | list[str], planner: str, objectives: tuple[str, ...], desire: Any
) -> dict[str, float]:
    """``--ref-point``, checked: bo's, with a Pareto front (search/bo_reference.py)."""
    from perturbo.search.bo_reference import parse_thresholds

    if desire is not None:
        raise PerturboError(
            "--ref-point bounds a Pareto front; --desirability optimises one combined "
            "objective (its ranges already say what is worth having): drop one of them"
        )
    if len(objectives) < 2:
        raise PerturboError(
            "--ref-point needs several objectives (a Pareto front), e.g. --objective "
            "val_accuracy,n_params --direction max,min --ref-point val_accuracy=0.9"
        )
    if planner != "bo":
        raise PerturboError(
            f"--ref-point is bo's (qLogNEHVI's reference point); --planner {planner} takes "
            "none: use --planner bo, or drop --ref-point"
        )
    try:
        return parse_thresholds(spec if isinstance(spec, str) else ",".join(spec), objectives)
    except ValueError as e:
        raise PerturboError(f"--ref-point: {e}") from None


def _check_mo_acquisition(
    acq: str, planner: str, objectives: tuple[str, ...], desire: Any, ref_point: Any
) -> None:
    """``--mo-acquisition parego``: bo's, with a Pareto front and no thresholds."""
    if planner != "bo" or len(objectives) < 2 or desire is not None:
        raise PerturboError(
            f"--mo-acquisition {acq} chooses bo's acquisition for a Pareto front: it needs "
            "--planner bo and several objectives without --desirability (e.g. --objective "
            "val_accuracy,n_params --direction max,min); drop it otherwise"
        )
    if ref_point is not None:
        raise PerturboError(
            f"--ref-point sets qLogNEHVI's reference point; --mo-acquisition {acq} has none: "
            "drop one of them"
        )


def make_planner(
    name: str,
    space: SearchSpace,
    seed: int,
    objective: str | tuple[str, ...],
    direction: str | tuple[str, ...],
    config: Mapping[str, Any] | None = None,
    llm: Any = None,
    engine: Any = None,
) -> Planner:
    """The planner ``name`` over ``space`` from the one planner registry
    (:mod:`perturbo.search.registry`); several objectives (tuples) for a multi-objective
    planner. ``config`` (the campaign's) and ``llm`` (a LangChain chat model, for tests) matter
    to ``agent`` only."""
    from perturbo.kinds.hyperparameter.planners import TABLE
    from perturbo.kinds.hyperparameter.tasks import is_noise_free

    objectives = (objective,) if isinstance(objective, str) else tuple(objective)
    directions = (direction,) if isinstance(direction, str) else tuple(direction)
    cfg = dict(config or {})
    if is_noise_free(str(cfg.get("task", ""))):
        cfg["deterministic"] = True
    task = f"tune the hyperparameters of task {cfg.get('task', '?')!r} to {directions[0]}imise {objectives[0]}"
    return TABLE.make(
        name,
        space,
        kind=KIND_NAME,
        seed=seed,
        objectives=objectives,
        directions=directions,
        config=cfg,
        engine=engine,
        llm=llm,
        extra={"task": task},
    )


def uses_local_llm(config: Mapping[str, Any]) -> bool:
    """Whether this campaign's planner runs the embedded model (worth hosting once in Ray)."""
    return config.get("planner") == "agent" and config.get("llm", DEFAULTS["llm"]) == "local"


def build(config: Mapping[str, Any], context: BuildContext | None = None) -> CampaignParts:
    """The parts of one hyperparameter campaign. ``context.engine``: the shared local model
    for ``--planner agent`` (``None``: loaded in this process)."""
    from perturbo.campaign import StopRule
    from perturbo.config import build_model
    from perturbo.kinds.hyperparameter.callables import trial_factory
    from perturbo.kinds.hyperparameter.executor import HyperparameterMetrics, TaskRecipe
    from perturbo.kinds.hyperparameter.space_record import recorded_space
    from perturbo.parts import CampaignParts

    engine = context.engine if context is not None else None
    cfg = (
        config
        if isinstance(config, HyperparameterConfig)
        else build_model(HyperparameterConfig, {}, config, "config")
    )
    cfg, user_space = recorded_space(cfg)  # read once; a resume uses the recorded space
    given, given_dirs = _names(cfg.objective), _names(cfg.direction)
    desire = _desirability_of(cfg.desirability, given)
    if desire is not None:
        given = given or desire.names
    recipe = TaskRecipe(
        task=cfg.task,
        seed=cfg.seed,
        space=user_space.to_dict() if user_space else None,
        allow_user_code=cfg.allow_user_code,
        objective=given[0] if given else "value",
        direction=given_dirs[0] if given_dirs else "max",
        max_epochs=cfg.max_epochs,
    )
    task = recipe.build()  # validates the task name / user code here, on the driver
    space = user_space or task.space()
    if desire is not None:
        objectives, directions = _desired_objectives(desire, given, cfg.direction, task)
    else:
        try:
            objectives, directions = objectives_of(cfg.objective, cfg.direction, task)
        except PerturboError:
            recorded = _recorded_direction(context) if cfg.direction is None else None
            if recorded is None:
                raise
            objectives, directions = objectives_of(cfg.objective, recorded, task)
    objective, direction = objectives[0], directions[0]
    if objective != task.objective or len(objectives) > 1:
        recipe = TaskRecipe(**{**recipe.__dict__, "objective": objective, "objectives": objectives})
    max_epochs = int(getattr(task, "max_epochs", 0) or 0)
    check_asha(cfg, max_epochs, objectives, desire is not None)  # before any trial runs
    if desire is not None:
        from perturbo.desirability import DESIRABILITY

        # the planner maximises the one combined metric; the raw objectives stay metrics
        recipe = TaskRecipe(**{**recipe.__dict__, "desirability": desire.spec()})
        objectives, directions = (DESIRABILITY,), ("max",)
        objective, direction = DESIRABILITY, "max"
    if cfg.planner == "mf-bo" and user_space is None and max_epochs >= 2:
        space = with_epochs(space, max_epochs)  # the task's own epochs are the fidelity
        recipe = TaskRecipe(**{**recipe.__dict__, "space": space.to_dict()})
    if cfg.fidelity is not None:
        _check_fidelity(cfg.fidelity, cfg.planner, space)
    if cfg.planner == "mf-bo":  # each trial records its share of the top fidelity
        recipe = TaskRecipe(**{**recipe.__dict__, "fidelity": fidelity_top(space, cfg.fidelity)})
    rungs = asha_rungs(cfg, max_epochs, direction, default_name(cfg.model_dump()))
    planner_cfg = cfg.model_dump()
    if cfg.ref_point is not None:
        planner_cfg["ref_point"] = _ref_point_of(cfg.ref_point, cfg.planner, objectives, desire)
    if cfg.mo_acquisition != "nehvi":
        _check_mo_acquisition(cfg.mo_acquisition, cfg.planner, objectives, desire, cfg.ref_point)
    planner = make_planner(
        cfg.planner, space, cfg.seed, objectives, directions, planner_cfg, engine=engine
    )
    params: dict[str, Any] = {
        "planner": cfg.planner,
        "seed": cfg.seed,
        "batch": cfg.batch,
        "trials": cfg.trials,
        "task": cfg.task,
        "objective": ",".join(objectives),
        "direction": ",".join(directions),
        "asha": cfg.asha,
    }
    if cfg.fidelity is not None:
        params["fidelity"] = cfg.fidelity
    if cfg.mo_acquisition != "nehvi":
        params["mo_acquisition"] = cfg.mo_acquisition
    if cfg.ref_point is not None:
        params["ref_point"] = ",".join(f"{k}={v:.10g}" for k, v in planner_cfg["ref_point"].items())
    if desire is not None:  # objective/direction: what the planner optimises, as elsewhere
        params["desirability"] = desire.spec()  # names the raw objectives and their shapes
    if cfg.planner == "agent":
        params.update(llm=cfg.llm, llm_model=cfg.llm_model or "default")
    return CampaignParts(
        kind=KIND_NAME,
        planner=planner,
        space=space,
        executor_factory=trial_factory(recipe, rungs),  # Campaign(fn): the callable's
        batch=cfg.batch,
        stop=StopRule(max_experiments=cfg.trials),
        config=cfg.model_dump(),
        params=params,
        metrics=HyperparameterMetrics(objective, direction, max_epochs, objectives, directions),
        objective=objective,
        direction=direction,
        objectives=objectives,
        directions=directions,
        num_gpus_per_worker=0.25 if max_epochs else 0.0,
        tags={"task": cfg.task},
        # an LLM agent's every ask is a model call: refilling one slot at a time would make
        # one call per trial, so its campaigns keep rounds (others: the kind's async default)
        schedule="sync" if cfg.planner == "agent" else None,
    )
