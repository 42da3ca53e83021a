"""``perturbo stop``'s exit status (:func:`perturbo.status.stop`): 0 when it stopped the
campaign -- ended KILLED, the state a stop ends in, resumable -- and it says the state it left;
1, with one line on stderr, when it stopped nothing (the campaign had ended already, or ended
FAILED instead of stopping). The driver here is a recorder in this process whose loop is a
thread that ends the campaign once it sees the request, as the campaign loop does; the
end-to-end run with a real driver is in tests/faults/test_status_stop.py."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from perturbo.cli import main


def _driver(uri: str, tmp: Path, name: str):
    from perturbo.tracking import MlflowRecorder

    rec = MlflowRecorder(uri, name, "toy", {"kind": "toy"}, spool_dir=tmp / f"spool-{name}")
    rec.start()
    return rec


def _on_stop(rec, end) -> threading.Thread:
    """The driver's loop: once it sees the stop request, ``end(rec)``."""

    def loop() -> None:
        deadline = time.monotonic() + 30
        while rec.stop_requested() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        end(rec)

    t = threading.Thread(target=loop, daemon=True)
    t.start()
    return t


def _stop(capsys: pytest.CaptureFixture[str], uri: str, name: str, *more: str):
    capsys.readouterr()
    rc = main(["stop", name, "--tracking-uri", uri, *more])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_a_stop_that_stopped_exits_0_and_one_that_stopped_nothing_exits_1(
    store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PERTURBO_HEARTBEAT_S", "0.2")
    rec = _driver(store, tmp_path, "s")
    loop = _on_stop(rec, lambda r: r.finish([], {}))  # a stop turns the end into KILLED
    try:
        rc, out, err = _stop(capsys, store, "s", "--wait", "30")
    finally:
        loop.join(30)
        rec.abort("KILLED", "test over")
    assert rc == 0, out + err
    assert "stopped: KILLED" in out and "perturbo resume s" in out, out
    # stopped already: nothing to stop is not a success, and says the state it is in
    rc, out, err = _stop(capsys, store, "s")
    assert rc == 1 and out == "", out
    assert len(err.strip().splitlines()) == 1, err
    assert "not running" in err and "KILLED" in err and "nothing to stop" in err, err


def test_a_finished_campaign_and_a_stop_that_ends_failed_exit_1(
    store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PERTURBO_HEARTBEAT_S", "0.2")
    done = _driver(store, tmp_path, "done")
    done.finish([], {})
    rc, _, err = _stop(capsys, store, "done")
    assert rc == 1 and "ended FINISHED" in err and "nothing to stop" in err, err
    rec = _driver(store, tmp_path, "breaks")
    loop = _on_stop(rec, lambda r: r.abort("FAILED", "it broke while stopping"))
    try:
        rc, out, err = _stop(capsys, store, "breaks", "--wait", "30")
    finally:
        loop.join(30)
    assert rc == 1, out + err
    assert "ended FAILED" in err and "perturbo show breaks" in err, err


def test_a_stop_without_wait_exits_0_and_says_it_is_stopping(
    store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PERTURBO_HEARTBEAT_S", "0.2")
    rec = _driver(store, tmp_path, "asked")
    try:
        rc, out, err = _stop(capsys, store, "asked")
        assert rc == 0, out + err
        assert "asked asked to stop" in out and "ends KILLED" in out and "--wait" in out, out
    finally:
        rec.abort("KILLED", "test over")
