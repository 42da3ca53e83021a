"""Fixtures for tests that write a real MLflow sqlite store and run small genetic campaigns.

A new MLflow store costs ~6 s (schema migrations); each test gets a copy of one empty
template store instead (~50 ms), so tests stay isolated and fast. Import the fixtures into a
test module with ``from stores import *``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

__all__ = ["genes_csv", "make_screen_csv", "mlflow_template", "store", "screen_csv"]


def make_screen_csv(path: Path, n: int = 200, seed: int = 0) -> Path:
    """A synthetic screen: genes G0000..., normal scores; hits = top 5% by |score| (default)."""
    rng = np.random.default_rng(seed)
    scores = rng.normal(size=n)
    lines = ["Gene,Score"] + [f"G{i:04d},{s:.6f}" for i, s in enumerate(scores)]
    path.write_text("\n".join(lines) + "\n")
    return path


def genes_csv(path: Path) -> dict[str, float]:
    rows = path.read_text().splitlines()[1:]
    return {r.split(",")[0]: float(r.split(",")[1]) for r in rows if r}


_TEMPLATE: list[Path] = []  # one per test session, whichever module asks first


@pytest.fixture(scope="session")
def mlflow_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Each module that star-imports this fixture gets its own copy of it; the cache makes
    # them share one template store.
    if not _TEMPLATE:
        from mlflow import MlflowClient

        db = tmp_path_factory.mktemp("mlflow-template") / "mlflow.db"
        MlflowClient(f"sqlite:///{db}").search_experiments()  # creates the schema
        _TEMPLATE.append(db)
    return _TEMPLATE[0]


@pytest.fixture
def store(tmp_path: Path, mlflow_template: Path) -> str:
    """A fresh, empty MLflow sqlite store in this test's tmp dir (its tracking URI)."""
    db = tmp_path / "mlflow.db"
    shutil.copy(mlflow_template, db)
    return f"sqlite:///{db}"


@pytest.fixture
def screen_csv(tmp_path: Path) -> Path:
    return make_screen_csv(tmp_path / "toy_screen.csv")
