"""Real servers for the cluster tests, on 127.0.0.1 and free ports, stopped by their PIDs.

- :func:`start_postgres`: PostgreSQL (``initdb`` + ``postgres``) in a temp dir, password auth;
  as root it runs as the ``postgres`` user (PostgreSQL refuses to run as root), creating a
  system user where there is none.
- :func:`start_mlflow`: ``deploy/mlflow-server.sh`` (the deploy recipe itself) with a
  PostgreSQL backend and a served artifact store, ``MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false``
  (~430 MiB instead of ~1.5 GiB), ready once ``/health`` answers.
- :func:`start_ray_head`: ``ray start --head --block`` with every port chosen here and its own
  ``--temp-dir``. Never ``ray stop``: that would stop every Ray on the machine.

Nothing here is stopped by name: each server is a process this module started, stopped by its
PID (then its process group, which it leads), and a Ray head's leftovers are found by its
unique temp dir.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = str(Path(sys.executable).parent)
_PG_USER = "postgres"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _free_ports(n: int) -> list[int]:
    """``n`` distinct free ports (held open together, so no two are the same)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


def postgres_bin() -> Path | None:
    """The directory of ``initdb`` and ``postgres`` (PATH, else Debian's layout), or None."""
    found = shutil.which("initdb")
    if found and shutil.which("postgres"):
        return Path(found).resolve().parent
    for d in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (d / "initdb").exists() and (d / "postgres").exists():
            return d
    return None


def server_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_ADDRESS", "MLFLOW_"))}
    env.update(
        PATH=f"{VENV_BIN}:{env.get('PATH', '/usr/bin:/bin')}",
        OMP_NUM_THREADS="1",
        RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0",
        RAY_AUTH_MODE="disabled",
        RAY_USAGE_STATS_ENABLED="0",
    )
    env.update(extra)
    return env


def _wait(
    ready: callable, proc: subprocess.Popen[bytes], what: str, log: Path, timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n{_tail(log)}")
        if ready():
            return
        time.sleep(0.3)
    raise RuntimeError(f"{what} not ready after {timeout_s:.0f} s:\n{_tail(log)}")


def _tail(log: Path, n: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


def stop_process(
    proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, wait_s: float = 20
) -> None:
    """Stop a process this module started: ``sig`` to its PID, then SIGKILL to the process
    group it leads (``start_new_session=True``), so its children go too."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(wait_s)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # our own group: the pid is its leader
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(5)


def group_pids(pgid: int) -> list[int]:
    """The live processes of process group ``pgid`` (a server and its workers)."""
    found = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            with contextlib.suppress(OSError, ProcessLookupError):
                if os.getpgid(int(d.name)) == pgid:
                    found.append(int(d.name))
    return found


# --------------------------------------------------------------------------- PostgreSQL


@dataclass
class Postgres:
    port: int
    password: str
    data: Path
    proc: subprocess.Popen[bytes]
    database: str = "mlflow"

    @property
    def uri(self) -> str:
        """SQLAlchemy URI of the test database, as ``mlflow server`` takes it."""
        return f"postgresql+psycopg2://mlflow:{self.password}@127.0.0.1:{self.port}/{self.database}"

    def stop(self) -> None:
        stop_process(self.proc, signal.SIGINT)  # SIGINT = PostgreSQL's "fast" shutdown


def _pg_user() -> tuple[str | None, int | None]:
    """(user, uid) to run PostgreSQL as: None where we are not root."""
    if os.geteuid() != 0:
        return None, None
    try:
        return _PG_USER, pwd.getpwnam(_PG_USER).pw_uid
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", _PG_USER],
            check=True,
            capture_output=True,
        )
        return _PG_USER, pwd.getpwnam(_PG_USER).pw_uid


def start_postgres(bin_dir: Path, timeout_s: float = 60) -> Postgres:
    user, uid = _pg_user()
    base = Path(tempfile.mkdtemp(prefix="perturbo-pg-"))  # /tmp: pytest's tmp is root-only
    if uid is not None:
        os.chown(base, uid, -1)
    password = secrets.token_hex(12)
    pwfile = base / "pw"
    pwfile.write_text(password + "\n")
    if uid is not None:
        os.chown(pwfile, uid, -1)
    as_user = {"user": user, "group": user, "extra_groups": []} if user else {}
    env = {"PATH": os.environ.get("PATH", ""), "LC_ALL": "C", "HOME": str(base)}
    subprocess.run(
        [
            str(bin_dir / "initdb"),
            "-D",
            str(base / "data"),
            "-U",
            "mlflow",
            "--pwfile",
            str(pwfile),
            "--auth",
            "scram-sha-256",
            "-E",
            "UTF8",
            "--no-locale",
        ],
        check=True,
        capture_output=True,
        env=env,
        cwd=base,
        **as_user,
    )
    pwfile.unlink()
    port = free_port()
    log = base / "postgres.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                str(bin_dir / "postgres"),
                "-D",
                str(base / "data"),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-c",
                "unix_socket_directories=",  # TCP on loopback only
                "-c",
                "fsync=off",  # a throwaway database
                "-c",
                "shared_buffers=16MB",
                "-c",
                "max_connections=40",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=base,
            start_new_session=True,
            **as_user,
        )
    pg = Postgres(port=port, password=password, data=base, proc=proc)
    try:
        _wait(lambda: _accepts(port), proc, "postgres", log, timeout_s)
        _create_database(pg)
    except BaseException:
        pg.stop()
        raise
    return pg


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _create_database(pg: Postgres) -> None:
    import psycopg2

    for _ in range(20):  # the port opens a moment before the server takes logins
        try:
            conn = psycopg2.connect(
                host="127.0.0.1",
                port=pg.port,
                user="mlflow",
                password=pg.password,
                dbname="postgres",
            )
            break
        except psycopg2.OperationalError:
            time.sleep(0.5)
    else:
        raise RuntimeError("postgres does not accept logins")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE {pg.database}")
    conn.close()


def count_runs(pg: Postgres, experiment: str, active_only: bool = False) -> int:
    """Rows of the ``runs`` table of an experiment, read from PostgreSQL itself (``active_only``:
    not deleted; MLflow deletes softly)."""
    import psycopg2

    query = (
        "SELECT count(*) FROM runs r JOIN experiments e ON r.experiment_id = e.experiment_id "
        "WHERE e.name = %s" + (" AND r.lifecycle_stage = 'active'" if active_only else "")
    )
    with (
        psycopg2.connect(
            host="127.0.0.1", port=pg.port, user="mlflow", password=pg.password, dbname=pg.database
        ) as conn,
        conn.cursor() as cur,
    ):
        cur.execute(query, (experiment,))
        return int(cur.fetchone()[0])


def remove_postgres_dir(pg: Postgres) -> None:
    shutil.rmtree(pg.data, ignore_errors=True)


# --------------------------------------------------------------------------- MLflow


@dataclass
class MlflowServer:
    url: str
    artifacts: Path
    proc: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        stop_process(self.proc)

    def wait_ready(self, timeout_s: float = 120) -> MlflowServer:
        try:
            _wait(
                lambda: _ok(f"{self.url}/health"), self.proc, "mlflow server", self.log, timeout_s
            )
        except BaseException:
            self.stop()
            raise
        return self


def start_mlflow(backend_uri: str, root: Path, port: int | None = None) -> MlflowServer:
    """``deploy/mlflow-server.sh`` on 127.0.0.1:<port> (default: a free one), one worker; ready
    after :meth:`MlflowServer.wait_ready` (it boots in ~15-30 s: let other servers start
    meanwhile). The same ``root`` and ``port`` again restart a server on the same data."""
    port = port or free_port()
    artifacts = root / "mlartifacts"
    log = root / f"mlflow-server-{time.time_ns()}.log"
    env = server_env(
        MLFLOW_BACKEND_STORE_URI=backend_uri,
        MLFLOW_ARTIFACTS_DESTINATION=str(artifacts),
        MLFLOW_DATA=str(root / "mlflow-data"),
        MLFLOW_HOST="127.0.0.1",
        MLFLOW_PORT=str(port),
        MLFLOW_WORKERS="1",
    )
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["bash", str(ROOT / "deploy" / "mlflow-server.sh")],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=root,
            start_new_session=True,
        )
    return MlflowServer(f"http://127.0.0.1:{port}", artifacts, proc, log)


# --------------------------------------------------------------------------- Ray head


@dataclass
class RayHead:
    gcs_address: str
    dashboard_url: str
    temp_dir: Path
    proc: subprocess.Popen[bytes]
    log: Path
    ports: dict[str, int] = field(default_factory=dict)

    def pids(self) -> list[int]:
        """Every live process that belongs to this head: its process group, and any process
        whose command line names its unique temp dir (Ray's daemons do)."""
        found = []
        for d in Path("/proc").iterdir():
            if not d.name.isdigit():
                continue
            try:
                if (d / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                    continue  # a zombie: dead, waiting for its parent (init) to reap it
                cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                pgid = os.getpgid(int(d.name))
            except (OSError, ProcessLookupError, IndexError):
                continue
            if pgid == self.proc.pid or str(self.temp_dir) in cmd:
                found.append(int(d.name))
        return found

    def stop(self) -> None:
        """SIGTERM to ``ray start --block`` (it stops the processes it started), then SIGKILL
        to whatever of this head is left, by PID."""
        stop_process(self.proc, wait_s=30)
        deadline = time.monotonic() + 15
        while (left := self.pids()) and time.monotonic() < deadline:
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.2)


def start_ray_head(
    temp_dir: Path,
    num_cpus: int = 2,
    timeout_s: float = 120,
    attempts: int = 3,
    env: dict[str, str] | None = None,
) -> RayHead:
    """A Ray head on 127.0.0.1; tried again where it fails to start (Ray gives its raylet a
    fixed 30 s to register, which a busy 2-core machine can miss). ``env``: extra settings
    (``RAY_health_check_period_ms``...)."""
    for attempt in range(1, attempts + 1):
        try:
            return _start_ray_head(temp_dir, num_cpus, timeout_s, env or {})
        except RuntimeError:
            if attempt == attempts:
                raise
    raise AssertionError("unreachable")


def _start_ray_head(
    temp_dir: Path, num_cpus: int, timeout_s: float, extra: dict[str, str]
) -> RayHead:
    names = (
        "gcs",
        "dashboard",
        "client",
        "node_manager",
        "object_manager",
        "metrics_export",
        "agent_listen",
        "agent_grpc",
        "runtime_env_agent",
    )
    ports = dict(zip(names, _free_ports(len(names)), strict=True))
    temp_dir.mkdir(parents=True, exist_ok=True)
    log = temp_dir.parent / f"{temp_dir.name}-ray-start.log"
    cmd = [
        f"{VENV_BIN}/ray",
        "start",
        "--head",
        "--block",
        "--node-ip-address=127.0.0.1",
        f"--port={ports['gcs']}",
        "--dashboard-host=127.0.0.1",
        f"--dashboard-port={ports['dashboard']}",
        f"--ray-client-server-port={ports['client']}",
        f"--node-manager-port={ports['node_manager']}",
        f"--object-manager-port={ports['object_manager']}",
        f"--metrics-export-port={ports['metrics_export']}",
        f"--dashboard-agent-listen-port={ports['agent_listen']}",
        f"--dashboard-agent-grpc-port={ports['agent_grpc']}",
        f"--runtime-env-agent-port={ports['runtime_env_agent']}",
        f"--num-cpus={num_cpus}",
        "--object-store-memory=200000000",
        f"--temp-dir={temp_dir}",
        "--disable-usage-stats",
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            # No prestarted idle workers: they compete with the raylet's registration, which
            # Ray gives a fixed 30 s.
            env=server_env(
                RAY_TMPDIR=str(temp_dir),
                RAY_enable_worker_prestart="0",
                RAY_prestart_worker_first_driver="0",
                **extra,
            ),
            cwd=temp_dir,
            start_new_session=True,
        )
    head = RayHead(
        gcs_address=f"127.0.0.1:{ports['gcs']}",
        dashboard_url=f"http://127.0.0.1:{ports['dashboard']}",
        temp_dir=temp_dir,
        proc=proc,
        log=log,
        ports=ports,
    )
    try:
        # Ready for `ray job submit` when both the dashboard (job API) and the head's dashboard
        # agent (which runs the job: it starts ~15 s after the dashboard) answer, and `ray
        # start` has written its address file (its last step; test_ray_job.py reads it, and
        # on a loaded box it can come after the agent answers).
        agent = f"http://127.0.0.1:{ports['agent_listen']}/api/healthz"
        written = temp_dir / "ray_current_cluster"
        _wait(
            lambda: _ok(f"{head.dashboard_url}/api/version") and _ok(agent) and written.exists(),
            proc,
            "ray head",
            log,
            timeout_s,
        )
    except BaseException:
        head.stop()
        raise
    return head


def _ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200
    except OSError:
        return False
