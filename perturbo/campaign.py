"""THE loop: ask -> validate -> submit -> wait -> record -> tell, round after round.

The only place the steps are sequenced. It sees protocols only (no Ray, no MLflow), so the
same loop drives a laptop run with :class:`~perturbo.actors.LocalExecutorPool` and a
cluster job with :class:`~perturbo.actors.RayExecutorPool`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from perturbo.history import History
from perturbo.protocols import ExecutorPool, Planner, Recorder, RoundMetrics, Space
from perturbo.types import ExperimentSpec, InvalidSpec, Observation, Status, rejected


@dataclass(frozen=True)
class StopRule:
    """When a campaign ends: whichever limit comes first. ``None`` means no limit.

    ``rounds`` counts all rounds of the campaign, resumed ones included; ``max_experiments``
    counts experiments that ran (rejected proposals cost nothing); ``wall_clock_s`` is checked
    between rounds, so a running round always finishes and is recorded.
    """

    rounds: int | None = None
    max_experiments: int | None = None
    wall_clock_s: float | None = None

    def reason(self, history: History, next_round: int, started: float) -> str | None:
        if self.rounds is not None and next_round >= self.rounds:
            return f"{self.rounds} rounds done"
        if self.max_experiments is not None and history.n_ran >= self.max_experiments:
            return f"budget of {self.max_experiments} experiments spent"
        if self.wall_clock_s is not None and time.monotonic() - started >= self.wall_clock_s:
            return f"wall clock of {self.wall_clock_s:g} s reached"
        return None


@dataclass(frozen=True)
class RoundReport:
    """What the loop tells a progress display after each round."""

    round: int
    metrics: Mapping[str, float]
    planner_s: float
    run_s: float
    n_ran: int
    n_rejected: int
    observations: Sequence[Observation] = field(repr=False, default=())


def _validate(
    specs: Sequence[ExperimentSpec], space: Space, seen: set[str], round: int
) -> tuple[list[ExperimentSpec], list[Observation]]:
    """Stamp ids, normalise params and split proposals into runnable and rejected."""
    valid: list[ExperimentSpec] = []
    bad: list[Observation] = []
    batch_keys: set[str] = set()
    for i, spec in enumerate(specs):
        spec = spec.stamped(id=f"r{round:03d}-{i:04d}", round=round)
        try:
            params = space.validate(spec.params)
            key = space.key(params)
            if space.unique and key in seen:
                raise InvalidSpec(f"{key} was already tested in an earlier round")
            if space.unique and key in batch_keys:
                raise InvalidSpec(f"{key} appears twice in this batch")
        except InvalidSpec as e:
            bad.append(Observation(spec, rejected(str(e))))
            continue
        batch_keys.add(key)
        valid.append(ExperimentSpec(params, spec.kind, spec.id, round, spec.planner, spec.note))
    return valid, bad


def _collect(pool: ExecutorPool, n: int, poll_s: float) -> list[Observation]:
    out: list[Observation] = []
    while len(out) < n:
        out.extend(pool.wait(timeout_s=poll_s))
    return out


def seen_keys(history: Sequence[Observation], space: Space) -> set[str]:
    """Keys of every experiment that ran (rejected proposals may be proposed again)."""
    return {space.key(o.spec.params) for o in history if o.outcome.status is not Status.REJECTED}


MAX_EMPTY_ROUNDS = 3
"""Rounds in a row in which every proposal was rejected before the loop gives up: a planner
that only proposes invalid experiments would otherwise spin forever under a budget stop
(rejections cost nothing). Each rejected round is still recorded."""


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
) -> History:
    """Run rounds of ``batch`` experiments until ``stop`` says so; return the full history.

    Pass a ``history`` (rebuilt from the tracking store) to resume: the planner is told it
    first, numbering continues after its last round, and nothing in it runs again.
    """
    if batch <= 0:
        raise ValueError(f"batch must be a positive number of experiments, got {batch}")
    history = History() if history is None else history
    if len(history):
        planner.tell(list(history))
    seen = seen_keys(history, space)
    started = time.monotonic()
    next_round = history.last_round + 1
    empty_rounds = 0
    while stop.reason(history, next_round, started) is None and empty_rounds < MAX_EMPTY_ROUNDS:
        n = batch
        if stop.max_experiments is not None:
            n = min(n, stop.max_experiments - history.n_ran)
        t0 = time.perf_counter()
        specs = planner.ask(n, pending=pool.in_flight())[:n]
        planner_s = time.perf_counter() - t0
        if not specs:
            break  # the planner has nothing left to propose (pool of genes exhausted)
        valid, bad = _validate(specs, space, seen, next_round)
        empty_rounds = 0 if valid else empty_rounds + 1
        t1 = time.perf_counter()
        pool.submit(valid)
        done = _collect(pool, len(valid), poll_s)
        run_s = time.perf_counter() - t1
        order = {s.id: i for i, s in enumerate(valid)}
        round_obs = bad + sorted(done, key=lambda o: order.get(o.spec.id, len(order)))
        seen.update(space.key(o.spec.params) for o in done)
        m = metrics(round_obs, list(history) + round_obs) if metrics else {}
        m = {**m, "planner_s": planner_s, "run_s": run_s}
        if recorder is not None:
            recorder.record_round(next_round, round_obs, m, _round_notes(round_obs))
        history.extend(round_obs)
        planner.tell(round_obs)
        if on_round is not None:
            on_round(RoundReport(next_round, m, planner_s, run_s, len(done), len(bad), round_obs))
        next_round += 1
    if recorder is not None:
        final = metrics([], list(history)) if metrics else {}
        recorder.finish(list(history), final)
    return history


def _round_notes(obs: Sequence[Observation]) -> dict[str, Any]:
    """Rationales the planner attached to this round's proposals (deduplicated, in order)."""
    notes = list(dict.fromkeys(o.spec.note for o in obs if o.spec.note))
    by_planner: dict[str, int] = {}
    for o in obs:
        if o.spec.planner:
            by_planner[o.spec.planner] = by_planner.get(o.spec.planner, 0) + 1
    return {"rationale": "\n".join(notes), "proposed_by": by_planner}
