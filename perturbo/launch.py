"""Compose and run one campaign of any kind: THE composition root every entry shares -- the CLI
(``perturbo run``/``resume``), :mod:`perturbo.api`, a kind's own Python API
(``perturbo.Campaign``, ``attack_campaign``) and the chat (through the CLI it starts). It asks
the :class:`~perturbo.kindspec.KindSpec` the caller passes for the parts, opens the executor
pool (Ray actors, or in-process with ``local``), the MLflow recorder (with the kind's nesting
and plotters) and, where the kind's planner uses the embedded LLM, one ``ModelHost`` actor
shared by its agents; then hands the parts to :func:`perturbo.campaign.run`. Every entry gets
the same checks (a name a live driver holds, room in the space, one atomic claim per campaign)
and the same end: a failure or Ctrl-C marks the record FAILED or KILLED (never left RUNNING), so
``resume`` continues it. It never names a kind, and imports neither the kinds registry nor
``perturbo.show``: a resume's caller passes ``spec_of`` (kind name -> spec).
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from perturbo.hosted_model import start_model_host
from perturbo.kindspec import BuildContext, KindSpec
from perturbo.launch_checks import (
    apply_overrides,
    check_room,
    claim_as_new,
    claim_to_resume,
    failures,
    fresh_auto_name,
    refuse_all_failed,
    refuse_finished,
    refuse_running_name,
    resolve_campaign,
)
from perturbo.types import PerturboError, counted

if TYPE_CHECKING:
    from perturbo.config import RunOptions
    from perturbo.history import History
    from perturbo.parts import CampaignParts

SpecOf = Callable[[str], KindSpec]
"""Kind name -> its :class:`KindSpec` (``perturbo.kinds.get``, or one kind's own spec)."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a campaign, with the line telling how to continue it."""


def say(msg: str) -> None:
    """One status line on stderr (stdout stays for results)."""
    print(msg, file=sys.stderr, flush=True)


def settings(
    spec: KindSpec, values: Mapping[str, Any], config_file: str | None = None
) -> tuple[RunOptions, dict[str, Any]]:
    """(where/how it runs, what it is) from flag values, a TOML file and the environment."""
    from perturbo import config as cfg

    options, kind_cfg = cfg.load(spec.config_model, values, config_file, kind=spec.name)
    return options, kind_cfg.model_dump()


@dataclass(frozen=True)
class Launched:
    """What a campaign's run left: its ``history``, the ``parts`` it ran (as built, with the
    run's settings applied) and its ``name``."""

    history: History
    parts: CampaignParts
    name: str


def _for_run(
    spec: KindSpec,
    parts: CampaignParts,
    options: RunOptions,
    history: History,
    pinned: Sequence[Mapping[str, Any]],
) -> CampaignParts:
    """The parts as this run uses them: the kind's build left them complete, and the run's
    settings (schedule, time limit, pinned experiments, fallback counting) make a copy."""
    from perturbo.fallback import CountFallbacks

    changes: dict[str, Any] = {
        "schedule": options.schedule or parts.schedule or spec.schedule,
        "metrics": CountFallbacks(parts.metrics),  # records rounds an agent fell back
    }
    if options.experiment_timeout is not None:
        changes["experiment_timeout_s"] = options.experiment_timeout
    if pinned:
        from perturbo.pinned import Pinned, check_pins

        pins = check_pins(
            pinned, parts.space, parts.kind, history, stop=parts.stop, batch=parts.batch
        )
        changes["planner"] = Pinned(parts.planner, pins, parts.kind)
    return replace(parts, **changes)


def recorder_for(spec: KindSpec, parts: CampaignParts, uri: str, name: str, resume: bool) -> Any:
    """The campaign's MLflow recorder, with what the kind's spec says about its record (the
    one place its arguments are written: the loop here and the lab's steps use it)."""
    from perturbo import tracking

    return tracking.MlflowRecorder.from_parts(
        parts,
        uri,
        name,
        resume=resume,
        nesting=spec.nesting,
        plotters=tuple(spec.plotters),
        headline=tuple(spec.headline),
        subject=spec.subject,
        findings=spec.findings,
    )


def launched(
    spec: KindSpec,
    config: Mapping[str, Any],
    options: RunOptions,
    *,
    history: History | None = None,
    resume: bool = False,
    name: str | None = None,
    pinned: Sequence[Mapping[str, Any]] = (),
    record: bool = True,
    poll_s: float = 0.5,
) -> Launched:
    """Compose and run one campaign of ``spec``'s kind (see :func:`launch`). ``record=False``:
    nothing is written to a store (the Python APIs without a ``tracking_uri``); no claim and
    no resume then, the rest as recorded runs."""
    from perturbo import tracking
    from perturbo.config import prepare_process, set_torch_threads
    from perturbo.history import History
    from perturbo.names import auto_name, check_name

    prepare_process()  # the composition root sets the driver's process settings
    auto = not (name or options.name)  # perturbo draws the name: found taken, it draws again
    name = name or options.name or auto_name(spec.default_name(config))
    check_name(name)  # no '/', '..' or control characters: names become file names
    uri = options.resolved_tracking_uri() if record else None
    if not resume:  # resume() said so before it read the store
        say(f"starting {spec.name} campaign {name!r} ...")  # at once
    if uri is not None:
        if not resume:
            from perturbo.tracking.uri import shown_uri

            say(f"  opening the tracking store {shown_uri(uri)} ...")
        tracking.check_reachable(uri)
        if auto and not resume:
            name = fresh_auto_name(uri, name, lambda: auto_name(spec.default_name(config)), say)
        if not resume:
            refuse_running_name(uri, name)
    history = history if history is not None else History()
    address = options.resolved_address()
    host = start_model_host(spec, config, options, address)
    try:
        context = BuildContext(
            store=tracking.open_store(uri) if uri is not None else None,
            campaign=name,
            engine=host.engine if host else None,
        )
        parts = _for_run(spec, spec.build(config, context), options, history, pinned)
        set_torch_threads(1)  # the driver fits its models on one thread (build loaded torch)
        history = run_parts(spec, parts, name, uri, address, options, history, resume, poll_s, auto)
        return Launched(history, parts, name)
    finally:
        if host is not None:
            host.close()


def launch(
    spec: KindSpec,
    config: Mapping[str, Any],
    options: RunOptions,
    *,
    history: History | None = None,
    resume: bool = False,
    name: str | None = None,
    pinned: Sequence[Mapping[str, Any]] = (),
) -> History:
    """Compose and run one campaign of ``spec``'s kind; return its History. ``pinned``:
    experiments a person named, run first and recorded as theirs (:class:`~perturbo.pinned.Pinned`).
    Raises :class:`PerturboError` on bad input (nothing recorded is lost)."""
    return launched(
        spec, config, options, history=history, resume=resume, name=name, pinned=pinned
    ).history


def resumed(
    name: str,
    options: RunOptions,
    overrides: Mapping[str, Any] | None = None,
    pinned: Sequence[Mapping[str, Any]] = (),
    *,
    spec_of: SpecOf,
    poll_s: float = 0.5,
) -> Launched:
    """Continue campaign ``name`` (or a unique prefix of it) from what the store recorded.
    ``spec_of``: the spec of the kind the store names. ``overrides`` may extend the kind's
    budget (``rounds``/``trials``: :attr:`KindSpec.budget_keys`); ``pinned`` experiments
    run first (see :func:`launch`)."""
    from perturbo import tracking
    from perturbo.names import check_name

    check_name(name)
    from perturbo.tracking.uri import shown_uri

    shown = shown_uri(options.resolved_tracking_uri())
    say(f"resuming campaign {name!r}: reading what {shown} recorded ...")
    store = tracking.open_store(options.resolved_tracking_uri())
    name = check_name(resolve_campaign(store, name))  # a unique prefix will do, as for `show`
    claim = claim_to_resume(store, name)  # one driver per campaign, atomically; reads follow it
    try:
        from perturbo.tracking.integrity import refuse_damaged

        refuse_damaged(store, name)  # what the store holds now: refused, naming the file
        from perturbo.tracking.buffer_notice import buffered_lines  # (rerun here otherwise)

        for line in buffered_lines(store, name, store.summary(name)):
            say(line)
        config = store.config(name)
        if config.get("lab"):  # its experiments run in a lab: perturbo.lab drives its rounds
            q = shlex.quote(name)  # (`perturbo resume` of one is a step: perturbo.lab.extend)
            keys = "|".join(f"--{k} N" for k in spec_of(str(config.get("kind", ""))).budget_keys)
            raise PerturboError(
                f"campaign {name!r} runs its experiments outside perturbo, with no process to "
                f"resume: `perturbo resume {q} [{keys}]` raises its budget or continues it once "
                f"finished or stopped; `perturbo tell {q} RESULTS.csv` (or `TRIAL_ID VALUE` for "
                f"trials) records results and proposes the next (`perturbo ask {q}` shows what "
                "is waiting)"
            )
        history = store.history(name)
        spec = spec_of(str(config.get("kind", "")))
        config = apply_overrides(spec, config, history, name, overrides)
        refuse_finished(store, spec, config, history, name)
        kw = {"history": history, "resume": True, "name": name, "pinned": pinned}
        return launched(spec, config, options, poll_s=poll_s, **kw)
    finally:
        claim.release()


def resume(
    name: str,
    options: RunOptions,
    overrides: Mapping[str, Any] | None = None,
    pinned: Sequence[Mapping[str, Any]] = (),
    *,
    spec_of: SpecOf,
) -> History:
    """:func:`resumed`, returning the campaign's History."""
    return resumed(name, options, overrides, pinned, spec_of=spec_of).history


def run_parts(
    spec: KindSpec,
    parts: CampaignParts,
    name: str,
    uri: str | None,
    address: str | None,
    options: RunOptions,
    history: History,
    resume: bool,
    poll_s: float = 0.5,
    drawn: bool = False,
) -> History:
    """Run built ``parts`` on a pool, recorded in the store at ``uri`` (``None``: nowhere),
    claimed for this driver; a failure or Ctrl-C ends the record FAILED or KILLED."""
    from perturbo import tracking
    from perturbo.progress import RoundProgress
    from perturbo.tracking.claim import Claimed

    check_room(parts, history, name)
    opened = recorder = claim = None
    if uri is not None:
        say("  preparing the campaign's record in the tracking store ...")  # migrations, if new
        recorder = recorder_for(spec, parts, uri, name, resume)
        parts = replace(parts, stop=replace(parts.stop, requested=recorder.stop_requested))
        claim = None if resume else claim_as_new(uri, name, drawn)  # resume claimed it already
    again = f"`perturbo resume {shlex.quote(name)}{tracking.store_flag(uri)}`" if uri else ""
    try:
        from perturbo.actors import open_pool

        # the chat says a launch started once it logs this (perturbo.agents.chat.ended)
        say(f"  starting the executor pool ({'in this process' if options.local else 'Ray'}) ...")
        opened = open_pool(
            parts.executor_factory,
            local=options.local,
            address=address,
            workers=options.workers,
            num_gpus_per_worker=parts.num_gpus_per_worker,
            batch=parts.batch,  # --local user code: min(batch, CPUs) child processes
        )
        where = opened.where
        stop = parts.stop
        if recorder is not None:
            recorder.start(
                {
                    "pool": where,
                    "workers": options.workers or "auto",
                    "schedule": parts.schedule,
                    "rounds": stop.rounds,
                    "max_experiments": stop.max_experiments,
                    "ray_job": opened.job_id,
                }
            )
        if claim is not None:
            claim.confirm_new(recorder.run_id)
        from perturbo.tracking.uri import shown_uri

        say(
            f"{'resuming' if resume else 'campaign'} {name!r}: {len(history)} experiments "
            f"recorded, {where}, tracking {shown_uri(uri) if uri else 'off'}"
        )
        with RoundProgress.for_stop(  # counts what the stop rule counts: rounds or experiments
            parts.stop, history, enabled=options.progress, title=name, headline=spec.headline
        ) as progress:
            history = parts.run(
                opened.pool, recorder=recorder, history=history, on_round=progress, poll_s=poll_s
            )
    except KeyboardInterrupt as e:
        from perturbo.tracking.interrupts import exit_code

        # by the signal seen, not the exception's text: Ray re-raises a SIGTERM that arrives
        # inside ray.wait as its own bare KeyboardInterrupt
        how = "terminated (SIGTERM)" if exit_code(e) == 143 else "interrupted"
        msg = f"{how}: the recorded rounds are kept; {again} continues" if uri else how
        if recorder is not None:
            recorder.abort("KILLED", msg)
        raise Interrupted(msg) from None
    except Claimed:
        raise  # another driver holds the campaign: its run is not ours to end
    except PerturboError as e:
        if getattr(e, "resumable", False) and uri:  # e.g. the Ray head was lost: say how to go on
            e = PerturboError(f"{e}; then {again}")
        if recorder is not None:
            recorder.abort("FAILED", str(e))
        raise e from None
    except Exception as e:
        if recorder is not None:
            recorder.abort("FAILED", f"{type(e).__name__}: {e}")
        raise
    finally:
        if opened is not None:
            opened.close()
        if claim is not None:
            claim.release()
    if recorder is not None and recorder.stopped:
        say(
            f"{recorder.stopped}: {counted(len(history), 'experiments')} in "
            f"{counted(history.last_round + 1, 'rounds')} "
            f"are recorded; {again} continues"
        )
        return history
    refuse_all_failed(history, name, spec, parts, recorded=recorder is not None)
    say(
        f"done: {counted(len(history), 'experiments')} in "
        f"{counted(history.last_round + 1, 'rounds')}{failures(history)}"
        + (
            f"; `perturbo show {shlex.quote(name)}{tracking.store_flag(uri)}`, or "
            f"`perturbo ui{tracking.store_flag(uri)}` and open {recorder.ui_target()}"
            if recorder is not None and uri
            else ""
        )
    )
    return history


def only(spec: KindSpec) -> SpecOf:
    """A ``spec_of`` for a kind's own API: its spec, and a clear refusal for another kind's
    campaign."""

    def spec_of(kind: str) -> KindSpec:
        if kind != spec.name:
            raise PerturboError(
                f"that campaign is a {kind or 'unknown'} campaign, not {spec.name}: resume it "
                "with `perturbo resume NAME` (or perturbo.api.resume_campaign)"
            )
        return spec

    return spec_of


__all__ = [
    "Interrupted",
    "Launched",
    "SpecOf",
    "launch",
    "launched",
    "only",
    "resume",
    "resumed",
    "run_parts",
    "say",
    "settings",
]
