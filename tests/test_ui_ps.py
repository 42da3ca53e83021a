"""``perturbo ui`` on a database store: neither the password in its URI nor the server's access
token shows in ``ps`` (every user of the machine reads every command line)."""

from __future__ import annotations

import argparse
import socket
import subprocess
from typing import Any

import pytest

from perturbo import ui

SECRET = "s3cretPw9"
URI = f"postgresql://perturbo:{SECRET}@127.0.0.1:9/runs"  # no server there: it exits by itself
TOKEN = "tok-ps-check-abcdef0123"


def test_no_password_or_token_in_ps(monkeypatch: pytest.MonkeyPatch) -> None:
    import perturbo.tracking.ui_token as ui_token
    import perturbo.tracking.uri as uri_mod

    monkeypatch.setattr(uri_mod, "store_exists", lambda uri: True)
    monkeypatch.setattr(ui_token, "new_token", lambda: TOKEN)
    seen: list[str] = []

    def ready(port: int, proc: subprocess.Popen[bytes], timeout_s: float) -> float:
        seen.append(
            subprocess.run(["ps", "-ww", "-eo", "args"], capture_output=True, text=True).stdout
        )
        raise KeyboardInterrupt  # `perturbo ui` then stops the server's process group

    monkeypatch.setattr(ui, "_ready", ready)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ns: Any = argparse.Namespace(tracking_uri=URI, port=port, print_only=False)
    assert ui.cmd_ui(ns) == 0
    (listing,) = seen
    mine = [line for line in listing.splitlines() if "perturbo.tracking.ui_server" in line]
    assert mine, "the server did not show in ps while it started"
    assert SECRET not in listing and TOKEN not in listing, mine
