"""The campaign the cluster tests run: 8 trials of a cheap synthetic task, 4 at a time."""

from __future__ import annotations

CAMPAIGN = [
    "run",
    "hyperparameter",
    "--task",
    "branin",
    "--planner",
    "random",
    "--trials",
    "8",
    "--batch",
    "4",
    "--no-progress",
]
