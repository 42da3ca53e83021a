"""The import tree as Python sees it, assembled in a folder: pyproject's ``package-dir`` maps
the top-level ``search/``, ``agents/`` and ``actors/`` folders into ``perturbo``, which grimp
(import-linter's graph) does not follow. Copying them in as ``perturbo/search`` etc. lets the
contracts cover every package."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAPPED = ("search", "agents", "actors")
_IGNORE = shutil.ignore_patterns("data", "__pycache__", "*.npz", "*.csv", "*.gmt", "static")


def assemble(dest: Path) -> Path:
    """Copy the package (with the mapped folders inside it) and pyproject.toml to ``dest``."""
    shutil.copytree(ROOT / "perturbo", dest / "perturbo", ignore=_IGNORE)
    for name in MAPPED:
        shutil.copytree(ROOT / name, dest / "perturbo" / name, ignore=_IGNORE, dirs_exist_ok=True)
    shutil.copy(ROOT / "pyproject.toml", dest / "pyproject.toml")
    return dest


def lint(tree: Path) -> subprocess.CompletedProcess[str]:
    """import-linter on an assembled ``tree`` (its pyproject.toml's contracts)."""
    exe = Path(sys.executable).with_name("lint-imports")
    if not exe.exists():
        pytest.skip("import-linter is not installed (pip install -e .[dev])")
    return subprocess.run(
        [str(exe), "--config", str(tree / "pyproject.toml"), "--no-cache"],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(tree)},
    )


def plant(tree: Path, module: str, line: str) -> None:
    """Append ``line`` to ``module`` (a path under the assembled perturbo/)."""
    f = tree / "perturbo" / module
    f.write_text(f.read_text() + f"\n{line}\n")


if __name__ == "__main__":  # `make lint`: the contracts on the assembled tree
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        result = lint(assemble(Path(tmp)))
        print(result.stdout, result.stderr, sep="", end="")
        sys.exit(result.returncode)
