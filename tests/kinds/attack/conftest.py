"""Shared fixtures: one quickly trained digits CNN (cached in a session temp dir) and its
held-out samples, loaded through the same path as a user's model and data."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

EPOCHS = 6  # ~97% held-out accuracy in ~2 s on one thread; the cached default trains 15


@pytest.fixture(scope="session")
def attack_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield tmp_path_factory.mktemp("attack-cache")


@pytest.fixture(scope="session")
def digits_recipe(attack_cache: Path) -> Any:
    import torch

    from perturbo.kinds.attack.targets import TargetRecipe

    torch.set_num_threads(1)
    return TargetRecipe(
        "digits-cnn", cache_dir=str(attack_cache), n_samples=120, train_epochs=EPOCHS, device="cpu"
    )


@pytest.fixture(scope="session")
def digits_target(digits_recipe: Any) -> Any:
    return digits_recipe.load()


@pytest.fixture(scope="session")
def digits_files(digits_recipe: Any) -> tuple[Path, Path]:
    """The cached TorchScript model and held-out .npz of the test CNN."""
    from perturbo.kinds.attack.builtin import cached_paths

    return cached_paths("digits-cnn", digits_recipe.cache_dir, EPOCHS)


os.environ.setdefault("OMP_NUM_THREADS", "1")
