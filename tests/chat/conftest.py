"""A real sqlite MLflow store with two finished campaigns of different kinds, made once per
session with the real CLI (in-process: a subprocess per campaign costs a Python start and the
imports again): ``perturbo run hyperparameter`` (8 branin trials) and ``perturbo run genetic``
(2 rounds of 16 genes)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/stores.py

from chat_helpers import GEN, HPO  # noqa: E402
from stores import mlflow_template  # noqa: E402,F401


@pytest.fixture(scope="session")
def chat_store(tmp_path_factory: pytest.TempPathFactory, mlflow_template: Path) -> str:  # noqa: F811
    from perturbo.cli import main

    folder = tmp_path_factory.mktemp("chat-store")
    db = folder / "mlflow.db"
    shutil.copy(mlflow_template, db)
    uri = f"sqlite:///{db}"
    common = ["--local", "--no-progress", "--tracking-uri", uri]
    assert main(["run", "hyperparameter", "--task", "branin", "--planner", "random", "--trials", "8",
                 "--batch", "4", "--name", HPO, *common]) == 0  # fmt: skip
    assert main(["run", "genetic", "--screen", "Scharenberg22", "--planner", "random", "--rounds", "2",
                 "--batch", "16", "--name", GEN, *common]) == 0  # fmt: skip
    return uri
