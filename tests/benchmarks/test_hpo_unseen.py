"""The unseen scikit-learn tasks (benchmarks/hpo_unseen.py) build through the benchmark's task
table and score a config of each space, conditional parameters left out where inactive."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn")
sys.path.append(str(Path(__file__).resolve().parents[2] / "benchmarks"))  # after the packages

import hpo_tasks  # noqa: E402
from hpo_unseen import UNSEEN  # noqa: E402


@pytest.mark.parametrize("name", UNSEEN)
def test_each_task_scores_its_own_configs(name: str) -> None:
    task = hpo_tasks.make_task(name, seed=3)
    space = task.space()
    configs = space.sample(np.random.default_rng(0), 3, set())
    values = [task.evaluate(c)[task.objective] for c in configs]
    assert all(np.isfinite(values))
    if task.direction == "max":  # accuracies
        assert all(0.0 <= v <= 1.0 for v in values)
    else:  # a mean squared error
        assert all(v > 0 for v in values)
    assert task.evaluate(configs[0]) == task.evaluate(configs[0])  # fixed folds and seeds
