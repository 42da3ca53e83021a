"""The hyperparameter kind's :class:`~perturbo.kindspec.KindSpec` (light to import)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from perturbo.kinds.hyperparameter.compose import default_name as task_name
from perturbo.kinds.hyperparameter.compose import uses_local_llm
from perturbo.kinds.hyperparameter.plots import HYPERPARAMETER_PLOTTERS
from perturbo.kinds.hyperparameter.settings import HyperparameterConfig, add_arguments
from perturbo.kindspec import BuildContext, KindSpec
from perturbo.plots import optimisation_history_plot


def _build(config: Mapping[str, Any], context: BuildContext) -> Any:
    if config.get("lab"):  # trials trained elsewhere (perturbo.lab.trials asks and tells)
        from perturbo.config import build_model
        from perturbo.kinds.hyperparameter.lab import build_lab

        cfg = (
            config
            if isinstance(config, HyperparameterConfig)
            else build_model(HyperparameterConfig, {}, config, "config")
        )
        return build_lab(cfg, context)
    from perturbo.kinds.hyperparameter.compose import build

    return build(config, context)


def default_name(config: Mapping[str, Any]) -> str:
    """The task's name (a lab campaign has none: its space's)."""
    if config.get("lab"):
        from perturbo.kinds.hyperparameter.lab import lab_name

        return lab_name(config)
    return task_name(config)


def _lab() -> Any:
    """What the lab loop (:mod:`perturbo.lab.trials`) asks of this kind (imported on call)."""
    from perturbo.kinds.hyperparameter.lab import LAB

    return LAB


def _planners() -> Any:
    """The kind's planner table (imported on call: the spec stays light)."""
    from perturbo.kinds.hyperparameter.planners import TABLE

    return TABLE


KIND = KindSpec(
    name="hyperparameter",
    description="train and evaluate configs of a task (built-in, tabular benchmark, or yours)",
    config_model=HyperparameterConfig,
    add_arguments=add_arguments,
    build=_build,
    planners=_planners,
    exports={
        "Campaign": "perturbo.kinds.hyperparameter.api:Campaign",
        "Result": "perturbo.kinds.hyperparameter.api:Result",
    },
    default_name=default_name,
    subject="task",
    plotters=(optimisation_history_plot, *HYPERPARAMETER_PLOTTERS),
    nesting="trial",
    schedule="async",  # trials vary in duration: keep every worker busy
    uses_local_llm=uses_local_llm,
    budget_keys=("trials",),
    tag_params=("task",),
    extras={"lab": _lab},
    examples="""\
  perturbo run hyperparameter --task digits-cnn --planner bo --trials 50 --batch 4
  perturbo run hyperparameter --task branin --planner optuna-tpe --trials 30 --local
  perturbo run hyperparameter --task wine-mlp --objective val_accuracy,n_params --direction max,min
  perturbo run hyperparameter --task mymod:objective --allow-user-code --space space.toml --direction min
  perturbo run hyperparameter --lab --space space.toml --objective val_loss --direction min --batch 4
""",
)

__all__ = ["KIND"]
