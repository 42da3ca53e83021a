"""THE loop: ask -> validate -> submit -> wait -> record -> tell, until a stop rule says so.

The only place the steps are sequenced. It sees protocols only (no Ray, no MLflow), so the
same loop drives a laptop run with :class:`~perturbo.actors.LocalExecutorPool` and a
cluster job with :class:`~perturbo.actors.RayExecutorPool`. Two schedules:

- ``"sync"`` (round-synchronous, the default): ask for a batch, run it, record it as one
  round, tell the planner; the next round starts when the slowest experiment of this one
  is done. A genetic round is a real wet-lab batch.
- ``"async"``: keep every worker busy. Whenever a worker frees, the planner is asked for
  one more experiment with those in flight as ``pending`` (BoTorch's ``X_pending``,
  Optuna's constant liar), as Ray Tune and Optuna's parallel workers do. A recorded round
  is the group of experiments one ``pool.wait`` returned, so records stay exactly-once and
  round numbers monotonic, and resume works as for rounds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from perturbo.history import History
from perturbo.protocols import ExecutorPool, Planner, Recorder, RoundMetrics, Space
from perturbo.schedule import RoundReport, Steps, round_notes, seen_keys
from perturbo.types import Observation

__all__ = ["MAX_EMPTY_ROUNDS", "SCHEDULES", "RoundReport", "StopRule", "run", "seen_keys"]
__all__ += ["round_notes"]

SCHEDULES = ("sync", "async")

MAX_EMPTY_ROUNDS = 3
"""Asks in a row in which every proposal was rejected before the loop gives up: a planner
that only proposes invalid experiments would otherwise spin forever under a budget stop
(rejections cost nothing). Each rejection is still recorded."""


@dataclass(frozen=True)
class StopRule:
    """When a campaign ends: whichever limit comes first. ``None`` means no limit.

    ``rounds`` counts all rounds of the campaign, resumed ones included; ``max_experiments``
    counts experiments that ran (rejected proposals cost nothing) and is never exceeded:
    the asynchronous schedule counts those in flight too; ``wall_clock_s`` is checked before
    each ask, so what is running always finishes and is recorded. ``requested`` is asked
    before each ask too: a reason to stop now from outside (``perturbo stop``), else ``None``.
    """

    rounds: int | None = None
    max_experiments: int | None = None
    wall_clock_s: float | None = None
    requested: Callable[[], str | None] | None = None

    def reason(self, history: History, next_round: int, started: float) -> str | None:
        if self.requested is not None and (why := self.requested()) is not None:
            return why
        if self.rounds is not None and next_round >= self.rounds:
            return f"{self.rounds} rounds done"
        if self.max_experiments is not None and history.n_ran >= self.max_experiments:
            return f"budget of {self.max_experiments} experiments spent"
        if self.wall_clock_s is not None and time.monotonic() - started >= self.wall_clock_s:
            return f"wall clock of {self.wall_clock_s:g} s reached"
        return None

    def budget_left(self, history: History, in_flight: int = 0) -> int | None:
        if self.max_experiments is None:
            return None
        return max(0, self.max_experiments - history.n_ran - in_flight)


def run(
    *,
    planner: Planner,
    pool: ExecutorPool,
    space: Space,
    batch: int,
    stop: StopRule,
    recorder: Recorder | None = None,
    metrics: RoundMetrics | None = None,
    history: History | None = None,
    on_round: Callable[[RoundReport], None] | None = None,
    poll_s: float = 0.5,
    schedule: str = "sync",
    experiment_timeout_s: float | None = None,
) -> History:
    """Run the campaign until ``stop`` says so; return the full history.

    ``batch``: experiments per round (``"sync"``), or at most per ask (``"async"``, where
    the pool's free slots say how many to ask for). ``experiment_timeout_s``: an experiment
    running longer ends FAILED with the reason (``None``: no limit). Pass a ``history``
    (rebuilt from the tracking store) to resume: the planner is told it first, numbering
    continues after its last round, and nothing in it runs again. A planner that raises
    twice in a row ends the campaign with :class:`~perturbo.types.PerturboError` (what is
    running is recorded first; ``recorder.finish`` is not called, so it can be resumed).
    """
    if batch <= 0:
        raise ValueError(f"batch must be a positive number of experiments, got {batch}")
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, got {schedule!r}")
    if experiment_timeout_s is not None and experiment_timeout_s <= 0:
        raise ValueError(f"experiment_timeout_s must be > 0 s, got {experiment_timeout_s}")
    history = History() if history is None else history
    if len(history):
        planner.tell(list(history))
    steps = Steps(
        planner, pool, space, history, recorder, metrics, on_round, experiment_timeout_s,
        seen=seen_keys(history, space), next_round=history.last_round + 1,
        budget=stop.max_experiments,
    )  # fmt: skip
    (_run_sync if schedule == "sync" else _run_async)(steps, stop, batch, poll_s)
    steps.finish()
    return history


def _run_sync(steps: Steps, stop: StopRule, batch: int, poll_s: float) -> None:
    """Rounds of ``batch``: each waits for its slowest experiment."""
    started, empty = time.monotonic(), 0
    while (
        stop.reason(steps.history, steps.next_round, started) is None and empty < MAX_EMPTY_ROUNDS
    ):
        left = stop.budget_left(steps.history)
        specs, planner_s = steps.ask(batch if left is None else min(batch, left))
        if not specs:
            break  # the planner has nothing left to propose (pool of genes exhausted)
        valid, bad = steps.validate(specs)
        empty = 0 if valid else empty + 1
        t1 = time.perf_counter()
        steps.submit(valid)
        done: list[Observation] = []
        while len(done) < len(valid):
            done.extend(steps.pool.wait(timeout_s=poll_s))
        order = {s.id: i for i, s in enumerate(valid)}
        done.sort(key=lambda o: order.get(o.spec.id, len(order)))
        steps.record(bad + done, planner_s, time.perf_counter() - t1)
        if stop.reason(steps.history, steps.next_round, started) is None:
            steps.check_not_all_failing()


def _run_async(steps: Steps, stop: StopRule, batch: int, poll_s: float) -> None:
    """Refill free workers as they free; record each group of completions as a round.

    Asking stops when a stop rule fires, the planner has nothing left (or only invalid
    proposals), or it raised twice; what is in flight is then drained and recorded. Under a
    ``rounds`` limit the last round is filled once and collects everything still running,
    so exactly that many rounds are recorded.
    """
    pool, history = steps.pool, steps.history
    started, empty, error = time.monotonic(), 0, None
    asking, planner_s, t_round = True, 0.0, time.perf_counter()
    buffer: list[Observation] = []  # rejected proposals, recorded with the next completions
    while True:
        final = stop.rounds is not None and steps.next_round >= stop.rounds - 1
        if (final and pool.in_flight()) or stop.reason(history, steps.next_round, started):
            asking = False
        while asking and pool.free_slots() > 0:
            left = stop.budget_left(history, len(pool.in_flight()))
            n = min(batch, pool.free_slots(), batch if left is None else left)
            if n <= 0:
                asking = False  # the whole budget is running or done
                break
            try:
                specs, dt = steps.ask(n)
            except Exception as e:  # noqa: BLE001 - raised once what runs is recorded
                error, asking = e, False
                break
            planner_s += dt
            valid, bad = steps.validate(specs)
            buffer += bad
            empty = 0 if valid else empty + 1
            asking = bool(specs) and empty < MAX_EMPTY_ROUNDS and not final
            steps.submit(valid)
            if not valid:
                break  # record (and tell) the rejections before asking again
        if not pool.in_flight() and not buffer:
            break
        done = pool.wait(timeout_s=poll_s)
        while final and pool.in_flight():  # the last round: everything still running
            done += pool.wait(timeout_s=poll_s)
        if done or buffer:
            steps.record(buffer + done, planner_s, time.perf_counter() - t_round, restamp=True)
            buffer, planner_s, t_round = [], 0.0, time.perf_counter()
            if asking and stop.reason(history, steps.next_round, started) is None:
                steps.check_not_all_failing()
    if error is not None:
        raise error
