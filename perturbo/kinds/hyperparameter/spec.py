"""The hyperparameter kind's :class:`~perturbo.kindspec.KindSpec` (light to import)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from perturbo.kinds.hyperparameter.compose import default_name, uses_local_llm
from perturbo.kinds.hyperparameter.plots import HYPERPARAMETER_PLOTTERS
from perturbo.kinds.hyperparameter.settings import HyperparameterConfig, add_arguments
from perturbo.kindspec import BuildContext, KindSpec
from perturbo.plots import optimisation_history_plot


def _build(config: Mapping[str, Any], context: BuildContext) -> Any:
    from perturbo.kinds.hyperparameter.compose import build

    return build(config, context)


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
    examples="""\
  perturbo run hyperparameter --task digits-cnn --planner bo --trials 50 --batch 4
  perturbo run hyperparameter --task branin --planner optuna-tpe --trials 30 --local
  perturbo run hyperparameter --task wine-mlp --objective val_accuracy,n_params --direction max,min
  perturbo run hyperparameter --task mymod:objective --allow-user-code --space space.toml --direction min
""",
)

__all__ = ["KIND"]
