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
