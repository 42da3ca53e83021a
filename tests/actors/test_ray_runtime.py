"""connect(): local Ray on 127.0.0.1; unreachable or malformed addresses fail fast and clearly."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from perturbo.actors import connect
from perturbo.actors.ray_runtime import worker_env
from perturbo.types import PerturboError


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when the block ends


@pytest.mark.parametrize("scheme", ["", "ray://"])
def test_unreachable_address_fails_fast_naming_it(scheme: str) -> None:
    address = f"{scheme}127.0.0.1:{_closed_port()}"
    t0 = time.monotonic()
    with pytest.raises(PerturboError) as e:
        connect(address)
    assert time.monotonic() - t0 < 15
    msg = str(e.value)
    assert address in msg and "Fix" in msg and "--address" in msg


@pytest.mark.parametrize("address", ["http://head:6379", "head:port", "ray://:10001"])
def test_malformed_address(address: str) -> None:
    with pytest.raises(PerturboError, match="not a Ray address"):
        connect(address)


@pytest.mark.slow
def test_local_ray_is_loopback_only(ray_runtime: Any) -> None:
    import ray

    assert ray.is_initialized()
    nodes = [n for n in ray.nodes() if n["Alive"]]
    assert [n["NodeManagerAddress"] for n in nodes] == ["127.0.0.1"]
    assert ray_runtime.cpus() == 2
    assert ray_runtime.has_gpu() == Path("/dev/nvidia0").exists()
    again = connect()  # Ray already up in this process: reused, and not owned
    assert again.started_here is False
    again.shutdown()
    assert ray.is_initialized()


_HEAD = """
import sys, ray
from perturbo.actors import connect
from perturbo.actors.ray_runtime import worker_env
rt = connect(num_cpus=1)
print(ray.get_runtime_context().gcs_address, flush=True)
sys.stdin.read()  # until the test closes stdin
rt.shutdown()
"""

_CLIENT = """
import sys
from perturbo.actors import RayExecutorPool, connect
from perturbo.types import ExperimentSpec, Outcome, Status

class Echo:
    kind = "hyperparameter"
    def run(self, spec):
        return Outcome(Status.COMPLETED, {"x": float(spec.params["x"])})

rt = connect(sys.argv[1])
assert not rt.started_here and rt.cpus() == 1, rt.resources()
with RayExecutorPool(Echo) as pool:
    assert pool.n_workers == 1
    pool.submit([ExperimentSpec({"x": 3}, "hyperparameter", id="a")])
    obs = []
    while not obs:
        obs = pool.wait(timeout_s=30)
rt.shutdown()
print("joined", obs[0].outcome.metrics["x"], flush=True)
"""


@pytest.mark.slow
def test_address_joins_a_running_cluster(tmp_path: Path) -> None:
    """A second process joins a Ray started by a first one (by its 127.0.0.1 address), runs an
    experiment on it, and disconnects without stopping it."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_ADDRESS")}
    head = subprocess.Popen(
        [sys.executable, "-c", _HEAD],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        assert head.stdout is not None
        address = head.stdout.readline().strip()
        assert address.startswith("127.0.0.1:"), address
        client = subprocess.run(
            [sys.executable, "-c", _CLIENT, address],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=90,
        )
        assert client.returncode == 0, client.stderr[-2000:]
        assert "joined 3.0" in client.stdout
        assert head.poll() is None, "the client's shutdown must not stop the cluster it joined"
    finally:
        assert head.stdin is not None
        head.stdin.close()
        try:
            head.wait(timeout=30)
        except subprocess.TimeoutExpired:
            head.kill()


# ------------------------------------------------------------------ a stale ray_current_cluster
# `ray start --head` records its GCS address in `ray_current_cluster` under Ray's default temp
# dir ($RAY_TMPDIR, else $TMPDIR, else /tmp, + /ray; Ray 2.60: ray._common.utils.
# get_ray_address_file). A head that ends without `ray stop` leaves the file behind, and a plain
# `ray.init()` then tries to join the dead head (issue 10: "object_store_memory must not be
# provided"). Each test writes a stale file in its own RAY_TMPDIR and runs in a subprocess.

_STALE_LOCAL = """
import ray
from perturbo.actors import connect
from perturbo.actors.ray_runtime import worker_env
rt = connect(num_cpus=1)
print("started_here", rt.started_here, ray.get_runtime_context().gcs_address, flush=True)
rt.shutdown()
"""

_STALE_AUTO = """
from perturbo.actors import connect
from perturbo.actors.ray_runtime import worker_env
from perturbo.types import PerturboError
try:
    connect("auto")
except PerturboError as e:
    print("ERROR", e, flush=True)
"""


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A short temp dir: Ray's socket paths under it must stay within AF_UNIX's 107 bytes
    (pytest's tmp_path is too long)."""
    import shutil
    import tempfile

    d = Path(tempfile.mkdtemp(prefix="prt-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _stale_env(tmp_path: Path, dead: str) -> dict[str, str]:
    import os

    ray_tmp = tmp_path / "ray"
    ray_tmp.mkdir()
    (ray_tmp / "ray_current_cluster").write_text(dead)
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env["RAY_TMPDIR"] = str(tmp_path)
    return env


def test_ray_looks_for_the_cluster_file_where_the_test_writes_it(tmp_path: Path) -> None:
    """The premise of the tests below: Ray 2.60 reads $RAY_TMPDIR/ray/ray_current_cluster."""
    import subprocess
    import sys

    env = _stale_env(tmp_path, "127.0.0.1:1")
    r = subprocess.run(
        [
            sys.executable,
            "-c",
            "from ray._private import services; "
            "print(services.get_ray_address_from_environment(None, None))",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert r.stdout.strip().splitlines()[-1] == "127.0.0.1:1", r.stderr[-2000:]


@pytest.mark.slow
def test_local_run_ignores_a_stale_cluster_file(short_tmp: Path) -> None:
    """A local run starts its own Ray even where the last `ray start` left its address behind."""
    import subprocess
    import sys

    dead = f"127.0.0.1:{_closed_port()}"
    r = subprocess.run(
        [sys.executable, "-c", _STALE_LOCAL],
        capture_output=True,
        text=True,
        env=_stale_env(short_tmp, dead),
        cwd=short_tmp,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    line = r.stdout.strip().splitlines()[-1]
    assert line.startswith("started_here True 127.0.0.1:"), line
    assert dead not in line


def test_auto_with_a_stale_cluster_file_names_it(tmp_path: Path) -> None:
    import subprocess
    import sys

    dead = f"127.0.0.1:{_closed_port()}"
    t0 = time.monotonic()
    r = subprocess.run(
        [sys.executable, "-c", _STALE_AUTO],
        capture_output=True,
        text=True,
        env=_stale_env(tmp_path, dead),
        cwd=tmp_path,
        timeout=60,
    )
    assert time.monotonic() - t0 < 30
    out = r.stdout.strip()
    assert out.startswith("ERROR"), (out, r.stderr[-2000:])
    assert str(tmp_path / "ray" / "ray_current_cluster") in out and dead in out
    assert "ray stop" in out and "Fix" in out and "--address" in out


def test_a_ray_jobs_env_vars_are_not_repeated(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inside `ray job submit --runtime-env-json '{"env_vars": {"OMP_NUM_THREADS": "1"}}'` the
    driver must not set OMP_NUM_THREADS again: Ray refuses to merge repeated keys."""
    import json

    from perturbo.actors.ray_runtime import _driver_runtime_env

    assert _driver_runtime_env(1, joining=True) == {"env_vars": worker_env(1)}
    job = {"runtime_env": {"env_vars": {"OMP_NUM_THREADS": "2"}, "working_dir": "gcs://x.zip"}}
    monkeypatch.setenv("RAY_JOB_CONFIG_JSON_ENV_VAR", json.dumps(job))
    env = _driver_runtime_env(1, joining=True)["env_vars"]
    assert "OMP_NUM_THREADS" not in env and env["MKL_NUM_THREADS"] == "1"
    assert _driver_runtime_env(1, joining=False) == {"env_vars": worker_env(1)}
