"""The architecture contract (issues 7, 18): layers that point one way over every package, the
core never names a kind, kinds are independent, modules stay small. Runs import-linter on the real tree, and once on a copy with a deliberate
violation, so the contract is shown to bite."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from assembled import assemble, lint, plant

ROOT = Path(__file__).resolve().parents[2]
CORE_PACKAGES = ("tracking", "testing", "lab")
"""Besides every top-level module of perturbo (its __init__ too): packages that must not name a
kind (the chat's front ends and agent may: they talk about kinds by name with people)."""
KIND_NAMES = re.compile(
    r"Kind\.(GENETIC|HYPERPARAMETER|ATTACK)|kinds\.(genetic|hyperparameter|attack|hpo_)"
    r"|cli_(genetic|hyperparameter)|[\"'](genetic|hyperparameter|attack|screen)[\"']"
)


def _core_files() -> list[Path]:
    files = sorted((ROOT / "perturbo").glob("*.py"))
    for package in CORE_PACKAGES:
        files += sorted((ROOT / "perturbo" / package).rglob("*.py"))
    return [f for f in files if f.exists()]


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return assemble(tmp_path_factory.mktemp("assembled"))


@pytest.fixture(scope="module")
def linted(tree: Path) -> subprocess.CompletedProcess[str]:
    return lint(tree)


def test_import_contracts_hold(linted: subprocess.CompletedProcess[str]) -> None:
    assert linted.returncode == 0, linted.stdout + linted.stderr
    assert "0 broken" in linted.stdout.lower(), linted.stdout


def test_every_contract_ran(linted: subprocess.CompletedProcess[str]) -> None:
    """The layers contract covers the mapped packages (an empty graph would pass vacuously)."""
    out = linted.stdout
    for name in ("Layers:", "The core never imports a kind", "Kinds are independent"):
        assert name in out, out
    assert "KEPT" in out and "BROKEN" not in out, out


def _violated(tree: Path, tmp_path: Path, module: str, line: str) -> str:
    planted = assemble(tmp_path / "planted")
    plant(planted, module, line)
    r = lint(planted)
    assert r.returncode != 0, f"the contracts did not break on {module}: {line}\n" + r.stdout
    return r.stdout


def test_core_contract_breaks_on_a_kind_import(tree: Path, tmp_path: Path) -> None:
    out = _violated(tree, tmp_path, "plots.py", "import perturbo.kinds.genetic.plots")
    assert "perturbo.plots -> perturbo.kinds.genetic" in out, out


@pytest.mark.parametrize(
    ("module", "line", "edge"),
    [
        # a planner reaching up to the composition root
        ("search/random.py", "import perturbo.launch", "perturbo.search.random -> perturbo.launch"),
        # a package-level cycle: agents import search today; search importing agents closes it
        (
            "search/sobol.py",
            "import perturbo.agents.llm",
            "perturbo.search.sobol -> perturbo.agents.llm",
        ),
        # the store importing a pool
        (
            "tracking/reader.py",
            "import perturbo.actors.jobs",
            "perturbo.tracking.reader -> perturbo.actors.jobs",
        ),
        # the chat agent importing the kind registry (it is handed a catalog instead)
        (
            "agents/chat/facts.py",
            "import perturbo.kinds",
            "perturbo.agents.chat.facts -> perturbo.kinds",
        ),
    ],
)
def test_layers_break_on_a_planted_violation(
    tree: Path, tmp_path: Path, module: str, line: str, edge: str
) -> None:
    out = _violated(tree, tmp_path, module, line)
    assert edge in out, out


def test_kind_independence_breaks(tree: Path, tmp_path: Path) -> None:
    out = _violated(
        tree, tmp_path, "kinds/attack/plots.py", "import perturbo.kinds.genetic.screens"
    )
    assert "perturbo.kinds.attack.plots -> perturbo.kinds.genetic.screens" in out, out


def test_every_top_level_module_is_in_a_layer(tree: Path) -> None:
    """A new module or package of perturbo must be placed in the layers (else it is unchecked)."""
    import tomllib

    config = tomllib.loads((tree / "pyproject.toml").read_text())
    contracts = config["tool"]["importlinter"]["contracts"]
    layers = next(c for c in contracts if c["type"] == "layers")["layers"]
    placed = {m.strip() for layer in layers for m in layer.replace(":", "|").split("|")}
    found = {
        f"perturbo.{p.stem}"
        for p in (tree / "perturbo").iterdir()
        if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").exists()
    }
    assert found - placed == set(), f"not in any layer: {sorted(found - placed)}"
    assert placed - found == set(), (
        f"layers name modules that do not exist: {sorted(placed - found)}"
    )


def _docstring_lines(source: str) -> set[int]:
    """Line numbers of docstrings (module, class, function): prose may name a kind as an example."""
    import ast

    lines: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                if isinstance(body[0].value.value, str):
                    lines.update(range(body[0].lineno, (body[0].end_lineno or 0) + 1))
    return lines


def test_no_kind_name_in_core_modules() -> None:
    offenders = []
    for f in _core_files():
        source = f.read_text()
        prose = _docstring_lines(source)
        for n, line in enumerate(source.splitlines(), 1):
            if line.strip().startswith("#") or n in prose:
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
