"""``perturbo status --address``: with the tracking store down, the Ray jobs still show, then
one error line naming the store (its password hidden), exit 2."""

from __future__ import annotations

import socket
from types import SimpleNamespace

import pytest

import perturbo.actors.jobs as jobs_module
from perturbo.cli import main

JOB = SimpleNamespace(
    submission_id="raysubmit_abc123",
    status="RUNNING",
    job_id="02000000",
    entrypoint="perturbo run genetic --tracking-uri http://mlflow:5000",
    start_time=None,
)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def dashboard(monkeypatch) -> str:
    seen: list[str] = []
    monkeypatch.setattr(jobs_module, "perturbo_jobs", lambda dash: seen.append(dash) or [JOB])
    return "http://127.0.0.1:8265"


def test_status_lists_ray_jobs_when_the_store_is_down(dashboard, capsys) -> None:
    uri = f"http://ops:hunter2@127.0.0.1:{_closed_port()}"
    code = main(["status", "--address", dashboard, "--tracking-uri", uri])
    out, err = capsys.readouterr()
    assert code == 2
    assert "raysubmit_abc123" in out and "RUNNING" in out, out
    assert "unreachable" in err and "hunter2" not in out + err, err
    assert "Traceback" not in err


def test_status_without_a_dashboard_still_fails_on_a_store_that_is_down(capsys) -> None:
    uri = f"http://127.0.0.1:{_closed_port()}"
    assert main(["status", "--tracking-uri", uri]) == 2
    out, err = capsys.readouterr()
    assert "unreachable" in err and "raysubmit" not in out
