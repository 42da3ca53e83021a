"""A running campaign's pulse in the store: who drives it, that it is alive, and whether
someone asked it to stop.

While a campaign runs, a daemon thread of its driver writes ``perturbo.heartbeat`` (Unix
time) on the parent run every ``heartbeat_s`` and polls for ``perturbo.stop_requested``
(``perturbo stop NAME`` writes it), as Optuna's RDB storage records a heartbeat per trial and
fails stale ones. ``perturbo status`` reads them back with :func:`liveness`: a campaign whose
run says RUNNING but whose driver is gone (SIGKILL, a lost node) is told apart from a live one
-- by its PID where the driver ran on this host, else by the heartbeat's age.

The thread has its own client and never raises: a store that is down simply misses beats
(the writer buffers the rounds meanwhile).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from perturbo.config_env import environment

HEARTBEAT_TAG = "perturbo.heartbeat"
"""Unix time of the driver's last beat."""
INTERVAL_TAG = "perturbo.heartbeat_s"
DRIVER_TAG = "perturbo.driver"
"""JSON ``{"host", "pid", "ray_job"}``: where the campaign's driver runs; a driver that runs as
a submitted Ray job adds ``"ray_submission"``, the job's submission id (``raysubmit_...``: Ray's
``ray_job``, e.g. ``06000000``, restarts with every new head, so only this names the job)."""
STOP_TAG = "perturbo.stop_requested"
"""Set by ``perturbo stop``: the driver stops asking, records what is running, ends KILLED."""
PROGRESS_TAG = "perturbo.n_ran"
"""Experiments that ran so far (written with each round), the failed ones included."""
FAILED_TAG = "perturbo.n_failed"
"""Of :data:`PROGRESS_TAG`'s experiments, those that failed (no result: a crash, a lab's dropped
gene), written with it so the campaign list counts what ran successfully as ``perturbo show
NAME`` does. Absent in stores recorded before it: the list then counts every one that ran."""

STALE_BEATS = 3
"""A campaign whose last beat is older than this many intervals (+ 10 s) counts as dead."""


def interval_s() -> float:
    """Seconds between beats where the caller gives none: ``$PERTURBO_HEARTBEAT_S`` (default
    30), as :mod:`perturbo.config` reads it."""
    return environment().heartbeat_s


def driver_tags(ray_job: str = "", every_s: float | None = None) -> dict[str, str]:
    """The tags a driver writes when it opens its campaign (``every_s``: its beat interval,
    default :func:`interval_s`)."""
    driver = {"host": socket.gethostname(), "pid": os.getpid(), "ray_job": ray_job}
    submission = environment().ray_job_submission_id  # a submitted job's: what Ray lists it by
    if submission:
        driver["ray_submission"] = submission
    return {
        DRIVER_TAG: json.dumps(driver),
        INTERVAL_TAG: f"{every_s or interval_s():g}",
        HEARTBEAT_TAG: f"{time.time():.3f}",
    }


class Heartbeat:
    """Beats for one parent run until :meth:`close`; :attr:`stop_reason` is set once a stop
    was requested. ``client_factory()`` makes the thread's own MLflow client."""

    def __init__(self, client_factory: Any, run_id: str, every_s: float | None = None) -> None:
        self.run_id = run_id
        self.every_s = every_s or interval_s()
        self.poll_s = min(2.0, self.every_s)
        self.stop_reason: str | None = None
        self._factory = client_factory
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="perturbo-heartbeat", daemon=True)

    def start(self) -> Heartbeat:
        self._thread.start()
        return self

    def close(self) -> None:
        self._done.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        from perturbo.tracking.batch import log_batch

        try:
            client = self._factory()
        except Exception:  # noqa: BLE001 - no client, no beats; the campaign goes on
            return
        last = time.monotonic()
        while not self._done.wait(self.poll_s):
            try:
                tags = client.get_run(self.run_id).data.tags
                if STOP_TAG in tags and self.stop_reason is None:
                    self.stop_reason = f"stopped by `perturbo stop` ({tags[STOP_TAG]})"
                if time.monotonic() - last >= self.every_s:
                    log_batch(client, self.run_id, tags={HEARTBEAT_TAG: f"{time.time():.3f}"})
                    last = time.monotonic()
            except Exception:  # noqa: BLE001, S112 - the store is down: miss this beat
                continue


@dataclass(frozen=True)
class Liveness:
    """What ``perturbo status`` says of one campaign."""

    state: str
    """``running``, ``stopping``, ``dead`` or the run's own status (finished, killed, failed)."""
    detail: str = ""
    beat_age_s: float | None = None
    driver: Mapping[str, Any] | None = None


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` on this host lives (a zombie does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    try:  # a zombie (killed, not yet reaped) is dead
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def liveness(status: str, tags: Mapping[str, str], now: float | None = None) -> Liveness:
    """Alive or not, from a parent run's status and tags."""
    now = time.time() if now is None else now
    try:
        driver = dict(json.loads(tags.get(DRIVER_TAG, "{}")))
    except (ValueError, TypeError):
        driver = {}
    if status == "SCHEDULED":  # a lab campaign waiting for results (perturbo.lab): no driver
        line = tags.get("perturbo.lab.waiting", "")
        return Liveness("waiting", line.removeprefix("waiting for "))
    if status != "RUNNING":
        return Liveness(status.lower(), driver=driver)
    beat = _float(tags.get(HEARTBEAT_TAG))
    every = _float(tags.get(INTERVAL_TAG)) or 30.0
    age = None if beat is None else max(0.0, now - beat)
    if driver.get("host") == socket.gethostname() and isinstance(driver.get("pid"), int):
        if not pid_alive(int(driver["pid"])):
            return Liveness(
                "dead", f"its driver (pid {driver['pid']}) is gone", age, driver
            )  # fmt: skip
    elif age is None or age > STALE_BEATS * every + 10:
        seen = "never" if age is None else f"{age:.0f} s ago"
        return Liveness("dead", f"no heartbeat since {seen}", age, driver)
    if STOP_TAG in tags:
        return Liveness("stopping", f"stop requested {tags[STOP_TAG]}", age, driver)
    return Liveness("running", "", age, driver)


def _float(v: str | None) -> float | None:
    try:
        return float(v) if v is not None else None
    except ValueError:
        return None


__all__ = [
    "DRIVER_TAG",
    "FAILED_TAG",
    "HEARTBEAT_TAG",
    "INTERVAL_TAG",
    "PROGRESS_TAG",
    "STOP_TAG",
    "Heartbeat",
    "Liveness",
    "driver_tags",
    "interval_s",
    "liveness",
    "pid_alive",
]
