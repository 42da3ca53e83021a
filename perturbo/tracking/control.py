"""Controlling a campaign from outside its driver, through the store: ``perturbo stop``.

A stop is a tag on the campaign's parent run (:data:`~perturbo.tracking.heartbeat.STOP_TAG`);
the driver's heartbeat thread sees it within seconds, asks for nothing more, records what is
running and ends the campaign KILLED (``perturbo resume`` continues it). That works the same
for a campaign in another terminal, another host or a submitted Ray job. A campaign whose
driver is gone (SIGKILL, a lost node) cannot obey: it is marked KILLED here instead.
"""

from __future__ import annotations

import getpass
import socket
import time

from perturbo.tracking.batch import log_batch
from perturbo.tracking.heartbeat import STOP_TAG, Liveness, liveness
from perturbo.tracking.reader import MlflowStore


def live(store: MlflowStore, campaign: str) -> Liveness:
    """Whether ``campaign``'s driver is alive, from what the store holds."""
    s = store.summary(campaign)
    return liveness(s.status, s.run_tags)


def request_stop(store: MlflowStore, campaign: str) -> None:
    """Ask a running campaign's driver to stop cleanly."""
    try:
        who = f"{getpass.getuser()}@{socket.gethostname()}"
    except Exception:  # noqa: BLE001 - no user name in some containers
        who = socket.gethostname()
    when = time.strftime("%Y-%m-%d %H:%M:%S")
    store._call(  # noqa: SLF001 - the store's one error wrapper
        f"asking campaign {campaign!r} to stop",
        lambda: log_batch(
            store.client, store.parent_run_id(campaign), tags={STOP_TAG: f"{when} by {who}"}
        ),
    )


def mark_killed(store: MlflowStore, campaign: str, reason: str) -> None:
    """End the parent run of a campaign whose driver is gone: KILLED, resumable."""
    run_id = store.parent_run_id(campaign)

    def write() -> None:
        log_batch(store.client, run_id, tags={"perturbo.stopped": reason[:500]})
        store.client.set_terminated(run_id, status="KILLED")

    store._call(f"marking campaign {campaign!r} KILLED", write)  # noqa: SLF001


__all__ = ["live", "mark_killed", "request_stop"]
