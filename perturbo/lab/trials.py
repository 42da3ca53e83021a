"""The lab loop for trials asked and told one by one (Optuna's ``ask``/``tell`` CLI).

A hyperparameter lab campaign hands out trials that train elsewhere: ``ask`` proposes ``n``
more (the planner gets the trials still open as ``pending``, as the asynchronous loop gives
it the trials in flight), ``tell`` records one trial's value (or a file of them) exactly
once. No process lives between steps; the store holds everything:

- every told trial is an observation of the campaign's history (one recorded round per
  ``tell``, its trials in the order they were proposed);
- ``lab/trials.json`` on the parent run holds the ask log -- for each ask: how many rounds
  were recorded before it, how many trials it asked for, the trials open then, and what it
  got -- the open trials, and when each trial was handed out (:mod:`perturbo.lab.trial_state`);
  ``lab/pending.json`` and the waiting tag say what is open (:mod:`perturbo.lab.pending`,
  which ``status``/``show``/chat read).

A worker that dies leaves its trial open: ``ask(..., stale_after=S)`` (``--stale-after``) hands
a trial open longer than ``S`` out again, as itself, before the planner proposes new ones, up
to ``max_retries`` times; stale once more, the ask records it failed
(:mod:`perturbo.lab.stale`, :mod:`perturbo.lab.trial_record`); without it nothing is handed out
twice.

Planner state is rebuilt by replaying that log (:func:`replay_trials`): the same asks with
the same pending trials, the same tells in between, in the same order. A ``tell`` killed
after recording and before updating the log loses nothing: the open trials are those of the
log not yet in the history.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from perturbo.history import History
from perturbo.kindspec import BuildContext, KindSpec
from perturbo.lab.hold import claim_new_step, hold
from perturbo.lab.loop import _failed, _recorder, lab_side
from perturbo.lab.pending import LAB_TAG
from perturbo.lab.pins import check_lab_pins, read_pins, with_pins, write_pins
from perturbo.lab.replay import NoPool, replay_trials
from perturbo.lab.stale import (
    DEFAULT_MAX_RETRIES,
    reissue_line,
    take_stale,
    worn_out,
    worn_out_line,
)
from perturbo.lab.stored import finished, lab_run
from perturbo.lab.trial_record import fail_worn_out, park, record_trials
from perturbo.lab.trial_state import TRIALS_FILE, TrialsState, open_ages, waiting_line
from perturbo.lab.trial_state import read_state as _read_state
from perturbo.lab.trial_state import write_state as _write_state
from perturbo.lab.trial_values import outcomes, told_line
from perturbo.types import ExperimentSpec, Observation, PerturboError

__all__ = [
    "TRIALS_FILE",
    "TrialStep",
    "TrialsState",
    "ask",
    "open_trials",
    "replay_trials",
    "start",
    "tell",
]


@dataclass
class TrialStep:
    """What one step did: the trials it handed out (``asked``: the stale ones handed out
    again, ``reissued``, first, then those the planner proposed), those open now, lines to say."""

    campaign: str
    asked: list[ExperimentSpec] = field(default_factory=list)
    open: list[ExperimentSpec] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    finished: bool = False
    reissued: list[ExperimentSpec] = field(default_factory=list)


class _Open(NoPool):
    """The loop's pool while a trial lab campaign proposes: its open trials are in flight."""

    def __init__(self, specs: Sequence[ExperimentSpec]) -> None:
        self._specs = list(specs)

    def in_flight(self) -> list[ExperimentSpec]:
        return list(self._specs)


def _budget_left(parts: Any, history: History, state: TrialsState) -> int | None:
    left = parts.stop.budget_left(history)
    return None if left is None else max(0, left - len(state.open))


def _propose(
    spec: KindSpec,
    parts: Any,
    history: History,
    state: TrialsState,
    n: int,
    recorder: Any,
    now: float,
) -> list[ExperimentSpec]:
    """Ask the planner (already replayed) for ``n`` trials with the open ones pending; log the
    ask, hand out the valid proposals, record the rejected ones (a round of their own)."""
    from perturbo.lab.loop import _steps

    steps = _steps(parts, history, recorder, history.last_round + 1)
    steps.pool = _Open(state.open)
    specs, _ = steps.ask(n)
    if not specs:
        raise PerturboError("the planner has nothing left to propose")
    valid, bad = steps.validate(specs)
    numbered = []
    for s in [*valid, *(o.spec for o in bad)]:
        numbered.append(replace(s, id=f"t{state.next_number:04d}", kind=spec.name))
        state.next_number += 1
    valid, bad = (
        numbered[: len(valid)],
        [Observation(s, o.outcome) for s, o in zip(numbered[len(valid) :], bad, strict=True)],
    )
    state.asks.append(
        {
            "after": history.last_round,
            "n": n,
            "pending": [s.id for s in state.open],
            "got": [s.id for s in valid] + [o.spec.id for o in bad],
            "at": now,
        }
    )
    state.open.extend(valid)
    state.hand_out(valid, now)
    _write_state(recorder.client, recorder.run_id, state)
    if bad:
        steps.record(bad, 0.0, 0.0, restamp=True)
    return valid


def start(
    spec: KindSpec,
    config: Mapping[str, Any],
    uri: str,
    name: str,
    pinned: Sequence[Mapping[str, Any]] = (),
) -> TrialStep:
    """Start trial lab campaign ``name``: propose its first ``batch`` trials and return.
    ``pinned`` (``--pin``): params handed out first, as trials chosen by the user
    (:mod:`perturbo.lab.pins`)."""
    from perturbo import tracking
    from perturbo.launch_checks import refuse_running_name
    from perturbo.names import check_name

    check_name(name)
    lab_side(spec)
    _refuse_task(spec, config)
    tracking.check_reachable(uri)
    refuse_running_name(uri, name)
    parts = spec.build(config, BuildContext(store=tracking.open_store(uri), campaign=name))
    pins = check_lab_pins(pinned, parts, parts.stop.max_experiments) if pinned else []
    parts = with_pins(parts, pins)
    recorder = _recorder(spec, parts, uri, name, resume=False)
    claim = claim_new_step(uri, name)
    try:
        recorder.start({"pool": "lab", "schedule": "lab"})
        claim.confirm_new(recorder.run_id)
        recorder.client.set_tag(recorder.run_id, LAB_TAG, "1")
        write_pins(recorder.client, recorder.run_id, pins)  # before the first ask hands them out
        state = TrialsState()
        left = _budget_left(parts, History(), state)
        n = parts.batch if left is None else min(parts.batch, left)
        now = time.time()
        asked = _propose(spec, parts, History(), state, n, recorder, now)
        park(recorder)
        return TrialStep(name, asked, list(state.open), [waiting_line(state, name, now)])
    except BaseException as e:
        recorder.abort("FAILED", f"{type(e).__name__}: {e}")
        raise
    finally:
        claim.release()


def _refuse_task(spec: KindSpec, config: Mapping[str, Any]) -> None:
    """A campaign of trials trained elsewhere has no task (its ``--space`` says what a trial
    is): a ``--task`` given (flag or TOML) would be ignored, so it is refused."""
    field = getattr(spec.config_model, "model_fields", {}).get("task")
    task = config.get("task")
    if field is None or task is None or task == field.default:
        return
    raise PerturboError(
        f"--task {task} with --lab: a lab campaign's trials train elsewhere, so it runs no "
        "task (--space says what a trial is); drop --task, or drop --lab to run the task here"
    )


def _open_campaign(kind_of: Callable[[str], KindSpec], uri: str, name: str):
    from perturbo import tracking

    store = tracking.open_store(uri)
    run_id, _ = lab_run(store, name)
    config = store.config(name)
    spec = kind_of(str(config.get("kind", "")))
    return store, run_id, config, spec


def _nothing_to_ask(
    store: Any, run_id: str, name: str, n: int | None, now: float
) -> tuple[TrialStep | None, History, TrialsState]:
    """The step an ``ask`` is without proposing (the campaign finished, or, ``n`` None, the
    trials open now; ``None``: it proposes), with the history and state it read."""
    history = store.history(name)
    state = _read_state(store.client, run_id, history)
    if finished(store, name):
        return TrialStep(name, lines=[_done_line(name, history)], finished=True), history, state
    if n is None and state.open:
        step = TrialStep(name, [], list(state.open), [waiting_line(state, name, now)])
        return step, history, state
    return None, history, state


def open_trials(uri: str, name: str, now: float | None = None) -> tuple[TrialStep, dict]:
    """The open trials of campaign ``name`` and each one's age in seconds (``now``: the time
    to judge by, default the clock), handing nothing out (nothing open: none)."""
    from perturbo import tracking

    now = time.time() if now is None else now
    store = tracking.open_store(uri)
    run_id, _ = lab_run(store, name)
    step, _, state = _nothing_to_ask(store, run_id, name, None, now)
    if step is None:
        step = TrialStep(name, lines=[waiting_line(state, name, now)])
    return step, open_ages(state, now)


def ask(
    kind_of: Callable[[str], KindSpec],
    uri: str,
    name: str,
    n: int | None = None,
    wait_s: float | None = None,
    stale_after: float | None = None,
    now: float | None = None,
    max_retries: int | None = None,
) -> TrialStep:
    """``n`` more trials of campaign ``name`` (``None``: the open ones, or a new ``batch`` of
    them when none is open). The trials handed out are in ``asked``; all open ones in ``open``.
    ``wait_s``: how long to wait for another step holding the campaign (:mod:`perturbo.lab.hold`).
    ``stale_after`` (seconds; with ``n``): open trials last handed out longer ago than that are
    handed out again first, as themselves (:mod:`perturbo.lab.stale`), at most ``max_retries``
    times each (default :data:`~perturbo.lab.stale.DEFAULT_MAX_RETRIES`; stale once more, a
    trial is recorded failed); the planner proposes the rest. ``now``: the time the step
    judges and stamps by (default: the clock)."""
    now = time.time() if now is None else now
    store, run_id, config, spec = _open_campaign(kind_of, uri, name)
    done, _, _ = _nothing_to_ask(store, run_id, name, n, now)
    if done is not None:
        return done
    claim = hold(store, name, wait_s)
    try:
        # what the claim holds (another step may have gone first)
        done, history, state = _nothing_to_ask(store, run_id, name, n, now)
        if done is not None:
            return done
        step, parts = TrialStep(name), None
        if n is not None and stale_after is not None:
            retries = DEFAULT_MAX_RETRIES if max_retries is None else max_retries
            worn = worn_out(state, stale_after, retries, now)
            if worn:  # recorded failed first: its hold is this step's, as a tell's would be
                step.lines.append(worn_out_line(worn, state))
                parts = _parts(spec, config, store, name, run_id)
                if fail_worn_out(
                    spec, parts, uri, name, history, state, worn, stale_after, retries
                ):
                    step.finished = True
                    step.lines.append(_done_line(name, history))
                    return step
            ages = open_ages(state, now)
            step.reissued = take_stale(state, n, stale_after, now, retries)
            if step.reissued:
                step.lines.append(reissue_line(step.reissued, ages, stale_after))
                if len(step.reissued) == n:  # the planner is not asked
                    return _handed_again(store.client, run_id, state, step, now)
        if parts is None:
            parts = _parts(spec, config, store, name, run_id)
        want = parts.batch if n is None else n - len(step.reissued)
        left = _budget_left(parts, history, state)
        if left is not None and left < want:
            if left == 0 and step.reissued:
                return _handed_again(store.client, run_id, state, step, now)
            if left == 0:
                budget = parts.stop.max_experiments
                raise PerturboError(
                    "; ".join([*step.lines, ""])
                    + f"campaign {name!r} has asked all of its {budget} trials "
                    f"({len(state.open)} open: tell each its value, or `perturbo tell {name} "
                    "--failed ID` if it failed, and the campaign finishes when all are told; "
                    f"a told trial, failed too, counts against the {budget}, so it frees no "
                    f"slot for a new one: `perturbo resume {name} --trials {2 * budget}` raises "
                    "the budget; a dead worker's: "
                    f"`perturbo ask {name} --stale-after 2h` hands out again one open longer "
                    "than 2h)"
                )
            want = left
        diverged = replay_trials(parts.planner, parts.space, history, state)
        if diverged:
            step.lines.append(f"warning: replayed asks {diverged} differ from what was handed out")
        recorder = _recorder(spec, parts, uri, name, resume=True)
        recorder.start({"pool": "lab"})
        try:
            proposed = _propose(spec, parts, history, state, want, recorder, now)
            park(recorder)
        except BaseException as e:
            _failed(recorder, e)
            raise
        step.asked = [*step.reissued, *proposed]
        step.open = list(state.open)
        step.lines.append(f"asked {len(proposed)} trial(s); " + waiting_line(state, name, now))
        return step
    finally:
        claim.release()


def _parts(spec: KindSpec, config: Mapping[str, Any], store: Any, name: str, run_id: str):
    """The campaign's parts, its pins replayed as first asked (:mod:`perturbo.lab.pins`)."""
    parts = spec.build(config, BuildContext(store=store, campaign=name))
    return with_pins(parts, read_pins(store.client, run_id))


def _handed_again(
    client: Any, run_id: str, state: TrialsState, step: TrialStep, now: float
) -> TrialStep:
    """An ask that handed out only stale trials again: their new hand-out times recorded."""
    _write_state(client, run_id, state)
    step.asked, step.open = list(step.reissued), list(state.open)
    step.lines.append(waiting_line(state, step.campaign, now))
    return step


def tell(
    kind_of: Callable[[str], KindSpec],
    uri: str,
    name: str,
    values: Sequence[tuple[str, float | None]],
    wait_s: float | None = None,
) -> TrialStep:
    """Record ``values`` (trial id -> value; ``None``: the trial failed) of campaign ``name``,
    all or nothing: each id must be open (handed out, not told). Finishes the campaign when
    its last trial is told. ``wait_s``: as for :func:`ask`."""
    store, run_id, config, spec = _open_campaign(kind_of, uri, name)
    lab = lab_side(spec)
    if not values:
        raise PerturboError("nothing to tell: give TRIAL_ID VALUE, a results file, or --failed ID")
    claim = hold(store, name, wait_s)
    try:
        history = store.history(name)
        state = _read_state(store.client, run_id, history)
        obs = outcomes(lab, config, name, history, state, values)
        parts = spec.build(config, BuildContext(store=store, campaign=name))
        done = record_trials(spec, parts, uri, name, history, state, obs)
        step = TrialStep(name, [], list(state.open), [told_line(parts, obs, history)])
        step.finished = done
        step.lines.append(
            _done_line(name, history) if done else waiting_line(state, name, time.time())
        )
        return step
    finally:
        claim.release()


def _done_line(name: str, history: History) -> str:
    return f"campaign {name!r} finished: {history.n_ran} trials told"
