"""ASHA's and mf-bo's settings (perturbo/kinds/hyperparameter/trial_budget.py) are checked
when the campaign is built: a bad one is one line naming the flag and the fix, before any of
the user's code runs, never a failure of every trial."""

from __future__ import annotations

import textwrap
import warnings
from pathlib import Path

import pytest

from perturbo import tracking
from perturbo.cli import main
from perturbo.kinds.hyperparameter.compose import build
from perturbo.types import PerturboError

SPACE = '[x]\ntype = "float"\nlow = 0.0\nhigh = 1.0\n'


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    try:
        rc = main(list(argv))
    except SystemExit as e:
        rc = int(e.code or 0)
    return rc, capsys.readouterr().err


def _error_line(rc: int, err: str) -> str:
    assert rc == 2 and "Traceback" not in err, err
    lines = [ln for ln in err.strip().splitlines() if not ln.rstrip().endswith("...")]
    assert len(lines) == 1 and lines[0].startswith("perturbo: error: "), err
    return lines[0]


@pytest.fixture
def epochs_task(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user function trained over epochs that leaves a file behind when it runs."""
    (tmp_path / "budget_mf.py").write_text(
        textwrap.dedent(
            f"""
            from pathlib import Path

            def epochs(params, report):
                Path({str(tmp_path / "ran")!r}).write_text("ran")
                for e in range(1, 28):
                    if not report(e, params["x"]):
                        break
                return {{"val_acc": params["x"]}}
            """
        )
    )
    (tmp_path / "ep.toml").write_text(SPACE)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_min_epochs_above_max_epochs_is_refused_before_any_trial(
    capsys: pytest.CaptureFixture[str], epochs_task: Path
) -> None:
    store = f"sqlite:///{epochs_task / 'm.db'}"
    rc, err = _cli(capsys, "run", "hyperparameter", "--task", "budget_mf:epochs",
                   "--allow-user-code", "--space", str(epochs_task / "ep.toml"), "--objective",
                   "val_acc", "--direction", "max", "--trials", "4", "--local", "--asha",
                   "--min-epochs", "30", "--max-epochs", "27", "--no-progress",
                   "--tracking-uri", store)  # fmt: skip
    line = _error_line(rc, err)
    for w in ("--min-epochs 30", "--max-epochs 27", "--min-epochs 26 or less"):
        assert w in line, (w, line)
    assert not (epochs_task / "ran").exists()  # the user's code never ran
    assert tracking.list_campaigns(store) == []  # nothing to resume


@pytest.mark.parametrize(
    "config, words",
    [
        ({"min_epochs": 30, "max_epochs": 27}, ["--min-epochs 30", "--max-epochs 27"]),
        ({"min_epochs": 3, "max_epochs": 3}, ["--min-epochs 3", "--max-epochs 3"]),
        ({"min_epochs": 27}, ["--min-epochs 27", "27 epochs of task 'wine-mlp'"]),
    ],
)
def test_every_asha_setting_is_checked_at_build(config, words) -> None:
    """The Python path (a config dict, as ``Campaign(...)`` and ``resume`` build one)."""
    with pytest.raises(PerturboError) as e:
        build({"task": "wine-mlp", "asha": True, "trials": 2, **config})
    for w in words:
        assert w in str(e.value), (w, str(e.value))


def test_a_good_asha_setting_builds_and_an_unused_one_is_said() -> None:
    parts = build({"task": "wine-mlp", "asha": True, "min_epochs": 3, "max_epochs": 9})
    assert parts.executor_factory.rungs.min_epochs == 3
    with pytest.warns(UserWarning, match=r"--min-epochs 3 .* --asha is off"):
        build({"task": "wine-mlp", "min_epochs": 3})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the defaults: nothing to say
        build({"task": "wine-mlp"})


FIDELITY_SPACE = """
[kind]
type = "categorical"
choices = ["a", "b"]
[depth]
type = "int"
low = 1
high = 9
when = { kind = ["a"] }
[frac]
type = "float"
low = -1.0
high = 0.0
"""


@pytest.mark.parametrize(
    "fidelity, words, not_words",
    [
        ("depth", ["--fidelity 'depth'", "must not be conditional", "remove its `when`"],
         ["add it to --space"]),
        ("frac", ["--fidelity 'frac'", "positive", "a float in [-1, 0]"], ["add it to --space"]),
        ("nope", ["--fidelity 'nope'", "no parameter 'nope'", "add it to --space"], []),
    ],
)  # fmt: skip
def test_a_fidelity_in_the_space_is_not_told_to_be_added(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fidelity: str,
    words: list[str],
    not_words: list[str],
) -> None:
    (tmp_path / "cond.toml").write_text(FIDELITY_SPACE)
    (tmp_path / "budget_fid.py").write_text("def f(params):\n    return 0.0\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    rc, err = _cli(capsys, "run", "hyperparameter", "--task", "budget_fid:f", "--allow-user-code",
                   "--space", str(tmp_path / "cond.toml"), "--direction", "max", "--planner",
                   "mf-bo", "--fidelity", fidelity, "--trials", "2", "--local", "--no-progress",
                   "--tracking-uri", f"sqlite:///{tmp_path / 'm.db'}")  # fmt: skip
    line = _error_line(rc, err)
    for w in words:
        assert w in line, (w, line)
    for w in not_words:
        assert w not in line, (w, line)
