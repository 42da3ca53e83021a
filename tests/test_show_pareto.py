"""`perturbo show` of a campaign with several objectives prints its Pareto front, every
objective of every trial on it, as the store recorded it (``pareto_front.json``); it printed
the best of the first objective alone, as if the others did not exist."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from stores import *  # noqa: F403

from perturbo import tracking
from perturbo.cli import main
from perturbo.show import _fmt


@pytest.mark.slow
def test_show_prints_every_objective_of_the_pareto_front(
    store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(
        [
            "run", "hyperparameter", "--task", "wine-mlp",
            "--objective", "val_accuracy,n_params", "--direction", "max,min",
            "--planner", "random", "--trials", "6", "--batch", "3", "--max-epochs", "1",
            "--seed", "2", "--local", "--tracking-uri", store, "--name", "mo-show",
            "--no-progress",
        ]
    )  # fmt: skip
    assert rc == 0, capsys.readouterr().err
    capsys.readouterr()
    assert main(["show", "mo-show", "--tracking-uri", store]) == 0
    out = capsys.readouterr().out
    saved = json.loads(
        tracking.open_store(store).download("mo-show", "pareto_front.json", tmp_path).read_text()
    )
    assert "Pareto front of val_accuracy (max), n_params (min)" in out, out
    assert f"{len(saved['trials'])} trials" in out, out
    lines = out.splitlines()
    for trial in saved["trials"]:
        (line,) = [ln for ln in lines if ln.strip().startswith(f"{trial['id']}:")]
        for name in ("val_accuracy", "n_params"):
            assert f"{name}={_fmt(trial['values'][name])}" in line, (line, trial)
