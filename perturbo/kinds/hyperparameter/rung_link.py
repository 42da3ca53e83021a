"""ASHA's rungs reached from a child process: the driver keeps them, children ask it.

A ``--local`` campaign of user code runs each trial in a child process
(:class:`~perturbo.actors.process_pool.ProcessExecutorPool`), so a ``sys.exit`` or a segfault
in the user's function is one FAILED trial, not a dead driver. ASHA's rung keeper must then
be shared by every child and hold what the driver seeded on resume; a
:class:`~perturbo.actors.rungs.SharedRungs` unpickled in a child would keep rungs of its own
(no Ray there to share them through). So the driver serves its rungs on a Unix socket
(:func:`link_rungs`) and a child's ``report(trial_id, epoch, value)`` is one round trip to it
(well under a millisecond, once per epoch).
"""

from __future__ import annotations

import atexit
import os
import secrets
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from multiprocessing import AuthenticationError
from multiprocessing.connection import Client, Connection, Listener
from typing import Any

from perturbo.types import Observation

__all__ = ["LinkedRungs", "link_rungs"]

_SERVED: dict[int, LinkedRungs] = {}  # id(rungs) -> its link, one server per rung keeper
_CLIENTS: dict[str, Connection] = {}  # in a child: address -> its open connection
_LOCK = threading.Lock()


@dataclass(frozen=True)
class LinkedRungs:
    """A picklable handle on the driver's rung keeper ``rungs``: in the driver (``owner``, its
    pid) calls go to it directly, elsewhere over ``address``."""

    rungs: Any
    address: str
    authkey: bytes
    owner: int

    def report(self, trial_id: str, epoch: int, value: float) -> bool:
        """True to continue the trial, False to stop it (the driver's rungs decide)."""
        if os.getpid() == self.owner:
            return bool(self.rungs.report(trial_id, epoch, value))
        with _LOCK:  # one trial at a time per child; the lock keeps a reply with its ask
            conn = _CLIENTS.get(self.address)
            if conn is None:
                conn = _CLIENTS[self.address] = Client(
                    self.address, family="AF_UNIX", authkey=self.authkey
                )
            try:
                conn.send((trial_id, int(epoch), float(value)))
                return bool(conn.recv())
            except (EOFError, OSError):
                _CLIENTS.pop(self.address, None)
                raise

    def seed(self, history: Iterable[Observation]) -> int:
        """Rebuild the driver's rungs from recorded observations (the driver calls it)."""
        return int(self.rungs.seed(history))


def link_rungs(rungs: Any) -> LinkedRungs:
    """Serve ``rungs`` (anything with ``report(trial_id, epoch, value) -> bool``) to child
    processes from this one, once per keeper; a daemon thread answers, so it ends with the
    driver, and the socket's folder is removed then."""
    with _LOCK:
        link = _SERVED.get(id(rungs))
        if link is not None and link.rungs is rungs:
            return link
        folder = tempfile.mkdtemp(prefix="perturbo-rungs-")
        address = os.path.join(folder, "rungs.sock")
        authkey = secrets.token_bytes(16)
        listener = Listener(address, family="AF_UNIX", authkey=authkey)
        atexit.register(_close, listener, folder)
        link = _SERVED[id(rungs)] = LinkedRungs(rungs, address, authkey, os.getpid())
    threading.Thread(
        target=_accept, args=(listener, rungs), name="perturbo-rungs", daemon=True
    ).start()
    return link


def _close(listener: Listener, folder: str) -> None:
    """At exit: close the socket (the listener removes its file), then its folder."""
    try:
        listener.close()
        os.rmdir(folder)
    except OSError:
        pass


def _accept(listener: Listener, rungs: Any) -> None:
    while True:
        try:
            conn = listener.accept()
        except (AuthenticationError, EOFError):  # a failed handshake: wait for the next
            continue
        except OSError:  # the listener is closed: nothing more to serve
            return
        threading.Thread(target=_answer, args=(conn, rungs), daemon=True).start()


def _answer(conn: Connection, rungs: Any) -> None:
    """Answer one child's reports until it goes away (its process ended or was killed)."""
    with conn:
        while True:
            try:
                trial_id, epoch, value = conn.recv()
            except (EOFError, OSError):
                return
            try:
                keep = bool(rungs.report(trial_id, epoch, value))
            except Exception:  # noqa: BLE001 - the keeper's failure: let the trial go on
                keep = True
            try:
                conn.send(keep)
            except OSError:
                return
