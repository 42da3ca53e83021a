"""``--task mytask:train`` run from the folder that holds mytask.py imports it (as ``python -m``
and uvicorn do), there and where its trials run; a module that does not exist is still one
line naming it and the fix."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from perturbo.kinds.hyperparameter.tasks import make_task
from perturbo.space import Float, SearchSpace
from perturbo.types import PerturboError
from perturbo.user_code import import_user_module

SPACE = SearchSpace([Float("x", 0.0, 1.0)])


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder holding cwd_task.py (which imports its neighbour cwd_helper.py), not
    on sys.path; sys.path is restored after the test."""
    (tmp_path / "cwd_task.py").write_text(
        "import cwd_helper\n\ndef train(params):\n    return cwd_helper.score(params['x'])\n"
    )
    (tmp_path / "cwd_helper.py").write_text("def score(x):\n    return -(x - 0.3) ** 2\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    for m in ("cwd_task", "cwd_helper"):
        monkeypatch.delitem(sys.modules, m, raising=False)
    return tmp_path


def test_a_module_in_the_working_folder_is_imported(folder: Path) -> None:
    task = make_task("cwd_task:train", space=SPACE, allow_user_code=True, direction="max")
    assert task.evaluate({"x": 0.3}) == {"value": 0.0}
    assert str(folder) in sys.path  # where a --local child (it takes sys.path) finds it too


def test_a_missing_module_is_still_one_line(folder: Path) -> None:
    with pytest.raises(PerturboError) as e:
        import_user_module("no_such_module_here", "user objective 'no_such_module_here:f'")
    text = str(e.value)
    assert "cannot import module 'no_such_module_here'" in text and "\n" not in text
    assert str(folder) in text and "PYTHONPATH" in text
    assert str(folder) not in sys.path  # not left behind


def test_a_missing_dependency_is_named(folder: Path) -> None:
    (folder / "cwd_broken.py").write_text("import not_installed_dep_xyz\n")
    with pytest.raises(PerturboError) as e:
        import_user_module("cwd_broken", "user objective 'cwd_broken:f'")
    assert "'not_installed_dep_xyz'" in str(e.value) and "install it" in str(e.value)


def test_an_error_in_the_module_is_one_line(folder: Path) -> None:
    (folder / "cwd_syntax.py").write_text("def f(:\n")
    with pytest.raises(PerturboError) as e:
        import_user_module("cwd_syntax", "user objective 'cwd_syntax:f'")
    assert "cwd_syntax" in str(e.value) and "SyntaxError" in str(e.value)


def _perturbo(folder: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(OMP_NUM_THREADS="1", RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0",
               RAY_AUTH_MODE="disabled")  # fmt: skip
    (folder / "space.toml").write_text('[x]\ntype = "float"\nlow = 0.0\nhigh = 1.0\n')
    exe = Path(sys.executable).with_name("perturbo")
    return subprocess.run(
        [str(exe), "run", "hyperparameter", "--task", "cwd_task:train", "--allow-user-code",
         "--space", "space.toml", "--direction", "max", "--planner", "random", "--trials", "2",
         "--batch", "2", "--no-progress", "--tracking-uri", f"sqlite:///{folder / 'm.db'}",
         "--name", "cwd", *extra],
        cwd=folder, env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip


def _trials_completed(folder: Path) -> int:
    from perturbo import tracking
    from perturbo.types import Status

    _, history = tracking.load_history(f"sqlite:///{folder / 'm.db'}", "cwd")
    return sum(o.outcome.status is Status.COMPLETED for o in history)


def test_the_console_script_imports_from_its_working_folder(folder: Path) -> None:
    """``perturbo`` (a console script: its sys.path holds its bin folder, not the working
    folder), with --local: the trials run in a child process, which must import it too."""
    p = _perturbo(folder, "--local")
    assert p.returncode == 0, p.stderr[-3000:]
    assert _trials_completed(folder) == 2


@pytest.mark.slow
def test_ray_workers_import_from_the_drivers_working_folder(folder: Path) -> None:
    """Without --local the trials run on Ray workers, which import the task by name."""
    p = _perturbo(folder, "--workers", "2")
    assert p.returncode == 0, p.stderr[-3000:]
    assert _trials_completed(folder) == 2


def test_an_interpreter_without_the_working_folder_on_its_path_imports_it(tmp_path: Path) -> None:
    """The same import from a plain interpreter whose sys.path lacks the working folder."""
    (tmp_path / "cwd_task2.py").write_text("def train(params):\n    return params['x']\n")
    code = textwrap.dedent(
        """
        import sys, os
        sys.path[:] = [p for p in sys.path if p not in ("", os.getcwd())]
        from perturbo.kinds.hyperparameter.tasks import make_task
        from perturbo.space import Float, SearchSpace
        t = make_task("cwd_task2:train", space=SearchSpace([Float("x", 0, 1)]),
                      allow_user_code=True)
        print(t.evaluate({"x": 0.25}))
        """
    )
    p = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                       text=True, timeout=120)  # fmt: skip
    assert p.returncode == 0, p.stderr[-2000:]
    assert "{'value': 0.25}" in p.stdout
