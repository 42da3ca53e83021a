"""The architecture contract (issue 7): the core never names a kind, kinds are independent,
modules stay small. Runs import-linter on the real tree, and once on a copy with a deliberate
violation, so the contract is shown to bite."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORE = [
    "campaign.py",
    "parts.py",
    "types.py",
    "protocols.py",
    "history.py",
    "plots.py",
    "progress.py",
    "config.py",
    "cli.py",
    "api.py",
    "launch.py",
    "launch_checks.py",
    "show.py",
    "show_results.py",
    "kindspec.py",
]
KIND_NAMES = re.compile(
    r"Kind\.(GENETIC|HYPERPARAMETER|ATTACK)|kinds\.(genetic|hyperparameter|attack|hpo_)"
    r"|cli_(genetic|hyperparameter)|[\"'](genetic|hyperparameter|attack|screen)[\"']"
)


def _core_files() -> list[Path]:
    files = [ROOT / "perturbo" / f for f in CORE]
    files += sorted((ROOT / "perturbo" / "tracking").rglob("*.py"))
    return [f for f in files if f.exists()]


def _lint(cwd: Path, env_path: Path | None = None) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("lint-imports")
    if not exe.exists():
        pytest.skip("import-linter is not installed (pip install -e .[dev])")
    env = None
    if env_path is not None:
        import os

        env = {**os.environ, "PYTHONPATH": str(env_path)}
    return subprocess.run(
        [str(exe), "--config", str(cwd / "pyproject.toml"), "--no-cache"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_import_contracts_hold() -> None:
    r = _lint(ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "broken" not in r.stdout.lower() or " 0 broken" in r.stdout.lower()


def test_import_contract_fails_on_a_deliberate_violation(tmp_path: Path) -> None:
    """Copy the package, make plots.py import a kind, and the same contract must break."""
    shutil.copytree(
        ROOT / "perturbo",
        tmp_path / "perturbo",
        ignore=shutil.ignore_patterns("data", "__pycache__", "*.npz", "*.csv", "*.gmt"),
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    plots = tmp_path / "perturbo" / "plots.py"
    plots.write_text(plots.read_text() + "\nimport perturbo.kinds.genetic.plots  # violation\n")
    r = _lint(tmp_path, env_path=tmp_path)
    assert r.returncode != 0, r.stdout
    assert "perturbo.plots -> perturbo.kinds.genetic" in r.stdout, r.stdout


def test_no_kind_name_in_core_modules() -> None:
    offenders = []
    for f in _core_files():
        for n, line in enumerate(f.read_text().splitlines(), 1):
            if line.strip().startswith("#"):
                continue
            if KIND_NAMES.search(line):
                offenders.append(f"{f.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not offenders, "the core names a kind:\n" + "\n".join(offenders)


def test_the_grep_catches_a_kind_name() -> None:
    assert KIND_NAMES.search('if kind == "genetic":')
    assert KIND_NAMES.search("from perturbo.kinds.attack import KIND")
    assert not KIND_NAMES.search("spec = kinds.get(name)")


def test_modules_stay_small() -> None:
    big = []
    for top in ("perturbo", "search", "agents", "actors"):
        for f in (ROOT / top).rglob("*.py"):
            n = len(f.read_text().splitlines())
            if n > 500:
                big.append(f"{f.relative_to(ROOT)} ({n} lines)")
    assert not big, "modules over 500 lines: " + ", ".join(big)
