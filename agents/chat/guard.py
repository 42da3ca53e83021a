"""Numbers in answers come from tool results: every number a model writes is checked.

:class:`NumberGuard` holds the texts the model was shown (tool results, the user's words) and
says which numbers of a reply none of them supports (a number is supported where it appears
verbatim, or equals a source value rounded to the digits written, or is one as a percent).
:class:`SentenceGuard` applies it to a streamed reply sentence by sentence: a sentence with an
unsupported number is dropped (and kept in ``dropped``), so a made-up number never reaches the
screen; the front end then shows the tool's own text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["NumberGuard", "SentenceGuard", "numbers"]

_NUM = re.compile(r"(?<![\w.\-/])[-+]?\d+(?:,\d{3})*(?:\.\d+)?(?:[eE][-+]?\d+)?%?")
_STRIP = ".,;:!?()[]{}<>'\"`*_"
_END = re.compile(r"(?<=[.!?])\s+|\n+")


def numbers(text: str) -> list[str]:
    """The number tokens of ``text`` (``10.87``, ``-3``, ``11%``, ``1,024``); digits inside
    words (``s0``, ``r001-0002``, ``CD274``) are not numbers."""
    return [m.group(0) for m in _NUM.finditer(text) if not _in_word(text, m.start(), m.end())]


def _in_word(text: str, start: int, end: int) -> bool:
    after = text[end : end + 1]
    return bool(after) and (after.isalpha() or after in "-_/")


def _value(token: str) -> tuple[float, int, bool]:
    pct = token.endswith("%")
    t = token.rstrip("%").replace(",", "")
    decimals = len(t.split(".", 1)[1]) if "." in t and "e" not in t.lower() else 0
    return float(t), decimals, pct


class NumberGuard:
    """Which numbers of a reply the ``sources`` (tool results, the user's messages) support."""

    def __init__(self, sources: Iterable[str] = ()) -> None:
        self.words: set[str] = set()
        self.values: list[float] = []
        for s in sources:
            self.add(s)

    def add(self, source: str) -> None:
        for w in source.split():
            self.words.add(w.strip(_STRIP))
        for tok in numbers(source):
            try:
                self.values.append(_value(tok)[0])
            except ValueError:
                continue

    def supports(self, token: str) -> bool:
        if token.strip(_STRIP) in self.words:
            return True
        try:
            x, d, pct = _value(token)
        except ValueError:
            return False
        tol = 0.5 * 10.0**-d + 1e-9
        for v in self.values:
            if abs(x - v) <= tol or abs(x - round(v, d)) <= 1e-9:
                return True
            if pct and abs(x - 100.0 * v) <= tol:
                return True
        return False

    def unsupported(self, text: str) -> list[str]:
        return [t for t in numbers(text) if not self.supports(t)]


class SentenceGuard:
    """Streams a reply through a :class:`NumberGuard`, one sentence at a time."""

    def __init__(self, guard: NumberGuard) -> None:
        self.guard = guard
        self.buffer = ""
        self.kept: list[str] = []
        self.dropped: list[str] = []

    def feed(self, chunk: str) -> list[str]:
        """Add streamed text; returns the sentences now complete and supported."""
        self.buffer += chunk
        parts = _END.split(self.buffer)
        if len(parts) == 1:
            return []
        self.buffer = parts[-1]
        return [s for p in parts[:-1] if (s := self._check(p))]

    def flush(self) -> list[str]:
        """The rest; a sentence cut off by the token limit is marked so (``...``)."""
        rest, self.buffer = self.buffer.rstrip(), ""
        if rest and rest[-1] not in ".!?)\"'":
            rest += " ..."
        s = self._check(rest)
        return [s] if s else []

    def _check(self, sentence: str) -> str:
        s = sentence.strip()
        if not s:
            return ""
        if self.guard.unsupported(s):
            self.dropped.append(s)
            return ""
        self.kept.append(s)
        return s

    @property
    def text(self) -> str:
        return " ".join(self.kept)
