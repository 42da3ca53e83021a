"""The hyperparameter kind's settings and flags (light: pydantic and argparse only, so
``perturbo --help`` stays fast)."""

from __future__ import annotations

import argparse
from functools import partial
from typing import Any, Literal

from pydantic import Field, field_validator

from perturbo.agents.settings import LLMConfig, add_llm_arguments
from perturbo.config import existing_file, field_help


class HyperparameterConfig(LLMConfig):
    """What a hyperparameter campaign is. Logged to MLflow as the campaign's config (resume
    rebuilds from it), so every field is plain JSON."""

    kind: Literal["hyperparameter"] = "hyperparameter"
    task: str = Field(
        "digits-cnn", description="built-in task, or module:function with --allow-user-code"
    )
    planner: str = Field("bo", description="who proposes")
    trials: int = Field(50, gt=0, description="trials to run in all")
    batch: int = Field(4, gt=0, description="trials per round, run in parallel")
    seed: int = Field(0, ge=0, description="random seed (planner and training)")
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
        None,
        description="max or min, one per objective (comma-separated); required for a user "
        "function (module:function) and for an --objective other than the task's own "
        "(None: the task's own objective, in its own direction)",
    )
    allow_user_code: bool = Field(
        False, description="allow --task module:function (runs your code)"
    )

    @field_validator("space")
    @classmethod
    def _space_path(cls, v: str | dict[str, Any] | None) -> str | dict[str, Any] | None:
        if isinstance(v, dict):
            return v
        return existing_file(v, "search space file", "pass the path of a TOML file")

    @field_validator("planner")
    @classmethod
    def _planner(cls, v: str) -> str:
        from perturbo.kinds.hyperparameter.planners import TABLE
        from perturbo.space import SearchSpace

        names = TABLE.names(SearchSpace)
        if v not in names:
            raise ValueError(f"unknown planner {v!r}; use one of {', '.join(names)}")
        return v


_help = partial(field_help, HyperparameterConfig)


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
    add_llm_arguments(parser, "agent planner (--planner agent)")
