"""Every general planner passes the one shared contract (perturbo.testing.planner_contract)."""

from __future__ import annotations

import pytest

from perturbo.search.bo import BOPlanner
from perturbo.search.evolution import EvolutionPlanner
from perturbo.search.optuna_planner import OptunaPlanner
from perturbo.search.random import RandomPlanner
from perturbo.search.sobol import SobolPlanner
from perturbo.testing.planner_contract import CONTRACT

PLANNERS = {
    # cheap acquisition optimisation: the contract is about behaviour, test_bo.py about quality
    "bo": lambda space, seed: BOPlanner(
        space,
        "hyperparameter",
        seed,
        objective="value",
        n_init=4,
        num_restarts=2,
        raw_samples=32,
    ),
    "optuna-tpe": lambda space, seed: OptunaPlanner(
        space, "hyperparameter", seed, "value", sampler="tpe"
    ),
    "optuna-gp": lambda space, seed: OptunaPlanner(
        space, "hyperparameter", seed, "value", sampler="gp"
    ),
    "optuna-cmaes": lambda space, seed: OptunaPlanner(
        space, "hyperparameter", seed, "value", sampler="cmaes"
    ),
    "optuna-nsga2": lambda space, seed: OptunaPlanner(
        space, "hyperparameter", seed, "value", sampler="nsga2"
    ),
    "evolution": lambda space, seed: EvolutionPlanner(
        space, "hyperparameter", seed, objective="value", popsize=6
    ),
    "random": lambda space, seed: RandomPlanner(space, "hyperparameter", seed),
    "sobol": lambda space, seed: SobolPlanner(space, "hyperparameter", seed),
}


@pytest.mark.parametrize("check", CONTRACT, ids=lambda c: c.__name__)
@pytest.mark.parametrize("planner", sorted(PLANNERS))
def test_planner_contract(planner: str, check) -> None:
    check(PLANNERS[planner])
