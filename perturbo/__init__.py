"""perturbo: planners propose perturbation experiments, Ray actors run them, MLflow records.

The core (this package) holds the types, protocols, history and the campaign loop; heavy
libraries live behind ``perturbo.search`` (BoTorch, Optuna), ``perturbo.actors`` (Ray),
``perturbo.agents`` (LangChain) and ``perturbo.tracking`` (MLflow), imported lazily.
"""

from perturbo.campaign import RoundReport, StopRule, run
from perturbo.history import History
from perturbo.types import (
    ExperimentSpec,
    InvalidSpec,
    Kind,
    Observation,
    Outcome,
    PerturboError,
    Status,
)

__all__ = [
    "ExperimentSpec",
    "History",
    "InvalidSpec",
    "Kind",
    "Observation",
    "Outcome",
    "PerturboError",
    "RoundReport",
    "Status",
    "StopRule",
    "run",
]
__version__ = "0.1.0"
