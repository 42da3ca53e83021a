"""A campaign whose every trial fails because the function returns no metric of the
objective's name (``--objective val_acc``; it returns ``val_accuracy``) stopped with "fix the
cause, then `perturbo resume` continues": a dead end, since a resume keeps ``--objective`` and
fails the same way. The advice is now a new campaign naming the returned metric closest to it."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from stores import *  # noqa: F403

from perturbo.history import History
from perturbo.schedule import SAME_FAILURES, Steps
from perturbo.types import ExperimentSpec, Observation, PerturboError, failed

MISSING = "objective returned no 'val_acc' metric (got ['n_params', 'val_accuracy', 'val_loss'])"


def _failing(reason: str, n: int = SAME_FAILURES) -> History:
    return History(
        [
            Observation(ExperimentSpec({"x": i}, "random", id=f"r001-{i:04d}"), failed(reason))
            for i in range(n)
        ]
    )


def _stopped(history: History, recorder: Any) -> str:
    steps = Steps(planner=None, pool=None, space=None, history=history, recorder=recorder)  # type: ignore[arg-type]
    with pytest.raises(PerturboError) as e:
        steps.check_not_all_failing()
    return str(e.value)


@pytest.mark.parametrize("recorder", [object(), None], ids=["recorded", "unrecorded"])
def test_a_misnamed_objective_advises_a_new_campaign_naming_the_close_metric(
    recorder: Any,
) -> None:
    msg = _stopped(_failing(MISSING), recorder)
    assert "failed the same way" in msg and MISSING in msg
    assert "start a new campaign" in msg and "naming 'val_accuracy' instead" in msg, msg
    assert "--objective" in msg and "--desirability" in msg
    assert "resume` continues" not in msg and "fix the cause" not in msg, msg


def test_no_close_name_lists_what_the_function_returns() -> None:
    msg = _stopped(_failing("objective returned no 'score' metric (got ['loss', 'n_params'])"), 1)
    assert "one of 'loss', 'n_params'" in msg, msg


def test_another_failure_keeps_the_resume_advice() -> None:
    msg = _stopped(_failing("objective raised ZeroDivisionError: division by zero"), object())
    assert "fix the cause, then `perturbo resume` continues" in msg, msg


def test_the_cli_says_so_for_a_user_function(
    capsys: pytest.CaptureFixture[str], store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from perturbo.cli import main

    (tmp_path / "misnamed_mod.py").write_text(
        textwrap.dedent(
            """
            def objective(params):
                return {"val_accuracy": params["x"], "val_loss": 1 - params["x"]}
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("misnamed_mod", None)
    space = tmp_path / "space.toml"
    space.write_text('[x]\ntype = "float"\nlow = 0.0\nhigh = 1.0\n')
    rc = main(
        [
            "run", "hyperparameter", "--task", "misnamed_mod:objective", "--allow-user-code",
            "--objective", "val_acc", "--direction", "max", "--planner", "random",
            "--no-progress", "--space", str(space), "--local", "--tracking-uri", store,
            "--trials", "8", "--batch", "2", "--name", "misnamed",
        ]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2, err[-2000:]
    last = err.strip().splitlines()[-1]
    assert "no 'val_acc' metric" in last and "naming 'val_accuracy' instead" in last, last
    assert "resume` continues" not in last, last
