"""Hints that point a browser at a campaign name the real server and port, not 5000."""

from __future__ import annotations

from types import SimpleNamespace

import perturbo.tracking.ui_server as ui_server
from perturbo import ui
from perturbo.tracking.writer import MlflowRecorder


def test_remote_ui_hint_forwards_the_servers_own_port(monkeypatch, capsys) -> None:
    monkeypatch.setattr(ui_server, "mark_campaigns", lambda *a, **k: None)
    assert ui._remote("http://alice:s3cret@mlflow.lab:8080/") == 0
    out = capsys.readouterr().out
    assert "http://alice:***@mlflow.lab:8080/#/experiments" in out
    assert "ssh -L 8080:mlflow.lab:8080" in out
    assert "http://127.0.0.1:8080/#/experiments" in out
    assert "5000" not in out and "s3cret" not in out


def test_remote_ui_hint_on_a_default_https_port_uses_a_local_port_of_ones_own(
    monkeypatch, capsys
) -> None:
    monkeypatch.setattr(ui_server, "mark_campaigns", lambda *a, **k: None)
    ui._remote("https://mlflow.example.org")
    out = capsys.readouterr().out
    assert "ssh -L 5000:mlflow.example.org:443" in out
    assert "https://127.0.0.1:5000/#/experiments" in out


def test_done_line_link_is_on_the_tracking_server_for_a_server_store() -> None:
    at = SimpleNamespace(
        tracking_uri="http://bob:pw@mlflow.lab:8443", experiment_id="7", run_id="r1"
    )
    assert MlflowRecorder.ui_target(at) == "http://bob:***@mlflow.lab:8443/#/experiments/7/runs/r1"
    local = SimpleNamespace(tracking_uri="sqlite:///mlflow.db", experiment_id="7", run_id="r1")
    # perturbo ui's link holds its access token: the hint sends there, not to a bare address
    hint = MlflowRecorder.ui_target(local)
    assert hint == "the link it prints (this campaign's run: #/experiments/7/runs/r1)"
    assert "127.0.0.1:5000" not in hint


def test_unreachable_server_hint_names_its_own_port() -> None:
    from perturbo.tracking.uri import _unreachable

    text = str(_unreachable("http://u:pw@127.0.0.1:8089", "connection refused"))
    assert "--port 8089" in text and "5000" not in text and ":pw@" not in text
