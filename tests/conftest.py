"""Test-wide settings and the one shared Ray.

The environment is set here, at import, because Ray and torch read it when they load:
one thread per process (a busy 2-core box), Ray bound to 127.0.0.1 with auth off, MLflow
pointed at a throwaway directory so no test writes ./mlflow.db.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

pytest_plugins = ["pytester"]  # tests/agents/test_native_isolation.py runs an inner suite

_TMP = tempfile.mkdtemp(prefix="perturbo-tests-")
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
os.environ["RAY_AUTH_MODE"] = "disabled"
os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
os.environ.pop("RAY_ADDRESS", None)  # never join someone else's cluster by accident
os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{_TMP}/mlflow.db"
os.environ["MLFLOW_ARTIFACTS_DESTINATION"] = f"{_TMP}/mlartifacts"


@pytest.fixture(scope="session")
def ray_runtime() -> Iterator[object]:
    """A local Ray with 2 CPUs on 127.0.0.1, started once for the session and stopped after."""
    from perturbo.actors import connect

    runtime = connect(num_cpus=2)
    yield runtime
    runtime.shutdown()


_IN_CHILD = "PERTURBO_NATIVE_CHILD"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "native: loads native model code (llama.cpp) in-process: runs in a child pytest, so a "
        "crash (SIGSEGV, SIGILL) fails this test with its signal instead of killing the run",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run a ``native`` test in a fresh child pytest (spawned, not forked: the parent may hold
    Ray and torch threads, and a fork of a threaded process is not safe; pytest-forked forks).
    The child runs only this test; its fixtures are built there. A crash fails the test here
    with the signal's name and the child's last output."""
    if pyfuncitem.get_closest_marker("native") is None or os.environ.get(_IN_CHILD):
        return None
    env = {**os.environ, _IN_CHILD: "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", pyfuncitem.nodeid],
        cwd=str(pyfuncitem.config.rootpath),
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if proc.returncode == 0:
        last = proc.stdout.strip().splitlines()[-1:] or [""]
        if "skipped" in last[0] and "passed" not in last[0]:
            pytest.skip(f"skipped in its child process: {last[0]}")
        return True
    tail = (proc.stdout + proc.stderr)[-3000:]
    if proc.returncode < 0:
        name = signal.Signals(-proc.returncode).name
        pytest.fail(f"the test's child process died with {name} (native code crashed)\n{tail}")
    if proc.returncode == 5:
        pytest.fail(f"the child pytest found no test {pyfuncitem.nodeid}\n{tail}")
    pytest.fail(f"failed in its child process (exit {proc.returncode})\n{tail}", pytrace=False)


SERIAL_DIRS = ("cluster", "faults")
"""Test folders whose tests run one after another on one pytest-xdist worker (``make test``
runs ``-n 2``): they start Ray heads and worker nodes, PostgreSQL and MLflow servers, kill
drivers and raylets, and time a campaign against an undisturbed twin; two of them at once
would share two cores between two clusters. The rest spreads over both workers."""


def _serial_scope(nodeid: str) -> str:
    """The xdist work unit of a test: ``serial`` for every test under SERIAL_DIRS (in
    collection order, module fixtures shared as in a plain run), else the test alone."""
    parts = nodeid.split("/", 2)
    if len(parts) == 3 and parts[0] == "tests" and parts[1] in SERIAL_DIRS:
        return "serial"
    return nodeid


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """xdist's ``load`` with SERIAL_DIRS as one unit. (Its ``loadgroup`` cannot do it here:
    with pytest 9.2 its ``xdist_group`` marks no longer reach the test ids it schedules by.)"""
    if config.getvalue("dist") not in ("load", "loadgroup"):
        return None
    from xdist.scheduler import LoadScopeScheduling

    class SerialDirsScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _serial_scope(nodeid)

    return SerialDirsScheduling(config, log)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(_TMP, ignore_errors=True)
