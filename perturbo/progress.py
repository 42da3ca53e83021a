"""The live progress display of a campaign (rich): one line per round, a bar across rounds.

Written to stderr, so stdout stays for results. Shows the kind's headline metrics
(:attr:`~perturbo.kindspec.KindSpec.headline`), planner time, experiment time and round time.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from perturbo.campaign import RoundReport

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


def _console() -> Any:
    from rich.console import Console

    console = Console(stderr=True)
    return console if console.is_terminal else Console(stderr=True, width=200)


class RoundProgress:
    """``on_round`` callback for :func:`perturbo.campaign.run`; use as a context manager."""

    def __init__(
        self,
        total_rounds: int | None,
        done_rounds: int = 0,
        enabled: bool = True,
        title: str = "campaign",
        headline: Sequence[str] = (),
    ) -> None:
        self.total = total_rounds
        self.done = done_rounds
        self.enabled = enabled
        self.title = title
        self.headline = tuple(headline)
        self._progress: Any = None
        self._task: Any = None
        self._last = time.perf_counter()

    def __enter__(self) -> RoundProgress:
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
                TimeElapsedColumn(),
                console=_console(),
                transient=False,
            )
            self._progress.start()
            self._task = self._progress.add_task(
                f"{self.title}: round {self.done + 1}", total=self.total, completed=self.done
            )
        self._last = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def __call__(self, report: RoundReport) -> None:
        now = time.perf_counter()
        round_s, self._last = now - self._last, now
        line = (
            f"round {report.round + 1}: {headline(report.metrics, 4, self.headline)}  "
            f"ran={report.n_ran} rejected={report.n_rejected}  "
            f"planner {report.planner_s:.2f}s  experiments {report.run_s:.2f}s  "
            f"round {round_s:.2f}s"
        )
        self.done = report.round + 1
        if self._progress is None:
            return
        self._progress.console.print(line, highlight=False)
        self._progress.update(
            self._task,
            completed=self.done,
            description=f"{self.title}: {headline(report.metrics, 2, self.headline)}",
        )
