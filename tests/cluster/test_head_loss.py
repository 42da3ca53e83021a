"""The Ray head lost mid-campaign (every process of it SIGKILLed): the real CLI joined with
``--address``, the real MLflow sqlite store read back.

Issue 17: 60 s of silence, then exit 1 with only Ray's "Failed to connect to GCS", the
campaign left RUNNING. Now: one line saying the head was lost and how to resume (with the
store's ``--tracking-uri``), exit 2 well within Ray's 60 s, the campaign FAILED in the store
with what was recorded kept, and ``perturbo resume`` completes the budget once each.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from servers import RayHead, start_ray_head

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
TRIALS = 24


@pytest.fixture
def head() -> Iterator[RayHead]:
    d = Path(tempfile.mkdtemp(prefix="prh-"))  # short: AF_UNIX paths <= 107 bytes
    h = start_ray_head(d / "ray", num_cpus=2)
    try:
        yield h
    finally:
        h.stop()
        shutil.rmtree(d, ignore_errors=True)


def _parent_status(uri: str, name: str) -> str:
    from mlflow import MlflowClient

    client = MlflowClient(uri)
    exp = client.get_experiment_by_name(name)
    (parent,) = client.search_runs([exp.experiment_id], "tags.`mlflow.parentRunId` IS NULL")
    return str(parent.info.status)


def test_a_lost_head_is_named_marked_and_resumable(head: RayHead, tmp_path: Path) -> None:
    from perturbo.tracking import load_history

    log = tmp_path / "runs.log"
    (tmp_path / "headobj.py").write_text(f"LOG = {str(log)!r}\n{OBJECTIVE}")
    (tmp_path / "space.toml").write_text('[x]\ntype = "float"\nlow = 0.0\nhigh = 1.0\n')
    (tmp_path / "store").mkdir()
    uri, name = f"sqlite:///{tmp_path}/store/mlflow.db", "head-lost"
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    cmd = [
        sys.executable, "-m", "perturbo.cli", "run", "hyperparameter", "--task", "headobj:slow",
        "--allow-user-code", "--space", "space.toml", "--objective", "value", "--direction",
        "max", "--planner", "random", "--trials", str(TRIALS), "--batch", "2", "--schedule",
        "sync", "--address", head.gcs_address, "--tracking-uri", uri, "--name", name,
        "--no-progress",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while not log.exists() or len(log.read_text().splitlines()) < 5:
            assert proc.poll() is None, proc.communicate()[1][-3000:]
            assert time.monotonic() < deadline, "no experiment ran in 300 s"
            time.sleep(0.1)
        for pid in head.pids():  # the head node is gone: GCS, raylet, its workers
            with contextlib.suppress(ProcessLookupError):  # one that ended since it was listed
                os.kill(pid, signal.SIGKILL)
        t0 = time.monotonic()
        _, err = proc.communicate(timeout=180)
        took = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    print(f"\nhead loss: exit {proc.returncode} {took:.1f} s after the kill: {lines[-1:]}")
    assert proc.returncode == 2, f"exit {proc.returncode} after {took:.0f} s:\n{err[-3000:]}"
    assert took < 55, f"{took:.0f} s to notice (Ray's own limit: 60 s)"
    assert "Traceback" not in err, err[-3000:]
    assert lines[-1].startswith("perturbo: error: lost the Ray head"), err[-3000:]
    assert f"`perturbo resume {name} --tracking-uri {uri}`" in lines[-1], lines[-1]
    assert _parent_status(uri, name) == "FAILED"
    before = list(load_history(uri, name)[1])
    assert 0 < len(before) < TRIALS

    resumed = subprocess.run(
        [sys.executable, "-m", "perturbo.cli", "resume", name, "--tracking-uri", uri, "--local",
         "--no-progress"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    hist = list(load_history(uri, name)[1])
    ids = [o.spec.id for o in hist]
    assert len(ids) == len(set(ids)) == TRIALS
    assert hist[: len(before)] == before
