"""Ctrl-C and SIGTERM: both end a campaign the same way, never in the middle of a write.

- :func:`sigterm_as_interrupt`: SIGTERM (``kill``, ``ray job stop``, a scheduler's preemption)
  raises :class:`Terminated`, a ``KeyboardInterrupt``, where Ctrl-C would raise one: what is
  recorded stays, the campaign is marked KILLED and resumes. :func:`exit_code` then says 143
  (128 + SIGTERM) instead of Ctrl-C's 130.
- :func:`ctrl_c_after_write`: either signal arriving while a round is being written is held
  until the write is done, so a round is recorded whole or not at all.

Ray replaces the SIGTERM handler of a driver in ``ray.init`` (with ``sys.exit``);
:func:`perturbo.actors.connect` puts the one installed here back afterwards.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

__all__ = [
    "SIGINT_ENV",
    "Terminated",
    "ctrl_c_after_write",
    "exit_code",
    "honour_sigint",
    "sigterm_as_interrupt",
]

SIGINT_ENV = "PERTURBO_HONOUR_SIGINT"
"""Set (to 1) by a launcher whose stop is SIGINT (the chat's): see :func:`honour_sigint`."""

_received: list[int] = []  # SIGTERMs seen inside sigterm_as_interrupt (this process)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where a Ctrl-C would be."""

    signum = int(signal.SIGTERM)


def _terminate(signum: int, frame: object) -> None:
    _received.append(signum)
    raise Terminated("terminated (SIGTERM)")


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within: SIGTERM raises :class:`Terminated` in the main thread (a no-op elsewhere)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _received.clear()
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def exit_code(e: BaseException | None = None) -> int:
    """The exit status of a campaign ended by an interrupt: 143 after a SIGTERM, else 130."""
    if isinstance(e, Terminated) or _received:
        return 128 + int(signal.SIGTERM)
    return 128 + int(signal.SIGINT)


@contextlib.contextmanager
def ctrl_c_after_write() -> Iterator[None]:
    """Hold a Ctrl-C (or a SIGTERM that :func:`sigterm_as_interrupt` turns into one) arriving
    while a round is being written until the write is done, so a round is either recorded
    whole or not at all (then it simply runs again on resume)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pressed: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda s, f: pressed.append(s))
    term = signal.getsignal(signal.SIGTERM)
    held_term = term is _terminate
    if held_term:
        signal.signal(signal.SIGTERM, lambda s, f: pressed.append(s))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if held_term:
            signal.signal(signal.SIGTERM, _terminate)
    if signal.SIGTERM in pressed:
        _terminate(signal.SIGTERM, None)
    if pressed:
        raise KeyboardInterrupt


def honour_sigint(asked: bool) -> None:
    """Where ``asked`` (the entry point found :data:`SIGINT_ENV` set) and SIGINT is ignored,
    make it raise KeyboardInterrupt again. A process started in the background of a script
    (``cmd &``) inherits SIGINT ignored; a chat started that way passed it on to the campaigns
    it launched, which then ran on through the chat's stop (its SIGINT)."""
    if asked and signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
