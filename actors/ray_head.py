"""Noticing a lost Ray head before Ray does.

When the head's GCS stops answering, Ray's driver retries silently for
``gcs_rpc_server_reconnect_timeout_s`` (60 s), then ends the whole process with "Failed to
connect to GCS" and exit 1: no Python code runs after that, so the campaign stays RUNNING in
the store with no word on what happened. :class:`HeadWatch` probes the GCS port (a TCP
connect, at most every ``every_s``) while the pool waits, and raises :class:`HeadLost` once
nothing has answered for ``grace_s`` (default 20 s, well inside Ray's 60): the campaign is
then marked in the store and the user told how to continue.
"""

from __future__ import annotations

import socket
import time
from typing import Any

from perturbo.types import PerturboError

__all__ = ["HeadLost", "HeadWatch", "gcs_address"]


class HeadLost(PerturboError):
    """The Ray head (its GCS) stopped answering: the campaign cannot go on on this cluster.
    What is recorded stays; ``resumable`` tells the composition root to say how to resume."""

    resumable = True


def gcs_address(ray: Any) -> str:
    """``host:port`` of the GCS this driver is connected to (``""`` where unknown, e.g. a
    Ray Client connection, whose server watches the head itself)."""
    try:
        return str(ray.get_runtime_context().gcs_address or "")
    except Exception:  # noqa: BLE001 - a Ray Client context has none
        return ""


class HeadWatch:
    """Probes ``address`` (``host:port``) at most every ``every_s`` seconds; :meth:`check`
    raises :class:`HeadLost` once it has not answered for ``grace_s`` seconds."""

    def __init__(self, address: str, grace_s: float = 20.0, every_s: float = 2.0) -> None:
        host, _, port = address.rpartition(":")
        self.address = address
        self._target = (host.strip("[]"), int(port)) if port.isdigit() else None
        self.grace_s = grace_s
        self.every_s = every_s
        self._last_ok = time.monotonic()
        self._last_probe = -float("inf")
        self.lost = False

    @property
    def enabled(self) -> bool:
        return self._target is not None and self.grace_s > 0

    def answers(self) -> bool:
        """One TCP connect to the GCS port (at most ~1 s)."""
        if self._target is None:
            return True
        try:
            with socket.create_connection(self._target, timeout=min(1.0, self.every_s)):
                return True
        except OSError:
            return False

    def check(self) -> None:
        """Probe if due; raise :class:`HeadLost` after ``grace_s`` without an answer."""
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last_probe < self.every_s:
            return
        self._last_probe = now
        if self.answers():
            self._last_ok = time.monotonic()
            return
        silent = time.monotonic() - self._last_ok
        if silent >= self.grace_s:
            self.lost = True
            raise HeadLost(
                f"lost the Ray head: its GCS at {self.address} has not answered for "
                f"{silent:.0f} s (the head node stopped, `ray stop` on it, or the network). "
                "The experiments in flight are abandoned; the recorded ones are kept. Fix: "
                "bring the cluster back (`ray start --head` on the head node)"
            )

    def confirm(self) -> None:
        """After an actor died: where the head does not answer either, wait (probing each
        second) until it does, or raise :class:`HeadLost` once it has been silent for
        ``grace_s``. No replacement actor is asked of a head that is gone (its creation
        could block until Ray ends the process)."""
        if not self.enabled:
            return
        while not self.answers():
            silent = time.monotonic() - self._last_ok
            self._last_probe = -float("inf")
            if silent >= self.grace_s:
                self.check()  # raises HeadLost
            time.sleep(min(1.0, max(0.0, self.grace_s - silent)))
        self._last_ok = self._last_probe = time.monotonic()

    def next_probe_in(self) -> float:
        """Seconds until the next probe is due (``inf`` when disabled): the pool's waits are
        no longer than this, so a lost head is noticed while experiments run."""
        if not self.enabled:
            return float("inf")
        return max(0.0, self._last_probe + self.every_s - time.monotonic())
