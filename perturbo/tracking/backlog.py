"""Rounds the store refused, kept on disk until it takes them: the writer's side of "the
MLflow server went down mid-campaign".

The writer spools a round it cannot write and goes on; every later round goes to the spool
too until a retry (at most every ``retry_s``) uploads the backlog in round order. Uploading
skips rounds the store already committed (a write whose reply was lost), so each round is
recorded exactly once. At the end :meth:`Backlog.drain` waits for the store a bounded time,
then names the spool and ``perturbo resume`` (which uploads it on start).
"""

from __future__ import annotations

import shlex
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perturbo.config_env import environment
from perturbo.tracking.spool import Spool, SpooledRound
from perturbo.tracking.uri import shown_uri
from perturbo.types import Observation, PerturboError

Upload = Callable[[list[SpooledRound]], "Sequence[tuple[SpooledRound, str]] | None"]
"""Writes spooled rounds to the store (each not yet committed there) and removes their files;
raises while the store is down. Returns the rounds whose slot the store already filled with
other results (a ``resume`` elsewhere reran them), each with what the store holds instead:
they are not uploaded but kept (:meth:`Spool.keep`)."""


def first_line(e: BaseException | None) -> str:
    text = str(e) if e is not None else ""
    return text.splitlines()[0][:200] if text else type(e).__name__


@dataclass
class Backlog:
    """The campaign's spooled rounds and when to try the store again."""

    spool: Spool
    retry_s: float = 10.0
    say: Callable[[str], None] | None = None
    pending: int = 0
    error: BaseException | None = None
    _next_try: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self.pending = self.spool.count()

    def due(self) -> bool:
        return bool(self.pending) and time.monotonic() >= self._next_try

    def buffer(
        self,
        round: int,
        obs: Sequence[Observation],
        metrics: Mapping[str, float],
        notes: Mapping[str, Any],
        config: Mapping[str, Any],
        error: BaseException | None,
    ) -> Path:
        """Spool one round the store refused (or that waits behind the backlog)."""
        path = self.spool.save(round, obs, metrics, notes, config)
        self.pending += 1
        self.error = error or self.error
        self._next_try = max(self._next_try, time.monotonic() + self.retry_s)
        if self.pending == 1:
            self._say(
                f"MLflow at {shown_uri(self.spool.uri)!r} refused round {round + 1} ({first_line(self.error)}): "
                f"buffering rounds on disk in {str(path.parent)!r}; the campaign goes on and "
                "uploads them when the store is back"
            )
        return path

    def flush(self, upload: Upload) -> bool:
        """Upload every spooled round; False (and :attr:`error`) while the store refuses."""
        spooled = list(self.spool.rounds())
        if not spooled:
            self.pending = 0
            return True
        try:
            clashes = list(upload(spooled) or [])
        except Exception as e:  # noqa: BLE001 - still down: try again later
            self.error = e
            self.pending = self.spool.count()
            self._next_try = time.monotonic() + self.retry_s
            return False
        for s, _ in clashes:
            if s.path.exists():
                self.spool.keep(s)
        if clashes:
            self._say(clash_line(self.spool, len(spooled), clashes))
        elif self.pending:
            self._say(
                f"MLflow at {shown_uri(self.spool.uri)!r} is back: {len(spooled)} buffered rounds uploaded"
            )
        self.pending = 0
        return True

    def drain(self, upload: Upload, wait_s: float | None = None) -> None:
        """The campaign is over: retry for ``wait_s`` (default ``$PERTURBO_STORE_WAIT_S``,
        300 s, as :mod:`perturbo.config` reads it), then raise :class:`PerturboError` naming
        the spool."""
        if not self.pending:
            return
        if wait_s is None:
            wait_s = environment().store_wait_s
        self._say(
            f"the campaign is done; waiting up to {wait_s:.0f} s for MLflow at "
            f"{shown_uri(self.spool.uri)!r} to take {self.pending} buffered rounds ..."
        )
        deadline = time.monotonic() + wait_s
        while not self.flush(upload):
            if time.monotonic() >= deadline:
                raise PerturboError(
                    f"MLflow at {shown_uri(self.spool.uri)!r} is still down ({first_line(self.error)}); "
                    f"{self.pending} rounds are saved in {str(self.spool.path)!r}: start the "
                    "store again, then "
                    f"`perturbo resume {shlex.quote(self.spool.campaign)}` uploads them "
                    "(nothing is lost)"
                )
            time.sleep(min(2.0, self.retry_s))

    def _say(self, msg: str) -> None:
        (self.say or (lambda m: print(m, file=sys.stderr, flush=True)))(msg)


def clash_line(spool: Spool, n: int, clashes: Sequence[tuple[SpooledRound, str]]) -> str:
    """What an upload says where the store already held other results for some rounds."""
    from perturbo.tracking.spool import KEPT

    named = "; ".join(f"round {s.round + 1}: the store holds {held}" for s, held in clashes)
    return (
        f"MLflow at {shown_uri(spool.uri)!r} is back: {n - len(clashes)} of {n} buffered rounds "
        f"uploaded; {len(clashes)} NOT uploaded because the store already holds other results "
        f"for them (a resumed run recorded them: {named}); the buffered ones are kept in "
        f"{str(spool.path / KEPT)!r}"
    )


__all__ = ["Backlog", "Upload", "clash_line", "first_line"]
