"""Heartbeats, liveness and stop requests (unit level, on a real sqlite MLflow store); the
end-to-end runs of `perturbo status` / `stop` are in tests/faults/test_status_stop.py."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from perturbo.tracking.heartbeat import (
    DRIVER_TAG,
    HEARTBEAT_TAG,
    INTERVAL_TAG,
    STOP_TAG,
    driver_tags,
    liveness,
)


def _tags(host: str, pid: int, beat_age_s: float, every: float = 30.0) -> dict[str, str]:
    return {
        DRIVER_TAG: json.dumps({"host": host, "pid": pid, "ray_job": ""}),
        HEARTBEAT_TAG: str(time.time() - beat_age_s),
        INTERVAL_TAG: str(every),
    }


def test_this_host_is_judged_by_pid_other_hosts_by_heartbeat_age() -> None:
    me = socket.gethostname()
    assert liveness("RUNNING", _tags(me, os.getpid(), 5)).state == "running"
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    dead = liveness("RUNNING", _tags(me, gone.pid, 1))
    assert dead.state == "dead" and str(gone.pid) in dead.detail, "a fresh beat, a dead pid"
    other = "some-other-node"
    assert liveness("RUNNING", _tags(other, 1, 60)).state == "running"  # within 3 beats + 10 s
    stale = liveness("RUNNING", _tags(other, 1, 3 * 30 + 11))
    assert stale.state == "dead" and "heartbeat" in stale.detail
    assert liveness("RUNNING", {}).state == "dead", "recorded before heartbeats: not alive"
    assert liveness("FINISHED", _tags(me, os.getpid(), 0)).state == "finished"
    asked = {**_tags(me, os.getpid(), 1), STOP_TAG: "now by me"}
    assert liveness("RUNNING", asked).state == "stopping"


def test_driver_tags_name_this_process() -> None:
    d = json.loads(driver_tags("02000000")[DRIVER_TAG])
    assert d == {"host": socket.gethostname(), "pid": os.getpid(), "ray_job": "02000000"}


def test_recorder_beats_and_sees_a_stop_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from perturbo.tracking import MlflowRecorder, open_store
    from perturbo.tracking.control import live, request_stop

    monkeypatch.setenv("PERTURBO_HEARTBEAT_S", "0.3")
    uri = f"sqlite:///{tmp_path}/m.db"
    rec = MlflowRecorder(uri, "beat", "toy", {"kind": "toy"}, spool_dir=tmp_path / "spool")
    rec.start({"rounds": 3})
    try:
        store = open_store(uri)
        first = float(store.summary("beat").run_tags[HEARTBEAT_TAG])
        deadline = time.monotonic() + 20
        while float(store.summary("beat").run_tags[HEARTBEAT_TAG]) <= first:
            assert time.monotonic() < deadline, "no beat in 20 s"
            time.sleep(0.1)
        assert live(store, "beat").state == "running"
        assert rec.stop_requested() is None
        request_stop(store, "beat")
        while rec.stop_requested() is None:
            assert time.monotonic() < deadline, "the stop request was not seen"
            time.sleep(0.1)
        assert "perturbo stop" in str(rec.stop_requested())
        rec.finish([], {})  # a stop turns the end into KILLED: resumable
        assert store.summary("beat").status == "KILLED"
        assert rec.stopped is not None
    finally:
        rec.abort("KILLED", "test over")


def test_the_chat_stops_a_campaign_it_did_not_start_through_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from perturbo.agents.chat.actions import Launcher
    from perturbo.tracking import MlflowRecorder
    from perturbo.types import PerturboError

    monkeypatch.setenv("PERTURBO_HEARTBEAT_S", "0.3")
    uri = f"sqlite:///{tmp_path}/m.db"
    rec = MlflowRecorder(uri, "elsewhere", "toy", {"kind": "toy"}, spool_dir=tmp_path / "spool")
    rec.start()
    try:
        launcher = Launcher(uri, workdir=tmp_path / "chat")
        token = launcher.propose("stop", "elsewhere", [], "stop it").token
        said = launcher.confirm(token)
        assert "asked 'elsewhere' to stop" in said and "perturbo resume elsewhere" in said
        deadline = time.monotonic() + 20
        while rec.stop_requested() is None:
            assert time.monotonic() < deadline, "the driver did not see the chat's stop"
            time.sleep(0.1)
    finally:
        rec.abort("KILLED", "test over")
    token = launcher.propose("stop", "elsewhere", [], "again").token
    with pytest.raises(PerturboError, match="not running"):
        launcher.confirm(token)
