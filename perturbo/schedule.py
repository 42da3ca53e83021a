"""The steps both schedules of :mod:`perturbo.campaign` share: ask the planner (retried
once), stamp and validate its proposals, record a group of finished experiments as a round
and tell the planner. Sequencing them is the campaign's job, not this module's.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from perturbo.history import History
from perturbo.protocols import (
    ExecutorPool,
    Planner,
    Recorder,
    RoundMetrics,
    Space,
    planner_notes,
)
from perturbo.types import (
    ExperimentSpec,
    InvalidSpec,
    Observation,
    PerturboError,
    Status,
    counted,
    describe_error,
    rejected,
)

PLANNER_TRIES = 2
"""A planner that raises is asked again once; a second failure stops the campaign."""


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
    in_flight: int = 0
    """Experiments still running when the round was recorded: under the asynchronous schedule
    a round is one group of completions while the rest of the batch runs on."""


def seen_keys(history: Sequence[Observation], space: Space) -> set[str]:
    """Keys of every experiment that ran (rejected proposals may be proposed again)."""
    return {space.key(o.spec.params) for o in history if o.outcome.status is not Status.REJECTED}


SAME_FAILURES = 4
"""Experiments that all FAILED with one and the same error before the loop stops the campaign
(every one of them is recorded first): a systematic failure (the same exception every time,
a missing metric, a value of the wrong type)."""

NONFINITE_FAILURES = 12
"""Where every experiment so far FAILED because its objective was NaN or infinite ("diverged
or invalid"), which depends on the config (a learning rate sweep whose high rates diverge),
the campaign is stopped only after this many, or a quarter of its budget if that is more."""

_NONFINITE = re.compile(r"^objective .* is (?:[+-]?nan|[+-]?inf) \(diverged or invalid\)$")


def nonfinite_failure(reason: str) -> bool:
    """Whether a failed experiment's reason is a NaN/inf objective value (the executor's
    "objective 'loss' is nan (diverged or invalid)"): a per-config result, not a bug."""
    return bool(_NONFINITE.match(reason.strip()))


@dataclass
class Steps:
    """One campaign's state between the steps: the history, the keys already run, the next
    round number and the running count of proposals stamped in it (ids stay unique)."""

    planner: Planner
    pool: ExecutorPool
    space: Space
    history: History
    recorder: Recorder | None = None
    metrics: RoundMetrics | None = None
    on_round: Callable[[RoundReport], None] | None = None
    experiment_timeout_s: float | None = None
    seen: set[str] = field(default_factory=set)
    next_round: int = 0
    _stamped: int = 0  # proposals stamped with next_round so far
    _healthy: bool | None = None  # an experiment ran and did not fail (None: not looked yet)
    asked_notes: dict[str, Any] = field(default_factory=dict)
    """The planner's notes on its latest ask (an agent's trace): recorded with the next round."""
    budget: int | None = None
    """The campaign's budget of experiments (``None``: unknown), for :meth:`check_not_all_failing`."""

    def ask(self, n: int) -> tuple[list[ExperimentSpec], float]:
        """Up to ``n`` proposals with the pool's in-flight experiments as ``pending``, and the
        planner's time. A planner that raises twice ends in :class:`PerturboError` naming it."""
        t0 = time.perf_counter()
        for attempt in range(PLANNER_TRIES):
            try:
                specs = list(self.planner.ask(n, pending=self.pool.in_flight()))[:n]
                took = time.perf_counter() - t0
                self.asked_notes = planner_notes(self.planner)  # recorded with the next round
                return specs, took
            except Exception as e:  # noqa: BLE001 - any planner bug: retried, then reported
                error = e
                if attempt + 1 == PLANNER_TRIES:
                    break
        name = getattr(self.planner, "name", type(self.planner).__name__)
        raise PerturboError(
            f"planner {name!r} raised {PLANNER_TRIES} times in a row when asked for round "
            f"{self.next_round} ({describe_error(error)}); {counted(self.history.n_ran, 'experiments')} "
            f"{'is' if self.history.n_ran == 1 else 'are'} recorded. Fix the planner (or its settings), then `perturbo resume` the "
            "campaign: it continues after the last recorded round"
        ) from error

    def validate(
        self, specs: Sequence[ExperimentSpec]
    ) -> tuple[list[ExperimentSpec], list[Observation]]:
        """Stamp ids, normalise params and split proposals into runnable and rejected. A
        proposal repeating one in flight is rejected as a repeat (in a ``unique`` space)."""
        valid: list[ExperimentSpec] = []
        bad: list[Observation] = []
        flying = (
            {self.space.key(s.params) for s in self.pool.in_flight()}
            if self.space.unique
            else set()
        )
        batch_keys: set[str] = set()
        for spec in specs:
            spec = spec.stamped(  # ids name the round as people count it: r001-... is round 1
                id=f"r{self.next_round + 1:03d}-{self._stamped:04d}", round=self.next_round
            )
            self._stamped += 1
            try:
                params = self.space.validate(spec.params)
                key = self.space.key(params)
                # named as written where one value is the experiment (a gene's ``Cd247``,
                # whose key is upper case), else by its key
                what = str(next(iter(params.values()))) if len(params) == 1 else key
                if self.space.unique and key in self.seen:
                    raise InvalidSpec(f"{what} was already tested in an earlier round")
                if self.space.unique and key in batch_keys:
                    raise InvalidSpec(f"{what} appears twice in this batch")
                if key in flying:
                    raise InvalidSpec(f"{what} is already running")
            except InvalidSpec as e:
                bad.append(Observation(spec, rejected(str(e))))
                continue
            batch_keys.add(key)
            valid.append(replace(spec, params=params))
        return valid, bad

    def submit(self, specs: Sequence[ExperimentSpec]) -> None:
        if not specs:
            return
        if self.experiment_timeout_s is None:
            self.pool.submit(specs)
        else:
            self.pool.submit(specs, timeout_s=self.experiment_timeout_s)  # type: ignore[call-arg]

    def record(
        self, obs: Sequence[Observation], planner_s: float, run_s: float, restamp: bool = False
    ) -> RoundReport:
        """Record ``obs`` as round ``next_round`` (``restamp``: their specs get that round,
        as in the asynchronous schedule where a round is a group of completions), append them
        to the history and tell the planner. The round's notes carry the planner's notes on its
        latest ask (an agent's trace)."""
        r = self.next_round
        if restamp:
            obs = [Observation(replace(o.spec, round=r), o.outcome) for o in obs]
        obs = list(obs)
        self.seen.update(
            self.space.key(o.spec.params) for o in obs if o.outcome.status is not Status.REJECTED
        )
        m = self.metrics(obs, list(self.history) + obs) if self.metrics else {}
        m = {**m, "planner_s": planner_s, "run_s": run_s}
        if self.recorder is not None:
            self.recorder.record_round(r, obs, m, {**round_notes(obs), **self.asked_notes})
        self.history.extend(obs)
        self.planner.tell(obs)
        n_bad = sum(o.outcome.status is Status.REJECTED for o in obs)
        report = RoundReport(
            r, m, planner_s, run_s, len(obs) - n_bad, n_bad, obs, len(self.pool.in_flight())
        )
        if self.on_round is not None:
            self.on_round(report)
        self.next_round += 1
        self._stamped = 0
        return report

    def nonfinite_limit(self) -> int:
        """How many experiments that all returned a NaN/inf objective stop the campaign."""
        return max(NONFINITE_FAILURES, (self.budget or 0) // 4)

    def check_not_all_failing(self) -> None:
        """Stop a campaign whose every experiment so far FAILED for the same reason, while it
        still has budget: another round would fail the same way (a missing parameter, an
        objective that raises). A NaN/inf objective depends on the config: it stops the
        campaign only after :meth:`nonfinite_limit` experiments that all returned one. The
        loops call it between rounds."""
        if not self._healthy:  # once healthy, always: O(1) per round
            ok = (Status.REJECTED, Status.FAILED)
            self._healthy = any(o.outcome.status not in ok for o in self.history)
        if self._healthy or self.history.n_ran < SAME_FAILURES:
            return
        ran = [o for o in self.history if o.outcome.status is not Status.REJECTED]
        reasons = {(o.outcome.error.splitlines() or [""])[0] for o in ran}
        if all(nonfinite_failure(r) for r in reasons):  # NaN and inf alike: one class
            if len(ran) >= self.nonfinite_limit():
                self._stop_nonfinite(len(ran), sorted(reasons)[0])
            return
        if len(reasons) == 1:
            reason = reasons.pop()
            then = (
                "fix the cause, then `perturbo resume` continues (the failed experiments are "
                "recorded)"
                if self.recorder is not None
                else "fix the cause and run it again (this run was not recorded: give it a "
                "tracking store to keep and resume one)"
            )
            from perturbo.objective import misnamed_objective, rename_advice  # numpy: lazily

            misnamed = misnamed_objective(reason)  # a setting: resuming cannot change it
            if misnamed is not None:
                then = rename_advice(*misnamed)
            raise PerturboError(
                f"{'the only experiment' if len(ran) == 1 else f'all {len(ran)} experiments'} so "
                f"far failed the same way, so the campaign stopped: {reason[:300]}; {then}"
            )

    def _stop_nonfinite(self, n: int, example: str) -> None:
        then = (
            "then `perturbo resume` continues (the failed experiments are recorded)"
            if self.recorder is not None
            else "then run it again"
        )
        raise PerturboError(
            f"all {n} experiments so far returned a NaN or infinite objective ({example[:200]})"
            ": the objective never returned a finite value, so the campaign stopped. Check "
            "the objective on one of these configs outside perturbo, or narrow the space to "
            f"where it converges; {then}"
        )

    def finish(self) -> None:
        if self.recorder is not None:
            finishing = getattr(self.on_round, "finishing", None)  # RoundProgress: one line
            if callable(finishing):
                finishing(
                    f"{counted(self.history.n_ran, 'experiments')} in "
                    f"{counted(self.next_round, 'rounds')} ran; "
                    "recording the final metrics and drawing the plots ..."
                )
            final = self.metrics([], list(self.history)) if self.metrics else {}
            self.recorder.finish(list(self.history), final)


def round_notes(obs: Sequence[Observation]) -> dict[str, Any]:
    """Rationales the planner attached to this round's proposals (deduplicated, in order)."""
    notes = list(dict.fromkeys(o.spec.note for o in obs if o.spec.note))
    by_planner: dict[str, int] = {}
    for o in obs:
        if o.spec.planner:
            by_planner[o.spec.planner] = by_planner.get(o.spec.planner, 0) + 1
    return {"rationale": "\n".join(notes), "proposed_by": by_planner}
