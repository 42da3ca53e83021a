"""A second Ray node on this machine, for the node-loss tests: a worker node joined to a head
from :func:`servers.start_ray_head`, on 127.0.0.1 only, stopped by its PIDs.

``ray start`` refuses a worker node where ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` (the
setting that keeps Ray on 127.0.0.1); with it on, Ray asks the network for this machine's
address. So the worker is started from Python with the multi-node switch turned on in that
process only (``ray_constants.ENABLE_RAY_CLUSTER``), the address lookup pinned to 127.0.0.1
and ``--node-ip-address=127.0.0.1``; the raylet and workers it starts inherit ``=0``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from servers import VENV_BIN, RayHead, _free_ports, _tail, server_env, stop_process

_LAUNCH = """
import sys
import ray._private.ray_constants as constants
import ray._private.services as services
constants.ENABLE_RAY_CLUSTER = True  # this process only: the raylet inherits the env's =0
services.node_ip_address_from_perspective = lambda *a, **k: "127.0.0.1"
from ray.scripts.scripts import main
sys.argv = ["ray", *sys.argv[1:]]
main()
"""


@dataclass
class RayWorkerNode:
    proc: subprocess.Popen[bytes]
    log: Path
    node_manager_port: int

    def raylet_pid(self) -> int | None:
        """The PID of this node's raylet (found by its unique node-manager port)."""
        for d in Path("/proc").iterdir():
            if not d.name.isdigit():
                continue
            try:
                cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if "raylet" in cmd and f"--node_manager_port={self.node_manager_port}" in cmd:
                return int(d.name)
        return None

    def kill_raylet(self) -> int:
        pid = self.raylet_pid()
        assert pid is not None, f"no raylet of the worker node:\n{_tail(self.log)}"
        os.kill(pid, signal.SIGKILL)
        return pid

    def stop(self) -> None:
        """SIGTERM to ``ray start --block``, then SIGKILL to the process group it leads."""
        stop_process(self.proc, wait_s=20)


def start_ray_worker(head: RayHead, num_cpus: int = 2, timeout_s: float = 120) -> RayWorkerNode:
    """A worker node joined to ``head``, ready once the head counts its CPUs."""
    names = ("node_manager", "object_manager", "metrics", "agent_listen", "agent_grpc", "rtenv")
    ports = dict(zip(names, _free_ports(len(names)), strict=True))
    log = head.temp_dir.parent / f"{head.temp_dir.name}-worker-{ports['node_manager']}.log"
    cmd = [
        f"{VENV_BIN}/python", "-c", _LAUNCH, "start", f"--address={head.gcs_address}",
        "--node-ip-address=127.0.0.1", "--block", f"--num-cpus={num_cpus}",
        f"--node-manager-port={ports['node_manager']}",
        f"--object-manager-port={ports['object_manager']}",
        f"--metrics-export-port={ports['metrics']}",
        f"--dashboard-agent-listen-port={ports['agent_listen']}",
        f"--dashboard-agent-grpc-port={ports['agent_grpc']}",
        f"--runtime-env-agent-port={ports['rtenv']}",
        "--object-store-memory=100000000", "--disable-usage-stats",
    ]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=server_env(RAY_enable_worker_prestart="0"),
            cwd=head.temp_dir,
            start_new_session=True,
        )
    node = RayWorkerNode(proc, log, ports["node_manager"])
    try:
        _wait_for_cpus(head, proc, log, timeout_s)
    except BaseException:
        node.stop()
        raise
    return node


def _wait_for_cpus(
    head: RayHead, proc: subprocess.Popen[bytes], log: Path, timeout_s: float
) -> None:
    """Until ``ray status`` on the head lists two live nodes."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"ray worker node exited with {proc.returncode}:\n{_tail(log)}")
        r = subprocess.run(
            [f"{VENV_BIN}/ray", "status", f"--address={head.gcs_address}"],
            capture_output=True, text=True, env=server_env(), timeout=60,
        )  # fmt: skip
        with contextlib.suppress(ValueError, IndexError):  # no "Active:" while the GCS starts
            active = r.stdout.split("Active:")[1].split("Pending:")[0]
            if active.count("node_") >= 2:
                return
        time.sleep(1.0)
    raise RuntimeError(f"ray worker node not up after {timeout_s:.0f} s:\n{_tail(log)}")


def listening_beyond_loopback(pids: list[int]) -> list[str]:
    """Lines of ``ss -ltnp`` for sockets of ``pids`` that listen on anything but loopback."""
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout
    bad = []
    for line in out.splitlines():
        fields = line.split()
        if len(fields) < 4 or not any(f"pid={p}," in line for p in pids):
            continue
        local = fields[3]
        host = local.rsplit(":", 1)[0].strip("[]").removeprefix("::ffff:")  # v4-mapped
        if not (host.startswith("127.") or host in ("::1", "localhost")):
            bad.append(line)
    return bad
