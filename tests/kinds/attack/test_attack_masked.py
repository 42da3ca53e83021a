"""The masked-gradient warning: it fires at the start of a campaign on a model whose logits
are scaled by 1e4 (a user's wrapper around a built-in target, loaded as module:factory),
steers to DLR losses and Square, names a --methods list that cannot work there, and stays
silent on the built-in targets."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Any

import pytest

WRAPPER = """
import torch

class Scaled(torch.nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x) * 1e4

def make():
    return Scaled(torch.jit.load({path!r}))
"""


@pytest.fixture()
def scaled_module(tmp_path: Path, digits_files: tuple[Path, Path]) -> Any:
    model, data = digits_files
    (tmp_path / "scaled_digits.py").write_text(WRAPPER.format(path=str(model)))
    sys.path.insert(0, str(tmp_path))
    try:
        yield "scaled_digits:make", str(data)
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("scaled_digits", None)


def _build(**cfg: Any) -> Any:
    from perturbo.kinds.attack.campaign import build

    return build({"eps": 0.1, "samples": 60, "planner": "random", "trials": 2, **cfg})


def test_warns_on_logits_scaled_by_1e4(scaled_module: Any, digits_recipe: Any) -> None:
    model, data = scaled_module
    with pytest.warns(UserWarning, match="gradient is zero or non-finite") as got:
        parts = _build(model=model, data=data, allow_user_code=True, input_range="0,1")
    text = next(str(w.message) for w in got if "gradient is zero" in str(w.message))
    assert "apgd-dlr" in text and "square" in text and "--methods" not in text
    assert float(parts.params["masked_gradient_share"]) > 0.5
    assert int(parts.params["gradient_check_passes"]) > 0  # the check's passes are counted

    with pytest.warns(UserWarning, match="--methods apgd-ce keeps only attacks that cannot work"):
        _build(model=model, data=data, allow_user_code=True, input_range="0,1", methods="apgd-ce")


@pytest.mark.parametrize("name", ["digits-cnn", "digits-cnn-adv", "wine-mlp"])
def test_silent_on_builtin_targets(name: str, attack_cache: Path) -> None:
    from perturbo.kinds.attack.gradients import masked_gradients
    from perturbo.kinds.attack.targets import TargetRecipe

    epochs = {"digits-cnn": 6, "digits-cnn-adv": 3, "wine-mlp": 60}[name]
    target = TargetRecipe(
        name, cache_dir=str(attack_cache), n_samples=100, train_epochs=epochs, device="cpu"
    ).load()
    check = masked_gradients(target)
    assert check.checked > 20 and check.ce_masked == 0, check
    if name == "digits-cnn":
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)  # a warning fails the build
            _build(model=name, cache_dir=str(attack_cache), train_epochs=epochs)
