"""The environment contract (issue 18): environment variables are read in one place
(:mod:`perturbo.config`), and only the process entry points change process-wide settings
(environment variables, torch's thread count). Every module of the four package folders is
parsed (``ast``); a read or write of ``os.environ`` / ``os.getenv`` / ``os.putenv``, a
``set_num_threads`` call, or a call of config's process setters (``apply_env``,
``set_torch_threads``, ``prepare_process``) outside :data:`ALLOWED` fails. The same check is
run once on a copy with planted violations, so it is shown to bite."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ("perturbo", "search", "agents", "actors")

ENV_NAMES = {"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"}
"""``os.<name>``: the environment, read or written."""
THREAD_SETTERS = {"set_num_threads", "set_num_interop_threads"}
"""torch's process-wide thread counts."""
PROCESS_SETTERS = {"apply_env", "set_torch_threads", "prepare_process"}
""":mod:`perturbo.config`'s process setters: for entry points only."""

CONFIG = {"perturbo/config.py", "perturbo/config_env.py"}
"""The one reader of the environment (and where the process setters are defined)."""

ALLOWED: dict[str, str] = {
    "perturbo/cli.py::main": "the console script's entry point",
    "agents/chat/actions.py::Launcher._start": (
        "the chat's launcher builds its child's environment (PERTURBO_HONOUR_SIGINT: its stop "
        "is SIGINT); its own process's environment is untouched"
    ),
    "perturbo/launch.py::launched": "the composition root: the Python APIs' entry point",
    "perturbo/api.py::open_campaign": (
        "the lab's Python API entry point (often a notebook's first call): MLflow's client "
        "defaults, as the CLI sets them (no artifact progress bars)"
    ),
    "perturbo/tracking/ui_server.py::main": "the MLflow UI server process's main",
    "actors/ray_worker.py::Worker.__init__": "the Ray actor process's entry point",
    "actors/ray_worker.py::Worker._get": "the Ray actor process's entry point",
    "actors/target_host.py::_TargetHostActor.__init__": "the target host actor's entry point",
    "actors/ray_runtime.py::connect": (
        "Ray's bootstrap: Ray reads its settings at import and the raylet inherits the "
        "driver's environment; no way to hand them over as data"
    ),
    "actors/process_pool.py::_child_main.get": (
        "the process pool's child's entry point: one torch thread, once it built the executor"
    ),
}
"""``path::function`` (qualified name) allowed to touch process-wide settings, and why."""


def _modules(root: Path) -> list[Path]:
    files: list[Path] = []
    for folder in FOLDERS:
        files += sorted((root / folder).rglob("*.py"))
    return [f for f in files if "__pycache__" not in f.parts]


class _Finder(ast.NodeVisitor):
    """Where a module touches the environment or a process-wide setting: ``(qualname, line,
    what)`` for each."""

    def __init__(self) -> None:
        self.scope: list[str] = []
        self.os_names = {"os"}
        self.found: list[tuple[str, int, str]] = []

    def _hit(self, node: ast.AST, what: str) -> None:
        self.found.append((".".join(self.scope), getattr(node, "lineno", 0), what))

    def _scoped(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        self.scope.append(node.name)
        self.generic_visit(node)
        self.scope.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _scoped

    def visit_Import(self, node: ast.Import) -> None:
        for a in node.names:
            if a.name == "os":
                self.os_names.add(a.asname or "os")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module == "os":
            for a in node.names:
                if a.name in ENV_NAMES:
                    self._hit(node, f"from os import {a.name}")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if (
            node.attr in ENV_NAMES
            and isinstance(node.value, ast.Name)
            and node.value.id in self.os_names
        ):
            self._hit(node, f"os.{node.attr}")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        f = node.func
        name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
        if name in THREAD_SETTERS or name in PROCESS_SETTERS:
            self._hit(node, f"{name}()")
        self.generic_visit(node)


def touches(root: Path) -> dict[str, list[str]]:
    """``path::qualname`` -> what it touches, for every module outside :data:`CONFIG`."""
    out: dict[str, list[str]] = {}
    for path in _modules(root):
        rel = path.relative_to(root).as_posix()
        if rel in CONFIG:
            continue
        finder = _Finder()
        finder.visit(ast.parse(path.read_text(), filename=rel))
        for qualname, line, what in finder.found:
            out.setdefault(f"{rel}::{qualname}", []).append(f"{what} (line {line})")
    return out


def violations(root: Path) -> list[str]:
    return [f"{where}: {', '.join(what)}" for where, what in touches(root).items()
            if where not in ALLOWED]  # fmt: skip


def test_only_config_and_entry_points_touch_the_environment() -> None:
    bad = violations(ROOT)
    assert not bad, (
        "read the environment through perturbo.config and pass the values down; only the "
        "entry points in ALLOWED set process-wide things:\n" + "\n".join(bad)
    )


def test_every_allowed_entry_is_used() -> None:
    """An entry point that no longer touches anything leaves the allow-list."""
    stale = sorted(set(ALLOWED) - set(touches(ROOT)))
    assert not stale, f"remove from ALLOWED (nothing there any more): {stale}"


def test_the_check_catches_planted_violations(tmp_path: Path) -> None:
    """A copy of the tree with five planted violations: each is reported, by its function."""
    for folder in FOLDERS:
        shutil.copytree(
            ROOT / folder,
            tmp_path / folder,
            ignore=shutil.ignore_patterns("data", "static", "__pycache__", "*.npz", "*.gguf"),
        )
    assert violations(tmp_path) == []

    def plant(rel: str, code: str) -> None:
        p = tmp_path / rel
        p.write_text(p.read_text() + "\n\n" + code + "\n")

    plant("perturbo/tracking/backlog.py", "def _wait():\n    return os.environ.get('X')")
    plant("perturbo/status.py", "from os import getenv as _g")
    plant("search/bo.py", "def _threads(torch):\n    torch.set_num_threads(4)")
    plant("agents/llm.py", "import os as _o\n\ndef _set():\n    _o.putenv('X', '1')")
    plant("actors/ray_worker.py",  # the actor's entry point is allowed; another method is not
          "class Other:\n    def run(self):\n        apply_env({'X': '1'})")  # fmt: skip
    bad = violations(tmp_path)
    assert len(bad) == 5, bad
    for where in (
        "perturbo/tracking/backlog.py::_wait: os.environ",
        "perturbo/status.py::: from os import getenv",
        "search/bo.py::_threads: set_num_threads()",
        "agents/llm.py::_set: os.putenv",
        "actors/ray_worker.py::Other.run: apply_env()",
    ):
        assert any(b.startswith(where) for b in bad), (where, bad)


def test_every_variable_read_is_documented() -> None:
    """:data:`perturbo.config.ENVIRONMENT` names every variable config reads (its default,
    what it does), and nothing it does not read."""
    from perturbo.config import ENVIRONMENT

    tree = ast.parse((ROOT / "perturbo" / "config_env.py").read_text())
    read = {
        n.args[0].value
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "get"
        and n.args and isinstance(n.args[0], ast.Constant) and str(n.args[0].value).isupper()
    }  # fmt: skip
    read |= {"OPENAI_API_KEY", "ANTHROPIC_API_KEY"}  # through the backend -> variable table
    assert read == {v.name for v in ENVIRONMENT}
    assert all(v.default and v.does for v in ENVIRONMENT)


def test_environment_is_read_typed_and_defaulted() -> None:
    from perturbo.config import environment

    e = environment({})
    assert (e.tracking_uri, e.ray_address, e.heartbeat_s, e.store_wait_s) == (None, None, 30, 300)
    e = environment({
        "MLFLOW_TRACKING_URI": "sqlite:///x.db", "PERTURBO_HEARTBEAT_S": "0.01",
        "PERTURBO_STORE_WAIT_S": "bad", "OPENAI_API_KEY": "k", "TMPDIR": "/t",
        "RAY_JOB_CONFIG_JSON_ENV_VAR": '{"runtime_env": {"env_vars": {"A": "1"}}}',
    })  # fmt: skip
    assert e.tracking_uri == "sqlite:///x.db" and e.heartbeat_s == 0.2 and e.store_wait_s == 300
    assert e.api_keys == {"openai": "k"} and e.ray_tmpdir == "/t"
    assert e.ray_job_runtime_env == {"env_vars": {"A": "1"}}
