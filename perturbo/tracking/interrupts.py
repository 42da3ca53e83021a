"""Ctrl-C while a round is being written: held until the write is done."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def ctrl_c_after_write() -> Iterator[None]:
    """Hold a Ctrl-C that arrives while a round is being written until the write is done, so
    a round is either recorded whole or not at all (then it simply runs again on resume)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pressed: list[Any] = []
    previous = signal.signal(signal.SIGINT, lambda *a: pressed.append(a))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if pressed:
        raise KeyboardInterrupt


__all__ = ["ctrl_c_after_write"]
