"""Fixtures for the cluster tests: one PostgreSQL + MLflow server per session (started on
first use), stopped by PID at the end. See servers.py."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from servers import (
    MlflowServer,
    Postgres,
    postgres_bin,
    remove_postgres_dir,
    start_mlflow,
    start_postgres,
)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    bin_dir = postgres_bin()
    if bin_dir is None:
        pytest.skip(
            "PostgreSQL binaries (initdb, postgres) not found on PATH or in /usr/lib/postgresql"
        )
    try:
        import psycopg2  # noqa: F401 - mlflow's PostgreSQL driver
    except ImportError:
        pytest.fail("psycopg2 missing: pip install psycopg2-binary (a dev dependency of perturbo)")
    pg = start_postgres(bin_dir)
    try:
        yield pg
    finally:
        pg.stop()
        remove_postgres_dir(pg)


@pytest.fixture(scope="session")
def mlflow_server_started(
    postgres: Postgres, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MlflowServer]:
    """``deploy/mlflow-server.sh`` on the session's PostgreSQL, artifacts in a temp dir,
    launched and not yet ready (a Ray head can start meanwhile: see test_ray_job.py)."""
    root = tmp_path_factory.mktemp("mlflow-server")
    server = start_mlflow(postgres.uri, root)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def mlflow_server(mlflow_server_started: MlflowServer) -> MlflowServer:
    """The MLflow server, answering /health."""
    return mlflow_server_started.wait_ready()


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A small directory to run the CLI in (and to upload as a Ray job's --working-dir)."""
    d = tmp_path / "job"
    d.mkdir()
    return d
