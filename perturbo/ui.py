"""``perturbo ui``: the MLflow UI on 127.0.0.1 against the campaign store.

The server (:mod:`perturbo.tracking.ui_server`: one uvicorn process serving MLflow's app,
campaigns opened in the runs view) runs in its own process group; Ctrl-C or SIGTERM here
stops the whole group, and the server also dies with this process (Linux: parent-death
signal). This module imports no mlflow: ``perturbo ui --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from typing import Any

from perturbo.show import store_option
from perturbo.types import PerturboError

READY_TIMEOUT_S = 180.0
ML_VIEW = "?workflowType=machine_learning"


def add_parser(sub: argparse._SubParsersAction) -> Callable[[argparse.Namespace], int]:
    ui = sub.add_parser(
        "ui",
        help="open the MLflow UI on the store (127.0.0.1)",
        description="Serve the MLflow UI on 127.0.0.1 for the tracking store, campaigns in "
        "the runs view, behind an access token drawn at each start: open the link it prints "
        "(it holds the token; MLflow's UI can delete runs, and every user of this machine "
        "reaches 127.0.0.1). Ctrl-C stops it (and everything it started). A store on a "
        "tracking server (http://...) is browsed on that server: the command prints where.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
        "  perturbo ui                                   # ./mlflow.db on http://127.0.0.1:5000\n"
        "  perturbo ui --tracking-uri sqlite:////data/runs.db --port 5001\n"
        "  perturbo ui --tracking-uri http://mlflow.lab:5000   # a server: where to open it",
    )
    store_option(ui)
    ui.add_argument("--port", type=int, default=5000)
    ui.add_argument("--print-only", action="store_true", help="print the command, do not start it")
    return cmd_ui


def server_command(port: int) -> list[str]:
    """The server's command line: its store URI and token come on standard input (``-``), out
    of the process list (:func:`perturbo.tracking.ui_server.read_settings`)."""
    return [sys.executable, "-m", "perturbo.tracking.ui_server", "-", "127.0.0.1", str(port)]


def _uri(ns: argparse.Namespace) -> str:
    from perturbo import config as cfg

    return getattr(ns, "tracking_uri", None) or cfg.env_tracking_uri() or cfg.default_tracking_uri()


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _die_with_parent() -> None:  # runs in the child before exec
    os.setsid()
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _ready(port: int, proc: subprocess.Popen[bytes], timeout_s: float) -> float:
    """Seconds until ``/health`` answers 200; raises where the server exits first."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        if proc.poll() is not None:
            raise PerturboError(
                f"the MLflow UI server exited ({proc.returncode}) before it answered: see "
                "its messages above"
            )
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                if r.status == 200:
                    return time.monotonic() - t0
        except OSError:
            pass
        time.sleep(0.2)
    raise PerturboError(f"the MLflow UI server did not answer on port {port} in {timeout_s:.0f} s")


def stop_group(proc: subprocess.Popen[Any], grace_s: float = 5.0) -> None:
    """SIGTERM the server's process group, then SIGKILL what is left after ``grace_s``."""
    pgid = proc.pid
    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 2.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if proc.poll() is not None and not _group_alive(pgid):
                return
            time.sleep(0.1)
    proc.poll()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_ENV_URI = '"$MLFLOW_TRACKING_URI"'


def _remote(uri: str) -> int:
    from urllib.parse import urlsplit

    from perturbo.tracking.uri import shown_uri

    base = shown_uri(uri.rstrip("/"))
    parts = urlsplit(uri)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    here = port if port >= 1024 else 5000  # a local port of one's own for 80/443
    print(f"the campaigns are on the tracking server {base}: open {base}/#/experiments{ML_VIEW}")
    print(
        f"(where {parts.hostname} is not reachable from your browser, forward its port first: "
        f"ssh -L {here}:{parts.hostname}:{port} A-MACHINE-THAT-REACHES-IT, then "
        f"open {parts.scheme}://127.0.0.1:{here}/#/experiments{ML_VIEW})"
    )
    try:
        from perturbo.tracking.ui_server import mark_campaigns

        mark_campaigns(uri, summaries=False)
    except Exception as e:  # noqa: BLE001 - the server is browsable all the same
        print(f"(could not tag its campaigns for the runs view: {shown_uri(str(e))})")
    return 0


def cmd_ui(ns: argparse.Namespace) -> int:
    from perturbo.tracking.uri import has_password, shown_uri, store_exists

    uri = _uri(ns)
    if uri.startswith(("http://", "https://")):
        return _remote(uri)
    cmd = server_command(ns.port)
    url = f"http://127.0.0.1:{ns.port}/#/experiments{ML_VIEW}"
    if ns.print_only:
        hidden = has_password(uri)  # printed as "$MLFLOW_TRACKING_URI", never in the clear
        quoted = _ENV_URI if hidden else shlex.quote(uri)
        if hidden:
            print(
                f"# the password in the URI is hidden ({shown_uri(uri)}): set MLFLOW_TRACKING_URI to it"
            )
        print(f"printf '%s\\n' {quoted} | " + shlex.join(cmd))
        print(
            "# it prints the link to open (with its access token); or with MLflow's own CLI "
            "(slower to start, no token: every user of this machine can browse and edit): "
            "MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false "
            f"mlflow ui --backend-store-uri {quoted} --host 127.0.0.1 --port {ns.port} "
            f"--workers 1; then open {url}"
        )
        return 0
    if not store_exists(uri):
        raise PerturboError(
            f"the tracking store {shown_uri(uri)!r} does not exist: run a campaign first "
            "(`perturbo run KIND`), or pass the --tracking-uri it ran with"
        )
    if not _port_free(ns.port):
        raise PerturboError(f"port {ns.port} on 127.0.0.1 is in use: pass another --port")
    print(f"starting the MLflow UI on {shown_uri(uri)} ...", flush=True)
    from perturbo.tracking.ui_token import new_token

    token = new_token()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, preexec_fn=_die_with_parent)  # noqa: S603, PLW1509
    assert proc.stdin is not None
    proc.stdin.write((json.dumps({"uri": uri, "token": token}) + "\n").encode())
    proc.stdin.close()
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        took = _ready(ns.port, proc, READY_TIMEOUT_S)
        print(
            f"ready in {took:.1f} s (server pid {proc.pid}, process group {proc.pid}): "
            f"open http://127.0.0.1:{ns.port}/?token={token}#/experiments{ML_VIEW}  "
            "(Ctrl-C stops it; the link holds this server's access token: share it only with "
            "whom may edit the store)",
            flush=True,
        )
        proc.wait()
        return proc.returncode or 0
    except KeyboardInterrupt:
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
        stop_group(proc)


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


__all__ = ["add_parser", "cmd_ui", "server_command", "stop_group"]
