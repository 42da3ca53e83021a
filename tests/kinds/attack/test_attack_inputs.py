"""Bad input ends in one PerturboError naming the input and the fix, or a FAILED outcome
with the reason: model files, data, labels, eps, NaN logits, a diverging attack."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from perturbo.kinds.attack.executor import AttackExecutor, AttackSettings
from perturbo.kinds.attack.targets import TargetRecipe
from perturbo.types import ExperimentSpec, PerturboError, Status


def _npz(path: Path, x: np.ndarray, y: np.ndarray) -> str:
    np.savez(path, x=x, y=y)
    return str(path)


def test_user_model_and_data_are_first_class(
    digits_files: tuple[Path, Path], tmp_path: Path
) -> None:
    from perturbo.kinds.attack.campaign import build

    model, data = digits_files
    parts = build(
        {
            "model": str(model),
            "data": str(data),
            "input_range": "0,1",
            "eps": 0.1,
            "samples": 30,
            "planner": "random",
            "trials": 2,
        }
    )
    ex = parts.executor_factory()
    assert ex.target.n_classes == 10 and ex.target.input_shape == (1, 8, 8)
    out = ex.run(
        ExperimentSpec(
            {"method": "pgd", "steps": 5, "restarts": 1, "loss": "ce", "step_rel": 0.5}, id="u"
        )
    )
    assert out.status is Status.COMPLETED and out.metrics["robust_accuracy"] < 0.9


def test_model_file_that_does_not_load(tmp_path: Path, digits_files: tuple[Path, Path]) -> None:
    bad = tmp_path / "model.pt"
    bad.write_bytes(b"not a model")
    with pytest.raises(
        PerturboError, match=r"could not be loaded as TorchScript.*torch\.jit\.save"
    ):
        TargetRecipe(str(bad), data=str(digits_files[1])).load()


def test_missing_model_and_user_code_gate(digits_files: tuple[Path, Path]) -> None:
    with pytest.raises(PerturboError, match="neither a built-in target"):
        TargetRecipe("nope.pt", data=str(digits_files[1])).load()
    with pytest.raises(PerturboError, match="--allow-user-code"):
        TargetRecipe("mymod:make", data=str(digits_files[1])).load()


def test_input_shape_mismatch(tmp_path: Path, digits_files: tuple[Path, Path]) -> None:
    data = _npz(tmp_path / "flat.npz", np.random.rand(10, 64).astype(np.float32), np.zeros(10, int))
    with pytest.raises(PerturboError, match=r"fails on --data inputs of shape \(64,\)"):
        TargetRecipe(str(digits_files[0]), data=data).load()


def test_input_range_mismatch(tmp_path: Path, digits_files: tuple[Path, Path]) -> None:
    data = _npz(
        tmp_path / "raw.npz", 16 * np.random.rand(10, 1, 8, 8).astype(np.float32), np.zeros(10, int)
    )
    with pytest.raises(PerturboError, match=r"outside --input-range 0,1"):
        TargetRecipe(str(digits_files[0]), data=data, input_range=(0.0, 1.0)).load()


def test_labels_outside_the_models_classes(tmp_path: Path, digits_files: tuple[Path, Path]) -> None:
    data = _npz(
        tmp_path / "labels.npz", np.random.rand(10, 1, 8, 8).astype(np.float32), np.full(10, 12)
    )
    with pytest.raises(PerturboError, match=r"outside the model's 10 classes"):
        TargetRecipe(str(digits_files[0]), data=data).load()


def test_data_without_y(tmp_path: Path, digits_files: tuple[Path, Path]) -> None:
    p = tmp_path / "nox.npz"
    np.savez(p, x=np.random.rand(4, 1, 8, 8))
    with pytest.raises(PerturboError, match=r"has no \['y'\]"):
        TargetRecipe(str(digits_files[0]), data=str(p)).load()


class _NaNNet(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.full((x.shape[0], 10), float("nan"))


class _Brittle(torch.nn.Module):
    """A linear model whose logits turn NaN once any input exceeds 0.95 (a diverging attack)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.lin = torch.nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.lin(x.flatten(1))
        bad = x.flatten(1).amax(1) > 0.95
        return torch.where(bad[:, None], torch.full_like(z, float("nan")), z)


def test_nan_logits_are_a_clear_error(tmp_path: Path, digits_files: tuple[Path, Path]) -> None:
    path = tmp_path / "nan.pt"
    torch.jit.save(torch.jit.script(_NaNNet()), str(path))
    with pytest.raises(PerturboError, match="NaN/inf logits"):
        TargetRecipe(str(path), data=str(digits_files[1])).load()


def test_a_diverging_attack_is_a_failed_outcome(tmp_path: Path) -> None:
    path = tmp_path / "brittle.pt"
    torch.jit.save(torch.jit.script(_Brittle()), str(path))
    rng = np.random.default_rng(0)
    data = _npz(
        tmp_path / "d.npz",
        (0.9 * rng.random((20, 1, 8, 8))).astype(np.float32),
        rng.integers(0, 10, 20),
    )
    tg = TargetRecipe(str(path), data=data).load()
    ex = AttackExecutor(tg, AttackSettings(eps=0.2, norm="linf"))
    out = ex.run(ExperimentSpec({"method": "fgsm", "loss": "ce"}, id="d"))
    assert out.status is Status.FAILED
    assert "diverged" in out.error and "NaN" in out.error


@pytest.mark.parametrize(
    ("settings", "match"),
    [
        ({"eps": 0.0}, "eps 0.0 must be > 0"),
        ({"eps": -1}, "must be > 0"),
        ({"eps": 1.0}, "covers the whole input range"),
        ({"eps": 9.0, "norm": "l2"}, "exceeds the diameter"),
        ({"eps": 2.5, "norm": "l0"}, "number of pixels"),
        ({"methods": "cw-l2"}, "not attacks for norm linf"),
    ],
)
def test_bad_eps_and_methods(settings: dict[str, Any], match: str, digits_recipe: Any) -> None:
    from perturbo.kinds.attack.campaign import build

    cfg = {
        "model": "digits-cnn",
        "cache_dir": digits_recipe.cache_dir,
        "train_epochs": 6,
        "samples": 20,
        "planner": "random",
        **settings,
    }
    with pytest.raises(PerturboError, match=match):
        build(cfg)


def test_unknown_method_is_a_failed_outcome(digits_target: Any) -> None:
    ex = AttackExecutor(digits_target, AttackSettings(eps=0.1))
    out = ex.run(ExperimentSpec({"method": "nope"}, id="x"))
    assert out.status is Status.FAILED and "unknown attack method" in out.error
