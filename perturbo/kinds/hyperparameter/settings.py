"""The hyperparameter kind's settings, each written once: the model's fields carry the type,
default and help, and the flags are generated from them (:mod:`perturbo.flags`). Light:
pydantic and argparse only, so ``perturbo --help`` stays fast."""

from __future__ import annotations

import argparse
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from perturbo.agents.settings import LLMConfig
from perturbo.config import existing_file
from perturbo.flags import Flag, add_flags, defaults

GROUPS = {
    "": "hyperparameter campaign",
    "lab": "trials trained elsewhere (--lab; then perturbo ask / perturbo tell)",
    "llm": "agent planner (--planner agent)",
    "record": "recorded at the start (resume reads them)",
}
"""Help group key -> title, in the order ``--help`` lists them."""


class HyperparameterConfig(LLMConfig):
    """What a hyperparameter campaign is. Logged to MLflow as the campaign's config (resume
    rebuilds from it), so every field is plain JSON."""

    kind: Literal["hyperparameter"] = "hyperparameter"
    task: Annotated[
        str,
        Flag(
            metavar="NAME|module:function",
            more=": digits-cnn, wine-mlp, breast_cancer-mlp, iris-mlp, digits-mlp, branin, "
            "hartmann6, ackley10, hpobench-<dataset>, fcnet-<dataset>, nb201-<dataset> (an unknown "
            "name lists them all)",
        ),
    ] = Field("digits-cnn", description="built-in task, or module:function with --allow-user-code")
    planner: Annotated[
        str,
        Flag(
            metavar="NAME",
            more=": bo (BoTorch batch BO), optuna / optuna-tpe, optuna-gp, optuna-cmaes, "
            "optuna-nsga2, evolution (differential evolution), sobol, random, mf-bo "
            "(multi-fidelity BO: trains cheap epochs first; a built-in task's epochs, or an "
            "'epochs' param of --space, or the one --fidelity names), agent (LLM, see --llm)",
        ),
    ] = Field("bo", description="who proposes")
    trials: int = Field(50, gt=0, description="trials to run in all")
    batch: int = Field(4, gt=0, description="trials per round, run in parallel")
    seed: int = Field(0, ge=0, description="random seed (planner and training)")
    space: Annotated[
        str | dict[str, Any] | None,
        Flag(
            metavar="TOML",
            path="file",
            more="; tables named after parameters: type = float|int|categorical, low/high/log "
            "or choices, optional when = {parent = [values]}",
        ),
    ] = Field(
        None,
        description="TOML file with a custom search space (Python API: also an inline table); "
        "read once, at the start: the campaign records the space itself, so a resume never "
        "reads the file again",
    )
    asha: bool = Field(
        False, description="stop poor trials early (asynchronous successive halving)"
    )
    eta: float = Field(3.0, gt=1, description="ASHA: keep the top 1/eta at each rung")
    min_epochs: int = Field(1, gt=0, description="ASHA: epochs before the first rung")
    max_epochs: int | None = Field(None, gt=0, description="epochs of a full trial (task default)")
    fidelity: Annotated[
        str | None,
        Flag(
            metavar="NAME",
            more='; e.g. a data fraction: [data_fraction] type = "float", low = 0.05, '
            "high = 1.0 in --space, then --fidelity data_fraction (cheap trials use 0.05)",
        ),
    ] = Field(
        None,
        description="mf-bo: the --space parameter a trial's cost grows with (default: the first "
        "of epochs, fidelity, max_epochs, n_epochs the space has)",
    )
    objective: Annotated[
        str | list[str] | None,
        Flag(
            metavar="METRIC[,METRIC]",
            more="; e.g. --objective val_accuracy,n_params --direction max,min (-mlp/-cnn "
            "tasks also report val_loss, train_seconds)",
        ),
    ] = Field(
        None,
        description="metric to optimise (task default; user code: 'value'); several, "
        "comma-separated, for a multi-objective campaign with a Pareto front",
    )
    direction: Annotated[str | list[str] | None, Flag(metavar="max|min[,...]")] = Field(
        None,
        description="max or min, one per objective (comma-separated); required for a user "
        "function (module:function) and for an --objective other than the task's own "
        "(None: the task's own objective, in its own direction)",
    )
    desirability: Annotated[
        str | list[str] | None,
        Flag(
            metavar="SPEC",
            more="; one term per objective, comma-separated: NAME:max:LOW..HIGH[^S] (0 at LOW, "
            "1 at HIGH), NAME:min:LOW..HIGH[^S] (1 at LOW, 0 at HIGH), "
            "NAME:target:LOW..TARGET..HIGH[^S[^T]] (1 at TARGET, 0 outside); ^S shapes the rise "
            "(1 linear, >1 stricter), e.g. val_accuracy:max:0.90..0.98,n_params:min:1e3..5e4; "
            "the objectives default to its names; the raw metrics, each d_NAME and desirability "
            "are recorded",
        ),
    ] = Field(
        None,
        description="optimise the geometric mean of Derringer-Suich desirabilities of the "
        "objectives (one planner objective, 'desirability', maximised) instead of a Pareto front",
    )
    ref_point: Annotated[
        str | list[str] | None,
        Flag(
            metavar="NAME=VALUE[,...]",
            more="; e.g. --objective val_accuracy,n_params --direction max,min --ref-point "
            "val_accuracy=0.9,n_params=5e4; an objective left out keeps the inferred value",
        ),
    ] = Field(
        None,
        description="bo with several objectives: the worst value of each objective still "
        "worth having (qLogNEHVI's reference point; Ax's objective thresholds). A trial worse "
        "on any of them adds nothing to the front's hypervolume, so the search stays where "
        "you care (default: inferred from the observed front, BoTorch's rule)",
    )
    mo_acquisition: Literal["nehvi", "parego"] = Field(
        "nehvi",
        description="bo with several objectives: its acquisition. nehvi (qLogNEHVI, the "
        "default) measures each proposal by the hypervolume it adds; its cost grows quickly "
        "with the objectives (~4 s per proposal with four at 200 trials). parego (qLogNParEGO) "
        "aims each proposal at a random trade-off of the objectives: ~3x quicker with four, "
        "no significantly worse front on five test functions (benchmarks/results/"
        "pareto_many.md), takes no --ref-point",
    )
    deterministic: bool = Field(
        False,
        description="the objective is noise-free (the same config always gives the same "
        "value, e.g. a simulation): bo and optuna-gp then fit a near-noise-free model, which "
        "pins a noise-free optimum down more precisely (off: trainings and noisy measurements; "
        "the synthetic tasks branin, hartmann6 and ackley10 are always noise-free)",
    )
    allow_user_code: bool = Field(
        False, description="allow --task module:function (runs your code)"
    )
    # trials trained elsewhere (perturbo.kinds.hyperparameter.lab; Optuna's ask/tell CLI)
    lab: Annotated[bool, Flag(group="lab")] = Field(
        False,
        description=(
            "the trials run elsewhere (no task): with --space, one --objective and its "
            "--direction, propose --batch trials and exit; `perturbo ask CAMPAIGN -n K "
            "--format json` hands out more, `perturbo tell CAMPAIGN TRIAL_ID VALUE` records one"
        ),
    )

    # what the campaign recorded at its start (perturbo.kinds.hyperparameter.space_record)
    space_file: Annotated[str | None, Flag(group="record", metavar="TOML")] = Field(
        None,
        description="the --space file the recorded space was read from; a resume uses the "
        "recorded space and says so where this file has changed since",
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


DEFAULTS = defaults(HyperparameterConfig)
"""Every setting's default, for code that reads a plain config dict: written once, in
:class:`HyperparameterConfig`."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The hyperparameter kind's flags, generated from :class:`HyperparameterConfig`
    (defaults SUPPRESSed so a TOML file can set them)."""
    add_flags(parser, HyperparameterConfig, GROUPS)


__all__ = ["DEFAULTS", "GROUPS", "HyperparameterConfig", "add_arguments"]
