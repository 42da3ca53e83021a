"""perturbo: planners propose perturbation experiments, Ray actors run them, MLflow records.

The core (this package) holds the types, protocols, history and the campaign loop; each
experiment kind is a plugin package under ``perturbo.kinds`` (:mod:`perturbo.kinds` is the
registry); heavy
libraries live behind ``perturbo.search`` (BoTorch, Optuna), ``perturbo.actors`` (Ray),
``perturbo.agents`` (LangChain) and ``perturbo.tracking`` (MLflow), imported lazily.

Quick start::

    from perturbo import run_campaign
    history = run_campaign("genetic", screen="IFNG", planner="bo", rounds=5, batch=128, local=True)
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING, Any

from perturbo.campaign import RoundReport, StopRule, run
from perturbo.history import History
from perturbo.types import (
    ExperimentSpec,
    InvalidSpec,
    Observation,
    Outcome,
    PerturboError,
    Status,
)

if TYPE_CHECKING:
    from perturbo.api import resume_campaign, run_campaign
    from perturbo.space import Categorical, Float, Int, SearchSpace

# Re-exported lazily: the space and the API pull numpy/torch-adjacent modules that
# `perturbo --help` should not pay for.
_LAZY = {
    "run_campaign": "perturbo.api",
    "resume_campaign": "perturbo.api",
    "open_campaign": "perturbo.api",
    "SearchSpace": "perturbo.space",
    "Float": "perturbo.space",
    "Int": "perturbo.space",
    "Categorical": "perturbo.space",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name.startswith("__") or importlib.util.find_spec(f"perturbo.{name}") is not None:
        # a dunder, or a submodule `from perturbo import X` is about to import
        raise AttributeError(f"module 'perturbo' has no attribute {name!r}")
    return importlib.import_module("perturbo.kinds").exported(
        name
    )  # names a kind adds (``KindSpec.exports``: ``Campaign``, ``Result``)


__all__ = [
    "Campaign",
    "Categorical",
    "ExperimentSpec",
    "Float",
    "History",
    "Int",
    "InvalidSpec",
    "Observation",
    "Outcome",
    "PerturboError",
    "Result",
    "RoundReport",
    "SearchSpace",
    "Status",
    "StopRule",
    "resume_campaign",
    "run",
    "run_campaign",
]
__version__ = "0.1.0"
