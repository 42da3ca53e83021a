"""What a new user's first hyperparameter campaign met, each now one clear line or the
expected behaviour: a quoted ``log``/bound in a space TOML, ``--task mymlp.py:train``, the
``--local`` workers of a user objective, and relative paths in a ``--config`` file."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from perturbo.actors.open import local_workers, open_pool
from perturbo.config import RunOptions, load
from perturbo.kinds.genetic.settings import GeneticConfig
from perturbo.kinds.hyperparameter.settings import HyperparameterConfig
from perturbo.space import SearchSpace
from perturbo.types import PerturboError
from perturbo.user_code import import_user_function, import_user_module

# -- a space TOML's types -----------------------------------------------------------------


@pytest.mark.parametrize(
    "spec, words",
    [
        ({"type": "float", "low": 1e-4, "high": 0.1, "log": "false"}, ["`log`", "true or false"]),
        ({"type": "int", "low": 4, "high": 64, "log": "yes"}, ["`log`", "true or false"]),
        ({"type": "int", "low": "4", "high": 64}, ["`low`", "a number"]),
        ({"type": "float", "low": 0.0, "high": "1.0"}, ["`high`", "a number"]),
        ({"type": "categorical", "choices": [1, 2], "ordered": "true"}, ["`ordered`"]),
    ],
)
def test_a_quoted_switch_or_bound_is_refused_naming_it(spec: dict, words: list[str]) -> None:
    with pytest.raises(PerturboError) as e:
        SearchSpace.from_dict({"p": spec})
    text = str(e.value)
    assert "'p'" in text and "\n" not in text and all(w in text for w in words)


def test_a_toml_log_false_string_is_refused_not_read_as_true(tmp_path: Path) -> None:
    f = tmp_path / "space.toml"
    f.write_text('[lr]\ntype = "float"\nlow = 1e-4\nhigh = 0.1\nlog = "false"\n')
    with pytest.raises(PerturboError, match=r"'lr'.*`log` must be true or false"):
        SearchSpace.from_toml(f)


def test_real_booleans_and_numbers_still_work() -> None:
    s = SearchSpace.from_dict(
        {
            "lr": {"type": "float", "low": 1e-4, "high": 0.1, "log": False},
            "w": {"type": "int", "low": 4.0, "high": 64, "log": True},
        }
    )
    assert s["lr"].log is False and s["w"].log is True and s["w"].low == 4


# -- --task FILE.py:function --------------------------------------------------------------


def test_a_module_named_by_its_file_gets_the_fix_without_py(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pymod_x.py").write_text("def train(params):\n    return 1.0\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    monkeypatch.delitem(sys.modules, "pymod_x", raising=False)
    for call in (
        lambda: import_user_function("pymod_x.py:train", "user objective 'pymod_x.py:train'"),
        lambda: import_user_module("pymod_x.py", "user objective 'pymod_x.py:train'"),
    ):
        with pytest.raises(PerturboError) as e:
            call()
        text = str(e.value)
        assert "pymod_x:train" in text and "without .py" in text
        assert "pymod_x/py.py" not in text and "\n" not in text


# -- --local workers ----------------------------------------------------------------------


class _UserFactory:
    runs_user_code = True

    def __call__(self) -> None:  # never called: no experiment is submitted
        raise AssertionError


def test_local_user_code_runs_a_batch_in_parallel_up_to_the_cpus(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(8)), raising=False)
    assert local_workers(2) == 2 and local_workers(32) == 8 and local_workers(None) == 1
    opened = open_pool(_UserFactory(), local=True, batch=2)
    try:
        assert opened.pool.free_slots() == 2 and "2 child processes" in opened.where
    finally:
        opened.close()
    opened = open_pool(_UserFactory(), local=True, batch=2, workers=1)  # --workers wins
    try:
        assert opened.pool.free_slots() == 1
    finally:
        opened.close()


def test_the_workers_help_says_what_local_does() -> None:
    from perturbo.flags import flag_of

    said = flag_of(RunOptions.model_fields["workers"]).default or ""
    assert "--local" in said and "--batch" in said


# -- relative paths in a --config file -------------------------------------------------------


def test_a_config_files_relative_paths_are_read_from_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "space.toml").write_text('[x]\ntype = "float"\nlow = 0.0\nhigh = 1.0\n')
    (tmp_path / "run.toml").write_text(
        'task = "branin"\nspace = "space.toml"\ntracking_uri = "sqlite:///runs.db"\n'
    )
    elsewhere = tmp_path / "errs"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    options, cfg = load(HyperparameterConfig, {}, "../run.toml", kind="hyperparameter")
    assert cfg.space == str(tmp_path / "space.toml")
    assert options.tracking_uri == f"sqlite:///{tmp_path / 'runs.db'}"
    with pytest.raises(PerturboError, match="does not exist"):  # a flag: the working folder's
        load(HyperparameterConfig, {"space": "space.toml"}, "../run.toml", kind="hyperparameter")


def test_a_config_files_name_valued_setting_stays_a_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "hits.txt").write_text("A\n")
    (tmp_path / "run.toml").write_text('screen = "IFNG"\nhits = "hits.txt"\n')
    monkeypatch.chdir(tmp_path.parent)
    _, cfg = load(GeneticConfig, {}, str(tmp_path / "run.toml"), kind="genetic")
    assert cfg.screen == "IFNG" and cfg.hits == str(tmp_path / "hits.txt")
