"""Test-wide settings and the one shared Ray.

The environment is set here, at import, because Ray and torch read it when they load:
one thread per process (a busy 2-core box), Ray bound to 127.0.0.1 with auth off, MLflow
pointed at a throwaway directory so no test writes ./mlflow.db.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator

import pytest

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


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(_TMP, ignore_errors=True)
