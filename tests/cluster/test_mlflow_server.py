"""A campaign recorded over HTTP on a real MLflow server backed by PostgreSQL (the deploy
recipe, deploy/mlflow-server.sh), read back with perturbo.tracking and `perturbo show`."""

from __future__ import annotations

from pathlib import Path

import pytest
from cluster_campaign import CAMPAIGN
from servers import MlflowServer, Postgres, count_runs

from perturbo.cli import main

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]  # setup: servers on a busy box


def test_campaign_over_http_on_postgres(
    mlflow_server: MlflowServer,
    postgres: Postgres,
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from perturbo import tracking
    from perturbo.types import Status

    name = "hpo-branin-over-http"
    monkeypatch.chdir(workdir)  # the CLI in this process (its imports are paid already)
    rc = main([*CAMPAIGN, "--local", "--tracking-uri", mlflow_server.url, "--name", name])
    assert rc == 0, capsys.readouterr().err[-3000:]

    config, history = tracking.load_history(mlflow_server.url, name)
    assert config["task"] == "branin" and config["trials"] == 8
    assert len(history) == 8
    assert {o.outcome.status for o in history} == {Status.COMPLETED}
    assert len({o.spec.id for o in history}) == 8  # every trial recorded once

    # Where it went: rows in PostgreSQL (a parent run + one nested run per trial), artifacts
    # uploaded through the server into its artifact store, nothing written beside the client.
    assert count_runs(postgres, name) == 1 + 8
    assert any(p.name == "config.json" for p in mlflow_server.artifacts.rglob("*")), sorted(
        mlflow_server.artifacts.rglob("*")
    )[:20]
    assert not (workdir / "mlflow.db").exists() and not (workdir / "mlruns").exists()

    capsys.readouterr()
    assert main(["show", name, "--tracking-uri", mlflow_server.url]) == 0
    out = capsys.readouterr().out
    assert name in out and "hyperparameter" in out
    assert name in {c.name for c in tracking.list_campaigns(mlflow_server.url)}


def test_database_password_is_not_on_a_command_line(
    mlflow_server: MlflowServer, postgres: Postgres
) -> None:
    """`ps` shows every user each process's command line: the backend URI (with the database
    password) goes to the server by its environment (deploy/mlflow-server.sh)."""
    from servers import group_pids

    pids = group_pids(mlflow_server.proc.pid)
    assert pids, "the server runs"
    for pid in pids:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        assert postgres.password not in cmd, cmd
