"""Every kind's executor passes the shared executor contract
(:mod:`perturbo.testing.executor_contract`): the genetic kind's gene and pair executors, the
hyperparameter executor on a synthetic function and on a tiny torch training task (with
ASHA's rungs stopping a trial: reported PRUNED), and the attack executor on a small
TorchScript target. Built through the factories the pools ship."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from perturbo.kinds.genetic.experiment import GeneticExecutor
from perturbo.kinds.genetic.pairs import PairExecutor, PairScreen
from perturbo.kinds.genetic.screens import Screen
from perturbo.kinds.hyperparameter.executor import TaskRecipe, TrialFactory
from perturbo.testing.executor_contract import CONTRACT, ExecutorBench
from perturbo.types import Status

GENES = ("IFNG", "STAT1", "JAK1", "IRF1", "GAPDH")
SCREEN = Screen(
    "contract", GENES, np.array([3.0, 2.5, 0.1, 2.0, 0.0]), frozenset(GENES[:2]), "t", "s", "c"
)
PAIRS = PairScreen(
    "contract-pairs", ("IFNG+STAT1", "GAPDH+JAK1"), np.array([3.0, 0.0]),
    frozenset({"IFNG+STAT1"}), "t", "s", "c",
)  # fmt: skip


@dataclass(frozen=True)
class _Genetic:  # picklable factories, as a kind's are
    def __call__(self) -> GeneticExecutor:
        return GeneticExecutor(SCREEN)


@dataclass(frozen=True)
class _Pairs:
    def __call__(self) -> PairExecutor:
        return PairExecutor(PAIRS)


@dataclass(frozen=True)
class _StopAll:
    """An ASHA keeper that stops every trial at its first report (the Rungs protocol)."""

    def report(self, trial_id: str, epoch: int, value: float) -> bool:
        return False


MLP = {
    "layers": 1,
    "width": 16,
    "activation": "relu",
    "lr": 0.01,
    "weight_decay": 1e-5,
    "dropout": 0.0,
    "batch_size": 32,
    "optimizer": "adam",
}


def _attack(tmp: Path) -> ExecutorBench:
    """A linear TorchScript model on 8x8 inputs it classifies its own way (every sample clean)."""
    import torch

    from perturbo.kinds.attack.executor import AttackFactory, AttackSettings
    from perturbo.kinds.attack.targets import TargetRecipe

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10)).eval()
    x = torch.rand(24, 1, 8, 8)
    with torch.no_grad():
        y = model(x).argmax(1)
    torch.jit.save(torch.jit.script(model), str(tmp / "lin.pt"))
    np.savez(tmp / "data.npz", x=x.numpy(), y=y.numpy())
    recipe = TargetRecipe(str(tmp / "lin.pt"), data=str(tmp / "data.npz"), input_range=(0.0, 1.0))
    pgd = {"method": "pgd", "steps": 5, "restarts": 1, "loss": "ce", "step_rel": 0.25}
    return ExecutorBench(
        AttackFactory(recipe, AttackSettings(eps=0.1, norm="linf", seed=3)),
        good=[{"method": "fgsm", "loss": "ce"}, pgd, {**pgd, "samples": "ff"}],
        bad=[
            {"method": "no-such-attack"},
            {"method": "fgsm", "loss": "ce", "samples": "not hex"},
            {"method": "pgd", "steps": "many", "restarts": 1, "loss": "ce", "step_rel": 0.25},
        ],
        metrics=("robust_accuracy", "success_rate", "passes", "queries", "eps_score"),
        volatile=("seconds", "model_loads"),
        kind="attack",
    )


BENCHES: dict[str, Callable[[Path], ExecutorBench]] = {
    "genetic": lambda _: ExecutorBench(
        _Genetic(),
        good=[{"gene": "IFNG"}, {"gene": "gapdh"}],
        bad=[{"gene": "NOTAGENE"}, {"gene": 7}, {}],
        metrics=("score", "hit"),
        refuses=Status.REJECTED,  # not a gene of the screen: outside the space, never ran
        kind="genetic",
    ),
    "genetic-pairs": lambda _: ExecutorBench(
        _Pairs(),
        good=[{"pair": "STAT1+IFNG"}, {"pair": "GAPDH+JAK1"}],
        bad=[{"pair": "IFNG+GAPDH"}, {"pair": "IFNG"}, {}],
        metrics=("score", "hit"),
        refuses=Status.REJECTED,
        kind="genetic",
    ),
    "hyperparameter-branin": lambda _: ExecutorBench(
        TrialFactory(TaskRecipe("branin")),
        good=[{"x0": 0.0, "x1": 5.0}, {"x0": np.pi, "x1": 2.275}],
        bad=[{}, {"x0": "abc", "x1": 1.0}, {"x0": 1.0}],
        metrics=("value",),
        kind="hyperparameter",
    ),
    "hyperparameter-iris-mlp": lambda _: ExecutorBench(
        TrialFactory(TaskRecipe("iris-mlp", max_epochs=2)),
        good=[MLP, {**MLP, "width": 8, "activation": "tanh", "lr": 0.05}],
        bad=[{"lr": "fast"}, {"layers": 1, "width": 0, "lr": 0.01, "optimizer": "adam"}],
        metrics=("val_accuracy", "val_loss", "train_loss", "epochs", "n_params"),
        volatile=("train_seconds",),
        kind="hyperparameter",
        stopping=TrialFactory(TaskRecipe("iris-mlp", max_epochs=2), rungs=_StopAll()),
    ),
    "attack": _attack,
}


@pytest.mark.parametrize("check", CONTRACT, ids=lambda c: c.__name__)
@pytest.mark.parametrize("executor", sorted(BENCHES))
def test_executor_contract(
    executor: str, check: Callable[[ExecutorBench], None], tmp_path: Path
) -> None:
    check(BENCHES[executor](tmp_path))
