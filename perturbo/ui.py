"""``perturbo ui``: the MLflow UI on 127.0.0.1 against the campaign store."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Callable


def add_parser(sub: argparse._SubParsersAction) -> Callable[[argparse.Namespace], int]:
    ui = sub.add_parser(
        "ui",
        help="open the MLflow UI on the store (127.0.0.1)",
        description="Start `mlflow ui` on 127.0.0.1 for the tracking store.",
    )
    ui.add_argument(
        "--tracking-uri",
        default=argparse.SUPPRESS,
        metavar="URI",
        help="MLflow store (default: $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db)",
    )
    ui.add_argument("--port", type=int, default=5000)
    ui.add_argument("--print-only", action="store_true", help="print the command, do not start it")
    return cmd_ui


def cmd_ui(ns: argparse.Namespace) -> int:
    from perturbo import config as cfg

    uri = getattr(ns, "tracking_uri", None) or cfg.env_tracking_uri() or cfg.default_tracking_uri()
    if uri.startswith(("http://", "https://")):
        print(f"the campaigns are on a tracking server: open {uri} in a browser")
        return 0
    cmd = [
        sys.executable,
        "-m",
        "mlflow",
        "ui",
        "--backend-store-uri",
        uri,
        "--host",
        "127.0.0.1",
        "--port",
        str(ns.port),
    ]
    print(f"mlflow ui --backend-store-uri {uri} --host 127.0.0.1 --port {ns.port}")
    print(f"open http://127.0.0.1:{ns.port} (Ctrl-C stops it)")
    if ns.print_only:
        return 0
    try:
        return subprocess.call(cmd)
    except KeyboardInterrupt:
        return 0


__all__ = ["add_parser", "cmd_ui"]
