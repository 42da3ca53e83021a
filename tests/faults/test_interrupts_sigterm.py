"""SIGTERM and Ctrl-C in the driver (perturbo.tracking.interrupts), in-process: SIGTERM is a
``KeyboardInterrupt`` (``Terminated``) where the CLI installed its handler, a round being
written is never cut by either signal, and the exit code tells them apart (143 vs 130)."""

from __future__ import annotations

import os
import signal

import pytest

from perturbo.tracking.interrupts import (
    Terminated,
    ctrl_c_after_write,
    exit_code,
    sigterm_as_interrupt,
)


def test_sigterm_is_an_interrupt_with_exit_143() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Terminated) as caught, sigterm_as_interrupt():
        os.kill(os.getpid(), signal.SIGTERM)
        signal.sigtimedwait([], 0.1)  # let the handler run (it runs between bytecodes)
    assert isinstance(caught.value, KeyboardInterrupt)
    assert exit_code(caught.value) == 143
    assert signal.getsignal(signal.SIGTERM) is before, "the previous handler is back"


def test_a_signal_during_a_write_waits_for_the_write() -> None:
    written: list[str] = []
    with sigterm_as_interrupt():
        with pytest.raises(Terminated):
            with ctrl_c_after_write():
                os.kill(os.getpid(), signal.SIGTERM)
                signal.sigtimedwait([], 0.1)
                written.append("round")  # not cut short
        assert written == ["round"]
        with pytest.raises(KeyboardInterrupt) as caught:
            with ctrl_c_after_write():
                os.kill(os.getpid(), signal.SIGINT)
                signal.sigtimedwait([], 0.1)
                written.append("round 2")
        assert written == ["round", "round 2"] and not isinstance(caught.value, Terminated)


_RAY_INIT = """
import os, signal, sys
from perturbo.tracking.interrupts import Terminated, sigterm_as_interrupt
from perturbo.actors import connect

with sigterm_as_interrupt():
    mine = signal.getsignal(signal.SIGTERM)
    rt = connect(num_cpus=1)
    try:
        assert signal.getsignal(signal.SIGTERM) is mine, signal.getsignal(signal.SIGTERM)
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            signal.sigtimedwait([], 0.5)
        except Terminated:
            print("terminated")
    finally:
        rt.shutdown()
"""


@pytest.mark.slow
def test_ray_init_does_not_take_sigterm_from_the_cli(tmp_path: object) -> None:
    """`connect()` puts the CLI's handler back after `ray.init` (Ray installs its own, which
    dumped a stack and aborted the driver). In a child: its own local Ray."""
    import subprocess
    import sys
    import tempfile

    with tempfile.TemporaryDirectory(prefix="pri-") as d:  # short: AF_UNIX path limit
        r = subprocess.run([sys.executable, "-c", _RAY_INIT], capture_output=True, text=True,
                           timeout=300, env={**os.environ, "RAY_TMPDIR": d})  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.split() == ["terminated"], r.stdout + r.stderr[-2000:]
