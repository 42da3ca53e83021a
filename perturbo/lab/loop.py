"""The lab loop: a campaign whose experiments run outside perturbo, one process per step.

``start`` proposes round 1 and records it as pending; ``tell`` records a round the lab measured
(exactly once) and proposes the next; ``ask`` reads the pending batch. Between steps no process
lives: every step opens the campaign from the store, holds it with the store's atomic claim
(:mod:`perturbo.lab.hold`: two steps at once take turns, the second waits for the first),
rebuilds the planner by replaying the recorded rounds
(:mod:`perturbo.lab.replay`) and leaves the campaign waiting (parent run ``SCHEDULED``).

Exactly once: a round is recorded by the recorder's commit point; a step killed after that and
before its next proposal is written leaves a pending batch older than the last recorded round,
which the next step notices and repairs (it proposes again, from the same replayed planner).
This package gets the kind's :class:`~perturbo.kindspec.KindSpec` from its caller and asks its
``extras["lab"]`` (``describe``, ``read_results``, ``sheet``; optionally ``label``,
``untested_left``, ``outlook``, ``plots``, ``hit_call``/``hit_call_round``:
:mod:`perturbo.lab.after_round`) for what is kind-specific.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from perturbo.history import History
from perturbo.kindspec import BuildContext, KindSpec
from perturbo.lab.after_round import draw, keep_hit_call, log_hit_call, outlook
from perturbo.lab.corrections import (
    correct_step,
    corrected,
    due,
    read_corrections,
    tell_corrections,
)
from perturbo.lab.frozen import EARLIER_FILE, INPUTS_FILE, Recording, with_inputs
from perturbo.lab.hold import claim_new_step, hold
from perturbo.lab.pending import LAB_TAG, WAITING, Pending, read_pending, write_pending
from perturbo.lab.pins import check_lab_pins, read_pins, with_pins, write_pins
from perturbo.lab.replay import NoPool, replay, same_batch
from perturbo.lab.step_checks import refuse_next_batch
from perturbo.lab.stored import as_at_start, finished, lab_run, log_sheet, pending_sheet
from perturbo.lab.told import already_recorded, dropped_line, recorded_line, refuse_or_correct
from perturbo.protocols import planner_notes
from perturbo.types import Observation, Outcome, PerturboError, Status

__all__ = ["LabStep", "ask", "lab_side", "start", "tell"]

DROPPED = "dropped by the lab: no result (perturbo tell --drop-failed)"


@dataclass
class LabStep:
    """What one step did: ``recorded`` the round it recorded (``None``: none), ``pending`` the
    batch now waiting (``None``: the campaign finished), the batch sheet's rows, and lines
    to tell the user."""

    campaign: str
    pending: Pending | None
    sheet: list[dict[str, str]] = field(default_factory=list)
    recorded: int | None = None
    lines: list[str] = field(default_factory=list)


def lab_side(spec: KindSpec) -> Any:
    """The kind's lab hooks, or one clear error for a kind without a lab mode."""
    hook = spec.extras.get("lab")
    if hook is None:
        raise PerturboError(f"kind {spec.name!r} has no lab mode: its experiments run in perturbo")
    return hook() if callable(hook) else hook


def _recorder(spec: KindSpec, parts: Any, uri: str, name: str, resume: bool) -> Any:
    from perturbo.launch import recorder_for

    return recorder_for(spec, parts, uri, name, resume)


def _park(recorder: Any, pending: Pending) -> None:
    """Leave the campaign waiting for the lab: no heartbeat (no process lives), status
    SCHEDULED, the waiting line on the parent run."""
    recorder._close_heartbeat()  # noqa: SLF001 - this driver ends; the campaign does not
    write_pending(recorder.client, recorder.run_id, pending)
    recorder.client.update_run(recorder.run_id, status=WAITING)


def _steps(parts: Any, history: History, recorder: Any, next_round: int) -> Any:
    from perturbo.schedule import Steps, seen_keys

    return Steps(
        parts.planner,
        NoPool(),
        parts.space,
        history,
        recorder,
        parts.metrics,
        seen=seen_keys(history, parts.space),
        next_round=next_round,
    )


def _propose(spec: KindSpec, lab: Any, parts: Any, steps: Any, n: int) -> tuple[Pending, list]:
    """Ask the (replayed) planner for round ``steps.next_round`` as the loop does; the batch
    sheet's rows come with it."""
    specs, _ = steps.ask(n)
    if not specs:
        raise PerturboError("the planner has nothing left to propose: every experiment is done")
    valid, bad = steps.validate(specs)
    pending = Pending(steps.next_round, time.time(), valid, bad, noun=lab.describe(valid))
    return pending, lab.sheet(parts.config, parts.planner, valid)


def _outlook(lab: Any, parts: Any, steps: Any, recorder: Any, step: LabStep) -> None:
    """Where the screen stands, said and logged (:func:`perturbo.lab.after_round.outlook`),
    and the kind's plots of the campaign so far, redrawn once a round is recorded."""
    outlook(lab, parts, steps, recorder, step.lines)
    _best_effort(step, "drawing the plots", lambda: draw(lab, parts, steps, recorder))


def _best_effort(step: LabStep, what: str, do: Callable[[], Any]) -> None:
    """What is drawn or kept beside a recorded round: a failure is a warning line, never a
    failed step (the round stands)."""
    try:
        do()
    except Exception as e:  # noqa: BLE001 - the round is recorded; this is a courtesy
        step.lines.append(f"warning: {what} failed ({type(e).__name__}: {e}); the round stands")


def _leave_waiting(
    spec: KindSpec, lab: Any, parts: Any, steps: Any, recorder: Any, n: int, step: LabStep
) -> LabStep:
    pending, rows = _propose(spec, lab, parts, steps, n)
    log_sheet(recorder, pending, rows)  # the sheet first: a pending batch always has one
    _outlook(lab, parts, steps, recorder, step)
    _park(recorder, pending)
    step.pending, step.sheet = pending, rows
    step.lines.append(pending.line())
    return step


def start(
    spec: KindSpec,
    config: Mapping[str, Any],
    uri: str,
    name: str,
    pinned: Sequence[Mapping[str, Any]] = (),
) -> LabStep:
    """Start lab campaign ``name``: propose round 1, record it as pending, and return.
    ``pinned`` (``--pin``): experiments proposed first (:mod:`perturbo.lab.pins`)."""
    from perturbo import tracking
    from perturbo.launch_checks import refuse_running_name
    from perturbo.names import check_name

    check_name(name)
    tracking.check_reachable(uri)
    refuse_running_name(uri, name)
    store = Recording(tracking.open_store(uri))  # what the planner reads now, kept for later
    lab = with_inputs(lab_side(spec), store.lab_inputs)  # the files it reads, kept too
    parts = spec.build(config, BuildContext(store=store, campaign=name))
    pins = check_lab_pins(pinned, parts) if pinned else []
    parts = with_pins(parts, pins)
    recorder = _recorder(spec, parts, uri, name, resume=False)
    claim = claim_new_step(uri, name)
    try:
        recorder.start({"pool": "lab", "schedule": "sync", "rounds": parts.stop.rounds})
        claim.confirm_new(recorder.run_id)
        recorder.client.log_text(recorder.run_id, store.to_json(), EARLIER_FILE)
        recorder.client.log_text(recorder.run_id, store.lab_inputs.to_json(), INPUTS_FILE)
        recorder.client.set_tag(recorder.run_id, LAB_TAG, "1")
        write_pins(recorder.client, recorder.run_id, pins)  # every rebuilt planner queues them
        steps = _steps(parts, History(), recorder, 0)
        return _leave_waiting(spec, lab, parts, steps, recorder, parts.batch, LabStep(name, None))
    except BaseException as e:
        recorder.abort("FAILED", f"{type(e).__name__}: {e}")
        raise
    finally:
        claim.release()


def tell(
    kind_of: Callable[[str], KindSpec],
    uri: str,
    name: str,
    results: str | None,
    *,
    next_batch: int | None = None,
    drop_failed: bool = False,
    wait_s: float | None = None,
    correct: bool = False,
    reason: str | None = None,
) -> LabStep:
    """Record what the lab measured for campaign ``name``'s pending batch (``results``: the
    file; ``None`` with ``drop_failed``: drop the rest), then propose the next batch.
    ``kind_of(kind name)`` is the kind registry's lookup; ``wait_s``: how long to wait for
    another step that holds the campaign (:func:`perturbo.lab.hold.hold`); ``correct``:
    results told before with other values replace them (the pending round only; the old
    values are kept in ``lab/correction-rNNN-*.csv`` on the campaign's run), and results of a
    recorded round are corrected (:mod:`perturbo.lab.corrections`; ``reason`` kept with them)."""
    from perturbo import tracking

    if reason and not correct:  # a reason is kept with a correction only: said, not dropped
        raise PerturboError(
            "--reason goes with --correct (why a value was corrected); nothing recorded"
        )
    store = tracking.open_store(uri)
    run_id, parent = lab_run(store, name)
    claim = hold(store, name, wait_s)
    try:
        config = store.config(name)
        spec = kind_of(str(config.get("kind", "")))
        frozen = as_at_start(uri, name)  # as at start: earlier campaigns and input files
        lab = with_inputs(lab_side(spec), getattr(frozen, "lab_inputs", None))
        history = store.history(name, raw=True)
        pending = read_pending(store.client, run_id)
        refuse_next_batch(lab, parent.data.params, config, history, pending, next_batch)
        step = LabStep(name, pending)
        if correct and results is not None:
            fixed = correct_step(lab, store, run_id, config, results, history, pending, reason)
            if fixed is not None:
                step.lines.extend(fixed)
                step.sheet = None if pending is None else pending_sheet(store, run_id, pending)
                return step
        if pending is not None and pending.round <= history.last_round:
            step.lines.append(
                f"round {pending.round + 1} was recorded by a step that stopped before "
                "proposing the next batch: proposing it now"
            )
            pending = None
        if pending is None:
            again = None if results is None else already_recorded(lab, config, results, history)
            if again is not None:
                step.lines.append(f"{results}: already recorded as round {again + 1}; nothing new")
            if finished(store, name):
                if again is None:
                    raise PerturboError(
                        f"campaign {name!r} is finished: no batch waits for results "
                        f"({history.last_round + 1} rounds recorded)"
                    )
                return step
            if results is not None and again is None:
                raise PerturboError(
                    f"campaign {name!r} has no batch waiting for results: `perturbo ask "
                    f"{name}` shows its state"
                )
            return _continue(spec, lab, config, frozen, uri, name, history, step, next_batch)
        told: dict[str, Outcome] = {}
        if results is not None:
            again = already_recorded(lab, config, results, history)
            if again is not None:
                step.lines.append(f"{results}: already recorded as round {again + 1}; nothing new")
                step.sheet = pending_sheet(store, run_id, pending)
                return step
            told = lab.read_results(config, results, pending.specs, history)
            fixed = refuse_or_correct(
                lab, store.client, run_id, name, results, pending, told, correct
            )
            if fixed is not None:
                step.lines.append(fixed)
            if fixed is not None or any(k not in pending.told for k in told):
                keep_hit_call(lab, store.client, run_id, config, results, pending, history)
        new = {k: v for k, v in told.items() if k not in pending.told}
        pending.told.update(new)
        if results is None and not drop_failed:
            raise PerturboError("nothing to tell: pass a results file, or --drop-failed")
        step.lines.append(f"told {len(new)} result(s) of round {pending.round + 1}")
        if drop_failed and pending.waiting:
            step.lines.append(dropped_line(lab, pending.waiting, pending.round))
            for s in pending.waiting:
                pending.told[s.id] = Outcome(Status.FAILED, error=DROPPED, worker="lab")
        if pending.waiting:
            client = store.client
            write_pending(client, run_id, pending)
            step.pending = pending
            step.sheet = pending_sheet(store, run_id, pending)
            step.lines.append(pending.line() + "; `perturbo tell --drop-failed` drops the rest")
            return step
        return _record_and_continue(
            spec, lab, config, frozen, uri, name, history, pending, step, next_batch
        )
    finally:
        claim.release()


def _rebuilt(spec: KindSpec, config: Mapping[str, Any], store: Any, name: str, history: History):
    """The campaign's parts rebuilt from ``store`` (as at start) and replayed to ``history``
    (the values each round was proposed from), then told the corrected results; the history
    as corrected."""
    parts = spec.build(config, BuildContext(store=store, campaign=name))
    run_id = store.parent_run_id(name)
    parts = with_pins(parts, read_pins(store.client, run_id))
    entries = read_corrections(store.client, run_id)
    diverged = replay(parts.planner, parts.space, history, entries)
    done, now = len(due(entries, history.last_round)), due(entries, history.last_round + 1)
    tell_corrections(parts.planner, history, now[done:])  # due before the next ask
    return parts, diverged, corrected(history, entries), entries[len(now) :]


def _record_and_continue(
    spec: KindSpec,
    lab: Any,
    config: Mapping[str, Any],
    frozen: Any,
    uri: str,
    name: str,
    history: History,
    pending: Pending,
    step: LabStep,
    next_batch: int | None,
) -> LabStep:
    parts, diverged, history, rest = _rebuilt(spec, config, frozen, name, history)
    n = len(pending.specs) + len(pending.rejected)
    asked = list(parts.planner.ask(n, pending=[]))[:n]  # the ask this round answered
    if diverged or not same_batch(parts.space, asked, [*pending.rejected, *pending.specs]):
        step.lines.append(
            "warning: the rebuilt planner does not propose what was recorded (its inputs "
            "changed since); the recorded batches stand"
        )
    obs = [*pending.rejected, *(Observation(s, pending.told[s.id]) for s in pending.specs)]
    recorder = _recorder(spec, parts, uri, name, resume=True)
    recorder.start({"pool": "lab"})
    try:
        steps = _steps(parts, history, recorder, pending.round)
        steps.asked_notes = planner_notes(parts.planner)  # the replayed ask's (agent's trace)
        steps.record(obs, 0.0, time.time() - pending.proposed)
        tell_corrections(parts.planner, history, rest)  # made after this round was proposed
        r = pending.round
        _best_effort(step, "keeping the hit call", lambda: log_hit_call(lab, recorder, r))
        step.recorded = pending.round
        step.lines.append(recorded_line(lab, pending.round, obs))
        return _next(spec, lab, parts, steps, recorder, step, next_batch)
    except BaseException as e:
        _failed(recorder, e)
        raise


def _continue(
    spec: KindSpec,
    lab: Any,
    config: Mapping[str, Any],
    frozen: Any,
    uri: str,
    name: str,
    history: History,
    step: LabStep,
    next_batch: int | None,
) -> LabStep:
    """Nothing pending (a repaired step): propose the next batch, or finish."""
    parts, diverged, history, _ = _rebuilt(spec, config, frozen, name, history)
    if diverged:
        step.lines.append(f"warning: replayed rounds {diverged} differ from what was recorded")
    recorder = _recorder(spec, parts, uri, name, resume=True)
    recorder.start({"pool": "lab"})
    try:
        steps = _steps(parts, history, recorder, history.last_round + 1)
        return _next(spec, lab, parts, steps, recorder, step, next_batch)
    except BaseException as e:
        _failed(recorder, e)
        raise


def _failed(recorder: Any, e: BaseException) -> None:
    """A step that broke ends its hold (no heartbeat left beating, not RUNNING); what was
    recorded stays, and the next ``tell``/``ask`` goes on from the store."""
    recorder.abort("FAILED", f"{type(e).__name__}: {e}")


def _next(
    spec: KindSpec, lab: Any, parts: Any, steps: Any, recorder: Any, step: LabStep, n: int | None
) -> LabStep:
    stop = parts.stop
    if stop.reason(steps.history, steps.next_round, time.monotonic()) is not None:
        _outlook(lab, parts, steps, recorder, step)  # the last round's, as every round's
        steps.finish()
        write_pending(recorder.client, recorder.run_id, None)
        step.pending = None
        step.lines.append(f"campaign {step.campaign!r} finished: {steps.next_round} rounds")
        return step
    return _leave_waiting(spec, lab, parts, steps, recorder, n or parts.batch, step)


def ask(
    kind_of: Callable[[str], KindSpec], uri: str, name: str, wait_s: float | None = None
) -> LabStep:
    """The pending batch of lab campaign ``name`` and its sheet. Reads only, unless a step
    was killed after recording a round and before proposing the next: then it repairs that
    (proposes the batch, as :func:`tell` would have)."""
    from perturbo import tracking

    store = tracking.open_store(uri)
    run_id, parent = lab_run(store, name)
    pending = read_pending(store.client, run_id)
    stale = pending is not None and pending.round <= store.history(name).last_round
    if stale or (pending is None and parent.info.status not in ("FINISHED",)):
        return tell(kind_of, uri, name, None, wait_s=wait_s)
    if pending is None:
        return LabStep(name, None, lines=[f"campaign {name!r} finished: nothing waits for results"])
    step = LabStep(name, pending, pending_sheet(store, run_id, pending))
    step.lines.append(pending.line())
    return step
