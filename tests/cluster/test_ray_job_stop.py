"""`ray job stop` of a running campaign (the cluster's way of stopping a job: SIGTERM to the
driver's process group, SIGKILL 3 s later): the campaign must end as on Ctrl-C, KILLED in
the store and resumable, the driver's log ending with the one-line message. A Ray head on
127.0.0.1 (`ray start --head`, stopped by its PIDs), the real MLflow sqlite store."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import textwrap
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from servers import VENV_BIN, RayHead, server_env, start_ray_head

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

OBJECTIVE = textwrap.dedent(
    """
    import time

    def slow(params):
        with open(LOG, "a") as f:
            f.write(f"{params['x']!r}\\n")
        time.sleep(0.5)
        return -(params["x"] - 0.3) ** 2
    """
)


@pytest.fixture
def head() -> Iterator[RayHead]:
    d = Path(tempfile.mkdtemp(prefix="prj-"))  # short: AF_UNIX paths <= 107 bytes
    h = start_ray_head(d / "ray", num_cpus=2)
    try:
        yield h
    finally:
        h.stop()
        shutil.rmtree(d, ignore_errors=True)


def _job(head: RayHead, sid: str, what: str = "") -> dict:
    url = f"{head.dashboard_url}/api/jobs/{sid}{what}"
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())


def test_ray_job_stop_ends_the_campaign_killed_and_resumable(head: RayHead, tmp_path: Path) -> None:
    from mlflow import MlflowClient

    from perturbo.tracking import load_history

    work = tmp_path / "job"
    work.mkdir()
    log = tmp_path / "runs.log"
    (work / "jobobj.py").write_text(f"LOG = {str(log)!r}\n{OBJECTIVE}")
    (work / "space.toml").write_text('[x]\ntype = "float"\nlow = 0.0\nhigh = 1.0\n')
    uri, name = f"sqlite:///{tmp_path}/mlflow.db", "job-stopped"
    env = {"env_vars": {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_AUTH_MODE": "disabled",
                        "OMP_NUM_THREADS": "1"}}  # fmt: skip
    submit = subprocess.run(
        [f"{VENV_BIN}/ray", "job", "submit", "--address", head.dashboard_url, "--submission-id",
         name, "--working-dir", str(work), "--runtime-env-json", json.dumps(env), "--no-wait",
         "--", "perturbo", "run", "hyperparameter", "--task", "jobobj:slow",
         "--allow-user-code", "--space", "space.toml", "--objective", "value", "--direction",
         "max", "--planner", "random", "--trials", "40", "--batch", "2", "--schedule", "sync",
         "--tracking-uri", uri, "--name", name, "--no-progress"],
        capture_output=True, text=True, env=server_env(), cwd=work, timeout=120,
    )  # fmt: skip
    assert submit.returncode == 0, submit.stderr[-3000:]
    deadline = time.monotonic() + 300
    while not log.exists() or len(log.read_text().splitlines()) < 5:
        status = _job(head, name)["status"]
        assert status in ("PENDING", "RUNNING"), _job(head, name, "/logs")["logs"][-3000:]
        assert time.monotonic() < deadline, "no experiment ran in 300 s"
        time.sleep(0.2)
    stop = subprocess.run(
        [f"{VENV_BIN}/ray", "job", "stop", "--address", head.dashboard_url, name],
        capture_output=True, text=True, env=server_env(), timeout=120,
    )  # fmt: skip
    assert stop.returncode == 0, stop.stderr[-3000:]
    deadline = time.monotonic() + 60
    while _job(head, name)["status"] not in ("STOPPED", "FAILED", "SUCCEEDED"):
        assert time.monotonic() < deadline, "the job did not stop in 60 s"
        time.sleep(0.5)
    logs = _job(head, name, "/logs")["logs"]
    assert _job(head, name)["status"] == "STOPPED", logs[-3000:]

    client = MlflowClient(uri)
    exp = client.get_experiment_by_name(name)
    (parent,) = client.search_runs([exp.experiment_id], "tags.`mlflow.parentRunId` IS NULL")
    assert parent.info.status == "KILLED", logs[-3000:]
    assert "terminated (SIGTERM)" in parent.data.tags.get("perturbo.stopped", ""), logs[-3000:]
    assert "Stack" not in logs and "Traceback" not in logs, logs[-3000:]
    hist = list(load_history(uri, name)[1])
    assert 0 < len(hist) < 40 and len({o.spec.id for o in hist}) == len(hist)
