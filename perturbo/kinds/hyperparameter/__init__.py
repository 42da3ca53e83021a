"""The hyperparameter kind: one experiment trains and evaluates one config of a task.

- :mod:`.settings`: the settings model and the ``perturbo run hyperparameter`` flags;
- :mod:`.compose`: ``build(config, context) -> CampaignParts``;
- :mod:`.tasks` / :mod:`.tabular`: built-in tasks, tabular benchmarks, user functions;
- :mod:`.executor`: the trial executor and round metrics; :mod:`.plots`: its plots;
- :mod:`.api`: ``Campaign(train, space=...).run().best``, the Python sugar.

Importing this package loads only :data:`KIND` (light); the rest is imported on use.
"""

from __future__ import annotations

import importlib
from typing import Any

from perturbo.kinds.hyperparameter.spec import KIND

_LAZY = {
    "Campaign": "api",
    "Result": "api",
    "HyperparameterConfig": "settings",
    "HyperparameterExecutor": "executor",
    "HyperparameterMetrics": "executor",
    "TaskRecipe": "executor",
    "TrialFactory": "executor",
    "build": "compose",
    "builtin_tasks": "tasks",
    "make_task": "tasks",
}

__all__ = ["KIND", *sorted(_LAZY)]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
