"""The live progress display of a campaign (rich): one line per round, a bar toward the end.

Written to stderr, so stdout stays for results. Shows the kind's headline metrics
(:attr:`~perturbo.kindspec.KindSpec.headline`), planner time, experiment time and round time.

The bar counts what the campaign's stop rule counts: rounds where it stops after ``rounds``,
experiments where it stops after ``max_experiments``. Under the asynchronous schedule (and
in-process, with fewer workers than the batch) a round is a group of completions, so a budget
of experiments says nothing about the number of rounds: counting rounds against
``ceil(budget / batch)`` printed ``8/2``. Done never exceeds the total shown. There a
round's line says how many finished in it and how many still run (``ran=1 running=3``), so
a batch of 4 does not read as a batch of 1.

:func:`phase` prints one status line for a slow step before the first round (loading a
model, computing a reference, starting Ray) and :meth:`RoundProgress.finishing` one for the
work after the last (the final metrics and plots), so a campaign is never silent for long.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from perturbo.campaign import RoundReport
from perturbo.types import counted

if TYPE_CHECKING:
    from perturbo.campaign import StopRule
    from perturbo.history import History

_HIDE = ("planner_s", "run_s")


def _fmt(v: float) -> str:
    if v == int(v) and abs(v) < 1e9:
        return str(int(v))
    return f"{v:.4g}"


def headline(metrics: Mapping[str, float], limit: int = 4, first: Sequence[str] = ()) -> str:
    """The metrics worth a glance: the kind's headline keys (``first``) first, then the others
    in the order the kind reports them, ``limit`` in all."""
    keys = [k for k in first if k in metrics]
    keys += [k for k in metrics if k not in keys and k not in _HIDE]
    return "  ".join(f"{k}={_fmt(float(metrics[k]))}" for k in keys[:limit])


def phase(msg: str) -> None:
    """One status line on stderr for a slow step of a campaign outside its rounds."""
    print(msg, file=sys.stderr, flush=True)


def _console() -> Any:
    from rich.console import Console

    console = Console(stderr=True)
    return console if console.is_terminal else Console(stderr=True, width=200)


class RoundProgress:
    """``on_round`` callback for :func:`perturbo.campaign.run`; use as a context manager.

    ``total_rounds``/``done_rounds``: the bar counts rounds (``None``: no known end).
    ``total_experiments``/``done_experiments``: where given, the bar counts experiments that
    ran instead (what a ``max_experiments`` budget counts). :meth:`for_stop` picks for a
    campaign's stop rule."""

    def __init__(
        self,
        total_rounds: int | None,
        done_rounds: int = 0,
        enabled: bool = True,
        title: str = "campaign",
        headline: Sequence[str] = (),
        *,
        total_experiments: int | None = None,
        done_experiments: int = 0,
    ) -> None:
        self.by_experiments = total_experiments is not None
        self.total = total_experiments if self.by_experiments else total_rounds
        self.rounds = done_rounds
        self.ran = done_experiments
        self.enabled = enabled
        self.title = title
        self.headline = tuple(headline)
        self._progress: Any = None
        self._task: Any = None
        self._last = time.perf_counter()

    @classmethod
    def for_stop(
        cls,
        stop: StopRule,
        history: History,
        *,
        enabled: bool = True,
        title: str = "campaign",
        headline: Sequence[str] = (),
    ) -> RoundProgress:
        """The display for a campaign that ends by ``stop`` and has ``history`` recorded:
        rounds against ``stop.rounds``, else experiments against ``stop.max_experiments``,
        else rounds with no known end (a wall-clock limit)."""
        done = history.last_round + 1
        if stop.rounds is None and stop.max_experiments is not None:
            return cls(
                None,
                done,
                enabled,
                title,
                headline,
                total_experiments=stop.max_experiments,
                done_experiments=history.n_ran,
            )
        return cls(stop.rounds, done, enabled, title, headline, done_experiments=history.n_ran)

    @property
    def done(self) -> int:
        """What the bar counts so far (rounds, or experiments that ran)."""
        return self.ran if self.by_experiments else self.rounds

    def _total(self) -> int | None:
        """The total shown: never below what is done (a budget raised on resume, a planner
        that stopped early never make ``done > total``)."""
        return None if self.total is None else max(self.total, self.done)

    def count(self) -> str:
        """``3/5 rounds`` or ``12/40 experiments`` (``3 rounds`` where the end is unknown)."""
        unit = "experiments" if self.by_experiments else "rounds"
        total = self._total()
        return f"{self.done}/{total} {unit}" if total is not None else counted(self.done, unit)

    def __enter__(self) -> RoundProgress:
        phase(f"  running round {self.rounds + 1} ({self.count()} so far) ...")
        if self.enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("experiments" if self.by_experiments else "rounds"),
                TimeElapsedColumn(),
                console=_console(),
                transient=False,
            )
            self._progress.start()
            self._task = self._progress.add_task(
                f"{self.title}: round {self.rounds + 1}", total=self._total(), completed=self.done
            )
        self._last = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def __call__(self, report: RoundReport) -> None:
        now = time.perf_counter()
        round_s, self._last = now - self._last, now
        self.rounds = report.round + 1
        self.ran += report.n_ran
        running = f" running={report.in_flight}" if report.in_flight else ""
        line = (
            f"round {report.round + 1} ({self.count()}): "
            f"{headline(report.metrics, 4, self.headline)}  "
            f"ran={report.n_ran}{running} rejected={report.n_rejected}  "
            f"planner {report.planner_s:.2f}s  experiments {report.run_s:.2f}s  "
            f"round {round_s:.2f}s"
        )
        if self._progress is None:
            return
        self._progress.console.print(line, highlight=False)
        self._progress.update(
            self._task,
            total=self._total(),
            completed=self.done,
            description=f"{self.title}: {headline(report.metrics, 2, self.headline)}",
        )

    def finishing(self, what: str) -> None:
        """One line for the work after the last round (the loop calls it before it asks the
        recorder to write the final metrics and plots)."""
        if self._progress is not None:
            self._progress.console.print(what, highlight=False)
        else:
            phase(what)
