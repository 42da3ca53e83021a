"""``perturbo resume --trials N`` below or at what a campaign recorded is refused, naming the
least N that runs something (one more than recorded), and that N runs; the messages count
one trial as "1 trial"."""

from __future__ import annotations

import pytest
from stores import *  # noqa: F403

from perturbo import tracking
from perturbo.cli import main

HPO = ["hyperparameter", "--task", "branin", "--planner", "random", "--batch", "1", "--local",
       "--no-progress"]  # fmt: skip


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    rc = main(list(argv))
    return rc, capsys.readouterr().err


def _error_line(rc: int, err: str) -> str:
    assert rc == 2 and "Traceback" not in err, err
    line = err.strip().splitlines()[-1]
    assert line.startswith("perturbo: error: "), err
    return line


def _resume(capsys, store: str, name: str, trials: int) -> tuple[int, str]:
    return _cli(capsys, "resume", name, "--trials", str(trials), "--local", "--no-progress",
                "--tracking-uri", store)  # fmt: skip


def test_the_least_trials_named_is_one_more_than_recorded(
    capsys: pytest.CaptureFixture[str], store: str
) -> None:
    rc, err = _cli(capsys, "run", *HPO, "--trials", "3", "--tracking-uri", store, "--name", "b3")
    assert rc == 0, err
    for below in (2, 3):  # both sides of the boundary: 3 is what is recorded, 4 runs one more
        line = _error_line(*_resume(capsys, store, "b3", below))
        assert f"--trials {below}" in line and "already has 3 trials recorded" in line, line
        assert "pass --trials 4 or more" in line, line
        assert len(tracking.load_history(store, "b3")[1]) == 3
    rc, err = _resume(capsys, store, "b3", 4)
    assert rc == 0, err
    config, history = tracking.load_history(store, "b3")
    assert config["trials"] == 4 and len(history) == 4


def test_one_trial_is_counted_as_one(capsys: pytest.CaptureFixture[str], store: str) -> None:
    rc, err = _cli(capsys, "run", *HPO, "--trials", "1", "--tracking-uri", store, "--name", "b1")
    assert rc == 0, err
    line = _error_line(*_resume(capsys, store, "b1", 1))
    assert "already has 1 trial recorded" in line and "pass --trials 2 or more" in line, line
    rc, err = _cli(capsys, "resume", "b1", "--local", "--no-progress", "--tracking-uri", store)
    line = _error_line(rc, err)
    assert "it ran its 1 trial," in line and "1 trials" not in line, line


def test_a_single_failed_trial_is_counted_as_one(
    capsys: pytest.CaptureFixture[str], store: str, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "budget_fails.py").write_text("def f(params):\n    raise RuntimeError('no')\n")
    (tmp_path / "s.toml").write_text('[x]\ntype = "float"\nlow = 0.0\nhigh = 1.0\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    rc, err = _cli(capsys, "run", "hyperparameter", "--task", "budget_fails:f",
                   "--allow-user-code", "--space", str(tmp_path / "s.toml"), "--direction",
                   "max", "--trials", "1", "--batch", "1", "--local", "--no-progress",
                   "--tracking-uri", store, "--name", "f1")  # fmt: skip
    line = _error_line(rc, err)
    assert "the only experiment of campaign 'f1' failed" in line, line
    assert "(its 1 trial is spent)" in line and "1 trials" not in line, line
