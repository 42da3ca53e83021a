"""``perturbo run hyperparameter``: the hyperparameter kind's flags, settings and parts.

``build(config)`` turns a plain config dict (from flags, a TOML file, or the config logged to
MLflow on resume) into :class:`~perturbo.parts.CampaignParts`. Heavy modules (torch,
BoTorch, Optuna, Ray) are imported inside the functions, so ``--help`` is fast.
"""

from __future__ import annotations

import argparse
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from perturbo.types import PerturboError

if TYPE_CHECKING:
    from perturbo.parts import CampaignParts
    from perturbo.protocols import Planner
    from perturbo.space import SearchSpace

PLANNERS = (
    "bo",
    "random",
    "sobol",
    "evolution",
    "optuna",
    "optuna-tpe",
    "optuna-gp",
    "optuna-cmaes",
    "optuna-nsga2",
    "agent",
)
MULTI_OBJECTIVE_PLANNERS = (
    "bo",
    "optuna",
    "optuna-tpe",
    "optuna-gp",
    "optuna-nsga2",
    "sobol",
    "random",
)
"""Planners that take several objectives (bo: qLogNEHVI; optuna: its multi-objective
samplers; sobol/random ignore the objective)."""


class HyperparameterConfig(BaseModel):
    """What a hyperparameter campaign is. Logged to MLflow as the campaign's config (resume
    rebuilds from it), so every field is plain JSON."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["hyperparameter"] = "hyperparameter"
    task: str = Field(
        "digits-cnn", description="built-in task, or module:function with --allow-user-code"
    )
    planner: str = Field("bo", description="who proposes")
    trials: int = Field(50, gt=0, description="trials to run in all")
    batch: int = Field(4, gt=0, description="trials per round, run in parallel")
    seed: int = Field(0, description="random seed (planner and training)")
    space: str | dict[str, Any] | None = Field(
        None, description="TOML file with a custom search space (Python API: also an inline table)"
    )
    asha: bool = Field(
        False, description="stop poor trials early (asynchronous successive halving)"
    )
    eta: float = Field(3.0, gt=1, description="ASHA: keep the top 1/eta at each rung")
    min_epochs: int = Field(1, gt=0, description="ASHA: epochs before the first rung")
    max_epochs: int | None = Field(None, gt=0, description="epochs of a full trial (task default)")
    objective: str | list[str] | None = Field(
        None,
        description="metric to optimise (task default; user code: 'value'); several, "
        "comma-separated, for a multi-objective campaign with a Pareto front",
    )
    direction: str | list[str] | None = Field(
        None, description="max or min, one per objective (comma-separated)"
    )
    allow_user_code: bool = Field(
        False, description="allow --task module:function (runs your code)"
    )
    llm: Literal["local", "openai", "anthropic", "ollama"] = Field(
        "local", description="agent: LLM backend (local = embedded model, offline)"
    )
    llm_model: str | None = Field(None, description="agent: model name (backend default if unset)")
    llm_base_url: str | None = Field(
        None, description="agent: base URL of an OpenAI-compatible server"
    )
    llm_threads: int | None = Field(None, gt=0, description="agent: CPU threads of the local model")
    llm_max_tokens: int = Field(400, gt=0, description="agent: max tokens per answer")

    @field_validator("space")
    @classmethod
    def _space_path(cls, v: str | dict[str, Any] | None) -> str | dict[str, Any] | None:
        if v is None or isinstance(v, dict):
            return v
        p = Path(v).expanduser()
        if not p.is_file():
            raise ValueError(
                f"search space file {v!r} does not exist; pass the path of a TOML file"
            )
        return str(p.resolve())

    @field_validator("planner")
    @classmethod
    def _planner(cls, v: str) -> str:
        if v not in PLANNERS:
            raise ValueError(f"unknown planner {v!r}; use one of {', '.join(PLANNERS)}")
        return v


def _help(field: str, extra: str = "") -> str:
    info = HyperparameterConfig.model_fields[field]
    return f"{info.description}{extra} (default: {info.default})"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The hyperparameter kind's flags. Defaults are SUPPRESSed so a TOML file can set them."""
    s = argparse.SUPPRESS
    g = parser.add_argument_group("hyperparameter campaign")
    g.add_argument(
        "--task",
        default=s,
        metavar="NAME|module:function",
        help=_help(
            "task",
            ": digits-cnn, wine-mlp, breast_cancer-mlp, iris-mlp, branin, hartmann6, ackley10, "
            "hpobench-<dataset>, fcnet-<dataset>, nb201-<dataset> (an unknown name lists them all)",
        ),
    )
    g.add_argument(
        "--planner",
        default=s,
        metavar="NAME",
        help=_help(
            "planner",
            ": bo (BoTorch batch BO), optuna / optuna-tpe, optuna-gp, optuna-cmaes, optuna-nsga2, "
            "evolution (differential evolution), sobol, random, agent (LLM, see --llm)",
        ),
    )
    g.add_argument("--trials", type=int, default=s, help=_help("trials"))
    g.add_argument("--batch", type=int, default=s, help=_help("batch"))
    g.add_argument("--seed", type=int, default=s, help=_help("seed"))
    g.add_argument(
        "--space",
        default=s,
        metavar="TOML",
        help=_help(
            "space",
            "; tables named after parameters: type = float|int|categorical, low/high/log or "
            "choices, optional when = {parent = [values]}",
        ),
    )
    g.add_argument("--asha", action="store_true", default=s, help=_help("asha"))
    g.add_argument("--eta", type=float, default=s, help=_help("eta"))
    g.add_argument("--min-epochs", dest="min_epochs", type=int, default=s, help=_help("min_epochs"))
    g.add_argument("--max-epochs", dest="max_epochs", type=int, default=s, help=_help("max_epochs"))
    g.add_argument(
        "--objective",
        default=s,
        metavar="METRIC[,METRIC]",
        help=_help(
            "objective",
            "; e.g. --objective val_accuracy,n_params --direction max,min (-mlp/-cnn tasks "
            "also report val_loss, train_seconds)",
        ),
    )
    g.add_argument("--direction", default=s, metavar="max|min[,...]", help=_help("direction"))
    g.add_argument(
        "--allow-user-code",
        dest="allow_user_code",
        action="store_true",
        default=s,
        help=_help("allow_user_code"),
    )
    a = parser.add_argument_group("agent planner (--planner agent)")
    a.add_argument("--llm", default=s, metavar="local|openai|anthropic|ollama", help=_help("llm"))
    a.add_argument(
        "--llm-model", dest="llm_model", default=s, metavar="NAME", help=_help("llm_model")
    )
    a.add_argument(
        "--llm-base-url", dest="llm_base_url", default=s, metavar="URL", help=_help("llm_base_url")
    )
    a.add_argument(
        "--llm-threads", dest="llm_threads", type=int, default=s, help=_help("llm_threads")
    )
    a.add_argument(
        "--llm-max-tokens", dest="llm_max_tokens", type=int, default=s, help=_help("llm_max_tokens")
    )


def default_name(config: Mapping[str, Any]) -> str:
    task = str(config.get("task", "task")).replace(":", "-").replace("/", "-")
    return f"hyperparameter-{task}-{config.get('planner', 'bo')}-s{config.get('seed', 0)}"


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
    declares them: built-in tasks do, user functions cannot)."""
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
        dirs = (task.direction,)
    if len(dirs) != len(names):
        raise PerturboError(
            f"--direction gives {len(dirs)} direction(s) ({','.join(dirs)}) for {len(names)} "
            f"objective(s) ({','.join(names)}); pass one max|min per objective, in the same order"
        )
    return names, dirs


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
    """The planner ``name`` (see :data:`PLANNERS`) over ``space``; several objectives (tuples)
    for a multi-objective planner (:data:`MULTI_OBJECTIVE_PLANNERS`). ``config`` (the
    campaign's) and ``llm`` (a LangChain chat model, for tests) matter to ``agent`` only."""
    kind = "hyperparameter"
    if not isinstance(objective, str):
        if len(objective) > 1 and name not in MULTI_OBJECTIVE_PLANNERS:
            raise PerturboError(
                f"--planner {name} optimises one objective, and --objective names "
                f"{len(objective)} ({','.join(objective)}): use --planner "
                f"{' / '.join(MULTI_OBJECTIVE_PLANNERS)}, or name one objective"
            )
        if len(objective) == 1:
            objective, direction = objective[0], direction[0]
    if name == "agent":
        try:
            from perturbo.agents.space_agent import make_space_planner  # helper L's generic agent
        except ImportError as e:
            raise PerturboError(
                f"planner 'agent' needs the LLM agents (perturbo.agents), not available in this "
                f"install ({e}): use --planner bo"
            ) from None
        cfg = dict(config or {})
        task = f"tune the hyperparameters of task {cfg.get('task', '?')!r} to {direction}imise {objective}"
        return make_space_planner(
            space,
            kind,
            {**cfg, "seed": seed},
            objective,
            direction,
            task=task,
            llm=llm,
            engine=engine,
        )
    if name == "bo":
        from perturbo.search.bo import BOPlanner

        return BOPlanner(space, kind, seed, objective=objective, direction=direction)
    if name == "random":
        from perturbo.search.random import RandomPlanner

        return RandomPlanner(space, kind, seed)
    if name == "sobol":
        from perturbo.search.sobol import SobolPlanner

        return SobolPlanner(space, kind, seed)
    if name == "evolution":
        from perturbo.search.evolution import EvolutionPlanner

        return EvolutionPlanner(space, kind, seed, objective=objective, direction=direction)
    if name.startswith("optuna"):
        from perturbo.search.optuna_planner import OptunaPlanner

        sampler = name.split("-", 1)[1] if "-" in name else "tpe"
        return OptunaPlanner(
            space, kind, seed, objective=objective, direction=direction, sampler=sampler
        )
    raise PerturboError(f"--planner {name!r} is unknown: use one of {', '.join(PLANNERS)}")


def uses_local_llm(config: Mapping[str, Any]) -> bool:
    """Whether this campaign's planner runs the embedded model (worth hosting once in Ray)."""
    return config.get("planner") == "agent" and config.get("llm", "local") == "local"


def build(config: Mapping[str, Any], engine: Any = None) -> CampaignParts:
    """The parts of one hyperparameter campaign. ``engine``: the shared local model for
    ``--planner agent`` (``None``: loaded in this process)."""
    from perturbo.campaign import StopRule
    from perturbo.config import build_model
    from perturbo.kinds.hyperparameter import ExecutorFactory, HyperparameterMetrics, TaskRecipe
    from perturbo.parts import CampaignParts
    from perturbo.space import SearchSpace

    cfg = (
        config
        if isinstance(config, HyperparameterConfig)
        else build_model(HyperparameterConfig, {}, config, "config")
    )
    if isinstance(cfg.space, dict):
        user_space = SearchSpace.from_dict(cfg.space)
    else:
        user_space = SearchSpace.from_toml(cfg.space) if cfg.space else None
    given, given_dirs = _names(cfg.objective), _names(cfg.direction)
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
    objectives, directions = objectives_of(cfg.objective, cfg.direction, task)
    objective, direction = objectives[0], directions[0]
    if objective != task.objective or len(objectives) > 1:
        recipe = TaskRecipe(**{**recipe.__dict__, "objective": objective, "objectives": objectives})
    max_epochs = int(getattr(task, "max_epochs", 0) or 0)
    rungs = None
    if cfg.asha and len(objectives) > 1:
        raise PerturboError(
            f"--asha stops trials on one objective, and --objective names {len(objectives)} "
            f"({','.join(objectives)}): drop --asha, or name one objective"
        )
    if cfg.asha:
        if max_epochs < 2:
            raise PerturboError(
                f"--asha needs a task trained over epochs; {cfg.task!r} has none "
                f"(use digits-cnn or an -mlp task, or --max-epochs for your function)"
            )
        from perturbo.actors.rungs import SharedRungs

        rungs = SharedRungs(
            f"{default_name(cfg.model_dump())}-{uuid.uuid4().hex[:8]}",
            max_epochs,
            cfg.min_epochs,
            cfg.eta,
            direction,
        )
    planner = make_planner(
        cfg.planner, space, cfg.seed, objectives, directions, cfg.model_dump(), engine=engine
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
    if cfg.planner == "agent":
        params.update(llm=cfg.llm, llm_model=cfg.llm_model or "default")
    return CampaignParts(
        kind="hyperparameter",
        planner=planner,
        space=space,
        executor_factory=ExecutorFactory(recipe, rungs),
        batch=cfg.batch,
        stop=StopRule(max_experiments=cfg.trials),
        config=cfg.model_dump(),
        params=params,
        metrics=HyperparameterMetrics(objective, direction, max_epochs),
        objective=objective,
        direction=direction,
        objectives=objectives,
        directions=directions,
        num_gpus_per_worker=0.25 if max_epochs else 0.0,
    )
