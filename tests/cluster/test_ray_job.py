"""`ray job submit` of a campaign to a Ray head started with `ray start --head` on 127.0.0.1,
recorded on the PostgreSQL-backed MLflow server; the head is stopped by its PIDs (never
`ray stop`, which would stop every Ray on the machine). And the stale-address bug: a head
that ends without `ray stop` must not break the next local run."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from servers import VENV_BIN, MlflowServer, RayHead, server_env, start_ray_head

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]  # setup: servers on a busy box


@pytest.fixture(scope="module")
def ray_tmp() -> Iterator[Path]:
    """Short: Ray's socket paths under it must stay within AF_UNIX's 107 bytes."""
    d = Path(tempfile.mkdtemp(prefix="prj-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def ray_head(ray_tmp: Path, mlflow_server_started: MlflowServer) -> Iterator[RayHead]:
    # (mlflow_server_started: the MLflow server boots while the head starts)
    # --temp-dir = $RAY_TMPDIR/ray: where Ray looks by default when RAY_TMPDIR is set, so the
    # head's ray_current_cluster lands where the last test below needs it.
    head = start_ray_head(ray_tmp / "ray", num_cpus=2)
    try:
        yield head
    finally:
        head.stop()


def _job_status(head: RayHead, submission_id: str) -> dict:
    with urllib.request.urlopen(f"{head.dashboard_url}/api/jobs/{submission_id}", timeout=10) as r:
        return json.loads(r.read())


def _wait_for_job(head: RayHead, submission_id: str, timeout_s: float = 150) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        info = _job_status(head, submission_id)
        if info["status"] in ("SUCCEEDED", "FAILED", "STOPPED"):
            return info
        time.sleep(1)
    raise AssertionError(f"job {submission_id} still {info['status']} after {timeout_s:.0f} s")


def _job_logs(head: RayHead, submission_id: str) -> str:
    with urllib.request.urlopen(
        f"{head.dashboard_url}/api/jobs/{submission_id}/logs", timeout=10
    ) as r:
        return json.loads(r.read()).get("logs", "")


def test_ray_job_submit_a_campaign(
    ray_head: RayHead,
    mlflow_server: MlflowServer,
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from mlflow import MlflowClient

    from perturbo import tracking

    name = "hpo-branin-ray-job"
    (workdir / "campaign.toml").write_text(  # a job's input travels in its working dir
        'task = "branin"\nplanner = "random"\ntrials = 8\nbatch = 4\nseed = 3\n'
    )
    runtime_env = {
        "env_vars": {
            "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
            "RAY_AUTH_MODE": "disabled",
            "MLFLOW_TRACKING_URI": mlflow_server.url,
            "OMP_NUM_THREADS": "1",
        }
    }
    submit = subprocess.run(
        [
            f"{VENV_BIN}/ray",
            "job",
            "submit",
            "--address",
            ray_head.dashboard_url,
            "--submission-id",
            name,
            "--working-dir",
            str(workdir),
            "--runtime-env-json",
            json.dumps(runtime_env),
            "--no-wait",
            "--",
            "perturbo",
            "run",
            "hyperparameter",
            "--config",
            "campaign.toml",
            "--name",
            name,
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        env=server_env(),
        cwd=workdir,
        timeout=120,
    )
    assert submit.returncode == 0, submit.stderr[-3000:]
    info = _wait_for_job(ray_head, name)
    assert info["status"] == "SUCCEEDED", _job_logs(ray_head, name)[-4000:]

    config, history = tracking.load_history(mlflow_server.url, name)
    assert config["seed"] == 3 and len(history) == 8
    assert len({o.spec.id for o in history}) == 8
    # It ran on the cluster's actors (Ray gave the job RAY_ADDRESS), not a private local Ray.
    client = MlflowClient(mlflow_server.url)
    (exp,) = [e for e in client.search_experiments() if e.name == name]
    (parent,) = client.search_runs([exp.experiment_id], "tags.`mlflow.parentRunId` IS NULL")
    where = " ".join(str(v) for v in (*parent.data.params.values(), *parent.data.tags.values()))
    assert f"ray {ray_head.gcs_address}" in where, where

    # `perturbo status` lists the submitted job beside its campaign, matched by Ray job id.
    from perturbo.cli import main

    capsys.readouterr()
    rc = main(["status", "--all", "--json", "--address", ray_head.dashboard_url,
               "--tracking-uri", mlflow_server.url])  # fmt: skip
    assert rc == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    (job,) = [r for r in rows if r.get("ray_job_submission") == name]
    assert job["status"] == "SUCCEEDED" and "perturbo run hyperparameter" in job["entrypoint"]
    (campaign,) = [r for r in rows if r.get("campaign") == name]
    assert campaign["state"] == "finished" and campaign["ray_job"] == job["job_id"], campaign
    assert campaign["submission_id"] == name


_LOCAL_RAY = """
import ray
from perturbo.actors import connect
rt = connect(num_cpus=1)  # what a local `perturbo run` does (the CLI: actors.open_pool)
assert ray.get(ray.remote(lambda: 1).remote()) == 1
print("started", rt.started_here)
rt.shutdown()
"""


def test_local_run_after_a_head_ended_without_ray_stop(
    ray_head: RayHead, ray_tmp: Path, workdir: Path
) -> None:
    """Issue 10: stop the head by its PIDs (no `ray stop`): its `ray_current_cluster` stays
    behind; a local run on Ray (no --local, no --address) must start its own Ray and succeed."""
    assert ray_head.pids(), "the head is running"
    ray_head.stop()
    assert ray_head.pids() == [], "stopping by PID leaves nothing of the head running"
    cluster_file = ray_tmp / "ray" / "ray_current_cluster"
    assert cluster_file.read_text().strip() == ray_head.gcs_address  # stale: nobody listens
    r = subprocess.run(
        [sys.executable, "-c", _LOCAL_RAY],
        capture_output=True,
        text=True,
        env={**server_env(RAY_TMPDIR=str(ray_tmp))},
        cwd=workdir,
        timeout=180,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.split() == ["started", "True"], r.stdout + r.stderr[-2000:]
