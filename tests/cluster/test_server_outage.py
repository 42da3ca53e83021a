"""The MLflow server stopped (by its PID) mid-campaign and started again on the same
PostgreSQL and artifact store: the campaign does not stop -- its rounds are buffered on local
disk while the server is down and uploaded when it is back -- and every experiment is
recorded exactly once (checked in the store, in PostgreSQL's rows and against the log of
what ran)."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest
import slow_campaign as slow
from servers import Postgres, count_runs, free_port, start_mlflow

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

TRIALS = 40


def test_server_down_mid_campaign_buffers_then_flushes_exactly_once(
    postgres: Postgres, tmp_path: Path
) -> None:
    from perturbo.types import Status

    root, port = tmp_path / "server", free_port()
    root.mkdir()
    server = start_mlflow(postgres.uri, root, port).wait_ready()
    home = tmp_path / "home"  # the spool of an http store: ~/.cache/perturbo/unsent
    home.mkdir()
    env = slow.prepare(
        tmp_path, 0.4, HOME=str(home), PERTURBO_STORE_WAIT_S="300", PERTURBO_HEARTBEAT_S="1"
    )
    name = "outage"
    proc = slow.start(tmp_path, slow.run_args(tmp_path, server.url, name, TRIALS), env)
    try:
        slow.wait_recorded(tmp_path, server.url, name, 4, proc)
        server.stop()  # SIGTERM to its PID, then its process group
        assert server.proc.poll() is not None
        spooled = lambda: list(home.rglob("round-*.json"))  # noqa: E731
        slow.wait_for("3 rounds buffered on disk", lambda: len(spooled()) >= 3, proc, 240)
        ran_while_down = len(slow.executions(tmp_path))
        slow.wait_for("more experiments run while the server is down",
                      lambda: len(slow.executions(tmp_path)) >= ran_while_down + 3, proc, 120)  # fmt: skip
        assert proc.poll() is None, "the campaign goes on while the server is down"
        server = start_mlflow(postgres.uri, root, port).wait_ready()
        out, _ = proc.communicate(timeout=400)
        assert proc.returncode == 0, out[-4000:]
        assert "buffering rounds on disk" in out and "is back" in out, out[-3000:]
        assert f"done: {TRIALS} experiments" in out, out[-2000:]

        hist = slow.recorded(server.url, name)
        ids = [o.spec.id for o in hist]  # type: ignore[attr-defined]
        assert len(ids) == len(set(ids)) == TRIALS, f"{len(ids)} recorded, {len(set(ids))} unique"
        assert all(o.outcome.status is Status.COMPLETED for o in hist)  # type: ignore[attr-defined]
        runs = Counter((x1, x2) for _, x1, x2 in slow.executions(tmp_path))
        assert len(runs) == TRIALS and set(runs.values()) == {1}, "each experiment ran once"
        params = {(repr(o.spec.params["x1"]), repr(o.spec.params["x2"])) for o in hist}  # type: ignore[attr-defined]
        assert params == set(runs), "what was recorded is what ran"
        assert count_runs(postgres, name, active_only=True) == 1 + TRIALS, (
            "a parent run + one run per trial"
        )
        assert not spooled(), "the buffer is empty once uploaded"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
