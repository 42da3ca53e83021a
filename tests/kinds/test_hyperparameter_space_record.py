"""A hyperparameter campaign records its ``--space`` at the start: an edit of the file since
cannot change what a resume proposes (it says so in one line), a moved file cannot stop a
resume, and a campaign recorded before (its config holding only the path) resumes as before."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from stores import *  # noqa: F403

from perturbo import tracking
from perturbo.cli import main
from perturbo.kinds.hyperparameter.compose import build

SPACE = """
[x]
type = "float"
low = 0.0
high = 1.0

[act]
type = "categorical"
choices = ["relu", "tanh"]
"""

EDITED = SPACE.replace('["relu", "tanh"]', '["relu", "elu"]').replace("[x]", "[y]")


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder holding rec_obj.py and space.toml; sys.path restored after."""
    (tmp_path / "rec_obj.py").write_text(
        "def f(params):\n"
        "    assert params['act'] in ('relu', 'tanh'), params\n"
        "    return {'value': params['x']}\n"
    )
    (tmp_path / "space.toml").write_text(SPACE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    monkeypatch.delitem(sys.modules, "rec_obj", raising=False)
    return tmp_path


def _run(store: str, *extra: str) -> int:
    return main([*extra, "--local", "--no-progress", "--tracking-uri", store])


START = [
    "run",
    "hyperparameter",
    "--task",
    "rec_obj:f",
    "--allow-user-code",
    "--space",
    "space.toml",
    "--direction",
    "max",
    "--planner",
    "random",
    "--trials",
    "2",
    "--batch",
    "1",
    "--name",
    "rec",
]


def test_the_space_is_recorded_and_an_edit_since_is_named_not_used(
    folder: Path, store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(store, *START) == 0
    config = tracking.open_store(store).config("rec")
    assert config["space"]["act"]["choices"] == ["relu", "tanh"]
    assert config["space_file"] == str(folder / "space.toml")
    (folder / "space.toml").write_text(EDITED)
    capsys.readouterr()
    assert _run(store, "resume", "rec", "--trials", "4") == 0
    err = capsys.readouterr().err
    [note] = [line for line in err.splitlines() if "changed since" in line]
    assert str(folder / "space.toml") in note and "start a new campaign" in note
    history = tracking.open_store(store).history("rec")
    assert len(history) == 4 and all(o.outcome.ok for o in history)
    assert all(set(o.spec.params) == {"x", "act"} for o in history)


def test_a_moved_space_file_does_not_stop_a_resume(
    folder: Path, store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(store, *START) == 0
    (folder / "space.toml").rename(folder / "elsewhere.toml")
    capsys.readouterr()
    assert _run(store, "resume", "rec", "--trials", "3") == 0
    assert "changed since" not in capsys.readouterr().err
    assert len(tracking.open_store(store).history("rec")) == 3


def test_a_config_recorded_with_only_the_path_reads_the_file_as_before(folder: Path) -> None:
    old = {"task": "rec_obj:f", "allow_user_code": True, "direction": "max"}
    parts = build({**old, "space": str(folder / "space.toml"), "planner": "random"})
    assert parts.space.names == ("x", "act")
    assert parts.config["space"] == parts.space.to_dict()  # recorded as a table from now on
    assert parts.config["space_file"] == str(folder / "space.toml")
