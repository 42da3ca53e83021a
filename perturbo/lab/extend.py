"""``perturbo resume`` and ``perturbo stop`` of a lab campaign: raise its budget, continue a
stopped or finished one, close one nobody wants.

A lab campaign has no driver to run again, so a resume is one step, under the campaign's hold
(:func:`perturbo.lab.hold.hold`, as every ``ask``/``tell``: two resumes at once, or a resume
while a ``tell`` records, take turns and never both propose):

- ``--rounds N`` (``--trials N``) raises the budget: the campaign's config in the store says N
  from then on (``campaign/config.json``, read by every later step; the parent run's tag
  ``perturbo.resumed.rounds``, as a resumed driver's). A budget not above what was recorded
  (trials: handed out) is refused, nothing changed.
- a genetic campaign that had FINISHED goes on as a ``tell`` does after a round
  (:func:`perturbo.lab.loop._continue`): the next batch proposed, its sheet logged, the
  campaign waiting; a trials campaign waits again, its next trials handed out by ``ask``.
- a campaign a person stopped (KILLED, :func:`stop_lab`) goes on: the batch it waited for when
  it was stopped waits again (results told for part of it kept), or, none, the next is
  proposed; its open trials are open again.
- a campaign still waiting, given no budget, is one line saying what to do (tell its batch).

:func:`stop_lab` (``perturbo stop`` of a waiting lab campaign) ends it KILLED, the MLflow
status a person's stop ends in: its recorded rounds and the batch it waited for are kept, it
no longer shows as waiting, ``ask``/``tell`` refuse it (:func:`~perturbo.lab.hold.hold`),
and a resume continues it.
"""

from __future__ import annotations

import shlex
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from perturbo.kindspec import KindSpec
from perturbo.lab.frozen import with_inputs
from perturbo.lab.hold import hold
from perturbo.lab.loop import LabStep, _continue, lab_side
from perturbo.lab.pending import PENDING_FILE, WAITING, Pending, read_pending, write_pending
from perturbo.lab.stored import as_at_start, lab_run, pending_sheet
from perturbo.types import PerturboError, counted

__all__ = ["resume_lab", "stop_lab"]

META_TAG = {"rounds": "perturbo.meta.rounds", "trials": "perturbo.meta.max_experiments"}
"""The parent-run tag a budget key is shown from (``perturbo status``: "3/4 rounds")."""


def resume_lab(
    kind_of: Callable[[str], KindSpec],
    uri: str,
    name: str,
    budget: Mapping[str, int | None] | None = None,
    wait_s: float | None = None,
) -> LabStep:
    """``perturbo resume NAME [--rounds N | --trials N]`` of lab campaign ``name`` (see the
    module docstring). The step's ``pending`` is a batch whose sheet is to be written (one
    proposed or waiting again), ``None`` otherwise; its ``lines`` say what was done."""
    from perturbo import tracking

    store = tracking.open_store(uri)
    run_id, _ = lab_run(store, name)
    claim = hold(store, name, wait_s, stopped_ok=True)
    try:
        _, parent = store._open(name)  # noqa: SLF001 - as the hold left it
        config = store.config(name)
        spec = kind_of(str(config.get("kind", "")))
        trials = getattr(lab_side(spec), "mode", "") == "trials"
        history = store.history(name, raw=True)
        status = parent.info.status
        asked = {k: v for k, v in (budget or {}).items() if v is not None}
        step = LabStep(name, None)
        if not asked:
            _refuse_nothing_to_do(store, spec, config, history, name, run_id, status, trials)
        else:
            config = _raise_budget(store, spec, config, history, name, run_id, asked, trials)
            (key, value), *_ = asked.items()
            done = history.last_round + 1 if key == "rounds" else history.n_ran
            step.lines.append(
                f"campaign {name!r}: budget raised to {counted(int(value), key)} "
                f"({done} {'recorded' if key == 'rounds' else 'told'})"
            )
        if trials:
            return _go_on_trials(store, name, run_id, history, status, step)
        if status == "KILLED" and _wait_again(store, name, run_id, history, step):
            return step
        if status in ("KILLED", "FINISHED"):
            frozen = as_at_start(uri, name)
            lab = with_inputs(lab_side(spec), getattr(frozen, "lab_inputs", None))
            return _continue(spec, lab, config, frozen, uri, name, history, step, None)
        pending = read_pending(store.client, run_id)
        q = shlex.quote(name)
        step.lines.append(
            (pending.line() if pending is not None else "no batch waits yet")
            + f": `perturbo tell {q} RESULTS.csv` records its results and proposes the next "
            f"(`perturbo ask {q} --out FILE` writes its sheet)"
        )
        return step
    finally:
        claim.release()


def _refuse_nothing_to_do(
    store: Any,
    spec: KindSpec,
    config: Mapping[str, Any],
    history: Any,
    name: str,
    run_id: str,
    status: str,
    trials: bool,
) -> None:
    """A resume with no budget of a campaign that is finished (its budget spent) or still
    waiting for the lab: one line saying what to do instead."""
    from perturbo.launch_checks import refuse_finished

    if status == "KILLED":
        return  # stopped: it goes on
    key = spec.budget_keys[0] if spec.budget_keys else "rounds"
    now = config.get(key)
    if status == "FINISHED":
        refuse_finished(store, spec, config, history, name)  # its budget spent: how to extend
        return  # finished with budget left (e.g. an older stop): it goes on
    q = shlex.quote(name)
    more = f"`perturbo resume {q} --{key} N` raises its budget" + (
        f", now {counted(now, key)}" if isinstance(now, int) else ""
    )
    if trials:
        raise PerturboError(
            f"campaign {name!r} runs its trials outside perturbo and is waiting for them: "
            f"`perturbo ask {q} -n K` hands out K more, `perturbo tell {q} TRIAL_ID VALUE` "
            f"records one; nothing to resume ({more})"
        )
    pending = read_pending(store.client, run_id)
    what = f"is {pending.line()}" if pending is not None else "has no batch waiting yet"
    raise PerturboError(
        f"campaign {name!r} runs its experiments outside perturbo: `perturbo tell {q} "
        f"RESULTS.csv` records the results of its pending batch and proposes the next; it "
        f"{what} (`perturbo ask {q}` writes its sheet); nothing to resume ({more})"
    )


def _raise_budget(
    store: Any,
    spec: KindSpec,
    config: Mapping[str, Any],
    history: Any,
    name: str,
    run_id: str,
    asked: Mapping[str, int],
    trials: bool,
) -> dict[str, Any]:
    """The config with the budget ``asked`` (refused as a driver's resume refuses it, and, for
    trials, not above those handed out), written where every later step reads it."""
    from perturbo.launch_checks import apply_overrides
    from perturbo.tracking.layout import CONFIG_FILE, RESUMED_PREFIX, jsonable

    new = apply_overrides(spec, config, history, name, asked)
    if trials and "trials" in asked:
        from perturbo.lab.trial_state import read_state

        n_open = len(read_state(store.client, run_id, history).open)
        out = history.n_ran + n_open
        if n_open and int(asked["trials"]) <= out:
            raise PerturboError(
                f"--trials {asked['trials']}: campaign {name!r} has handed out {out} trials "
                f"({history.n_ran} told, {n_open} open); pass --trials {out + 1} or more to "
                "hand out more (nothing recorded was changed)"
            )
    client = store.client
    had = client.get_run(run_id).data.tags
    tags = {RESUMED_PREFIX + k: str(new[k]) for k in asked}
    for k in asked:  # what `perturbo status` counts against, where the start wrote it
        meta = META_TAG.get(k, "")
        if meta in had:
            tags[meta] = str(new[k])

    def write() -> None:
        client.log_dict(run_id, jsonable(new), CONFIG_FILE)  # what every later step reads
        for key, value in tags.items():
            client.set_tag(run_id, key, value)

    store._call(f"raising the budget of campaign {name!r}", write)  # noqa: SLF001
    return new


def _kept_pending(client: Any, run_id: str) -> Pending | None:
    """The batch a stopped campaign waited for (its file stays when the stop clears the tag)."""
    if PENDING_FILE not in {f.path for f in client.list_artifacts(run_id, "lab")}:
        return None
    with tempfile.TemporaryDirectory(prefix="perturbo-lab-") as tmp:
        path = client.download_artifacts(run_id, PENDING_FILE, tmp)
        return Pending.from_json(Path(path).read_text())


def _wait_again(store: Any, name: str, run_id: str, history: Any, step: LabStep) -> bool:
    """A stopped genetic campaign whose batch is still unrecorded: that batch waits again
    (with what was told of it); whether it did."""
    kept = _kept_pending(store.client, run_id)
    if kept is None or kept.round != history.last_round + 1:
        return False
    write_pending(store.client, run_id, kept)
    store.client.update_run(run_id, status=WAITING)
    step.pending, step.sheet = kept, pending_sheet(store, run_id, kept)
    step.lines.append(f"campaign {name!r} goes on: {kept.line()}")
    return True


def _go_on_trials(
    store: Any, name: str, run_id: str, history: Any, status: str, step: LabStep
) -> LabStep:
    """A trials campaign finished or stopped waits again: its open trials open, the next
    handed out by ``ask``."""
    from perturbo.lab.trial_state import read_state, write_state

    q = shlex.quote(name)
    if status in ("KILLED", "FINISHED"):
        write_state(store.client, run_id, read_state(store.client, run_id, history))
        store.client.update_run(run_id, status=WAITING)
        step.lines.append(f"campaign {name!r} goes on")
    step.lines.append(f"`perturbo ask {q} -n K` hands out K more trials")
    return step


def stop_lab(store: Any, name: str, wait_s: float | None = None) -> str:
    """Close lab campaign ``name`` (``perturbo stop`` of one waiting for the lab): KILLED,
    no longer waiting; what it recorded and the batch it waited for are kept. The line to
    say; refused (:class:`PerturboError`) where it is no longer waiting."""
    from perturbo.tracking.control import mark_killed
    from perturbo.tracking.heartbeat import liveness

    run_id, _ = lab_run(store, name)
    claim = hold(store, name, wait_s)  # a tell recording now goes first
    try:
        s = store.summary(name)
        state = liveness(s.status, s.run_tags)
        if state.state != "waiting":
            raise PerturboError(
                f"campaign {name!r} is no longer waiting for the lab: it is {state.state}"
            )
        what = state.detail or "results"
        mark_killed(store, name, f"stopped by `perturbo stop` while waiting for {what}")
        write_pending(store.client, run_id, None)  # no longer waiting (its file is kept)
        q = shlex.quote(name)
        return (
            f"{name} stopped: KILLED while waiting for {what}; its {counted(s.rounds, 'rounds')} "
            f"recorded are kept; `perturbo resume {q}` continues it"
        )
    finally:
        claim.release()
