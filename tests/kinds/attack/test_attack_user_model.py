"""``--model mymodel:factory --allow-user-code`` finds ``mymodel.py`` in the working folder, as
the README says of user code (it used to need PYTHONPATH=.)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from perturbo.types import PerturboError
from perturbo.user_code import import_user_function

pytestmark = pytest.mark.slow


def test_model_factory_in_the_working_folder(
    tmp_path: Path, digits_files: tuple[Path, Path]
) -> None:
    model, data = digits_files
    (tmp_path / "mymodel.py").write_text(
        f"import torch\n\ndef factory():\n    return torch.jit.load({str(model)!r})\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    argv = [
        str(Path(sys.executable).parent / "perturbo"), "run", "attack",
        "--model", "mymodel:factory", "--allow-user-code", "--data", str(data),
        "--samples", "20", "--trials", "1", "--methods", "fgsm", "--certify", "off",
        "--local", "--no-progress", "--tracking-uri", f"sqlite:///{tmp_path}/m.db",
        "--name", "user-model",
    ]  # fmt: skip
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "done: 1 experiment" in proc.stderr, proc.stderr


def test_missing_function_names_the_flag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pt_user_mod_x.py").write_text("def other():\n    return 1\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    with pytest.raises(PerturboError, match=r"--model 'pt_user_mod_x:factory'.*no 'factory'"):
        import_user_function("pt_user_mod_x:factory", "--model 'pt_user_mod_x:factory'")
    with pytest.raises(PerturboError, match=r"cannot import module 'pt_nope_zz'.*working folder"):
        import_user_function("pt_nope_zz:f", "--model 'pt_nope_zz:f'")
