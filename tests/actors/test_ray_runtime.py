"""connect(): local Ray on 127.0.0.1; unreachable or malformed addresses fail fast and clearly."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import pytest

from perturbo.actors import connect
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
