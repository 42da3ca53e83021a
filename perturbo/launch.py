"""Compose and run one campaign of any kind: the composition root the CLI and the Python API
share.

It asks the kind's :class:`~perturbo.kindspec.KindSpec` for the parts, opens the executor pool
(Ray actors, or in-process with ``local``), the MLflow recorder (with the kind's nesting and
plotters) and, where the kind's planner uses the embedded LLM, one ``ModelHost`` actor shared
by its agents; then hands the parts to :func:`perturbo.campaign.run`. It never names a kind.
"""

from __future__ import annotations

import shlex
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from perturbo.kindspec import BuildContext, KindSpec
from perturbo.types import PerturboError

if TYPE_CHECKING:
    from perturbo.config import RunOptions
    from perturbo.history import History
    from perturbo.parts import CampaignParts


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


def _untested_left(parts: CampaignParts, history: Sequence[Any]) -> int | None:
    space = parts.space
    if not getattr(space, "unique", False) or not hasattr(space, "__len__"):
        return None
    from perturbo.campaign import seen_keys

    return len(space) - len(seen_keys(history, space))  # type: ignore[arg-type]


@dataclass
class _HostedModel:
    """The campaign's local LLM, loaded once in a Ray actor and shared by its agents."""

    engine: Any
    runtime: Any

    def close(self) -> None:
        try:
            self.engine.shutdown()
        finally:
            self.runtime.shutdown()


def _start_model_host(
    spec: KindSpec, config: Mapping[str, Any], options: RunOptions, address: str | None
) -> _HostedModel | None:
    """Host the embedded model in a Ray actor where the kind's planner uses it and the campaign
    runs on Ray (with ``local`` the agent loads it in this process)."""
    if options.local or not spec.uses_local_llm(config):
        return None
    from perturbo.actors import connect
    from perturbo.actors.model_host import ModelHost
    from perturbo.agents.llm import engine_settings, llm_settings

    runtime = connect(address)  # the pool's connect() later joins this same Ray
    try:
        say("loading the local LLM into a Ray actor (once per campaign) ...")
        es = engine_settings(llm_settings(config), gpu=runtime.has_gpu())
        return _HostedModel(ModelHost.start(es, runtime), runtime)
    except BaseException:
        runtime.shutdown()
        raise


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
    from perturbo import tracking
    from perturbo.history import History
    from perturbo.names import check_name

    name = name or options.name or f"{spec.default_name(config)}-{time.strftime('%Y%m%d-%H%M%S')}"
    check_name(name)  # no '/', '..' or control characters: names become file names
    uri = options.resolved_tracking_uri()
    if not resume:  # resume() said so before it read the store
        say(f"starting {spec.name} campaign {name!r} ...")  # at once
        say(f"  opening the tracking store {uri} ...")
    tracking.check_reachable(uri)
    if not resume:
        _refuse_running_name(uri, name)
    history = history if history is not None else History()
    address = options.resolved_address()
    host = _start_model_host(spec, config, options, address)
    try:
        context = BuildContext(
            store=tracking.open_store(uri),
            campaign=name,
            engine=host.engine if host else None,
        )
        parts = spec.build(config, context)
        parts.schedule = options.schedule or parts.schedule or spec.schedule
        if options.experiment_timeout is not None:
            parts.experiment_timeout_s = options.experiment_timeout
        if pinned:
            from perturbo.pinned import Pinned, check_pins

            pins = check_pins(pinned, parts.space, parts.kind, history)
            parts.planner = Pinned(parts.planner, pins, parts.kind)
        from perturbo.fallback import CountFallbacks

        parts.metrics = CountFallbacks(parts.metrics)  # records rounds an agent fell back
        return _run_parts(spec, parts, name, uri, address, options, history, resume)
    finally:
        if host is not None:
            host.close()


def resume(
    name: str,
    options: RunOptions,
    overrides: Mapping[str, Any] | None = None,
    pinned: Sequence[Mapping[str, Any]] = (),
) -> History:
    """Continue campaign ``name`` from what the store recorded. ``overrides`` may extend the
    kind's budget (``rounds``/``trials``: :attr:`KindSpec.budget_keys`); ``pinned`` experiments
    run first (see :func:`launch`)."""
    from perturbo import tracking
    from perturbo.names import check_name
    from perturbo.show import resolve

    check_name(name)
    say(f"resuming campaign {name!r}: reading what {options.resolved_tracking_uri()} recorded ...")
    store = tracking.open_store(options.resolved_tracking_uri())
    name = check_name(resolve(store, name))  # a unique prefix will do, as for `perturbo show`
    claim = _claim_resume(store, name)  # one driver per campaign, atomically; reads follow it
    try:
        return _resume_claimed(store, name, options, overrides, pinned)
    finally:
        claim.release()


def _resume_claimed(
    store: Any,
    name: str,
    options: RunOptions,
    overrides: Mapping[str, Any] | None,
    pinned: Sequence[Mapping[str, Any]],
) -> History:
    """:func:`resume` once this driver holds the campaign: what the store holds now (refused,
    naming the file, where it is damaged), then the campaign."""
    from perturbo import kinds
    from perturbo.tracking.integrity import refuse_damaged

    refuse_damaged(store, name)
    config = store.config(name)
    history = store.history(name)
    spec = kinds.get(str(config.get("kind", "")))
    config = dict(config)
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        if key not in config or key not in spec.budget_keys:
            keys = ", ".join(f"--{k}" for k in spec.budget_keys) or "none"
            raise PerturboError(
                f"--{key}: campaign {name!r} ({spec.name}) cannot be extended by {key} "
                f"(its budget flags: {keys}); `perturbo show {shlex.quote(name)}` shows its "
                "settings"
            )
        if int(value) <= 0:
            raise PerturboError(
                f"--{key} {value}: must be a positive number; fix: use --{key} 1 or more"
            )
        done = history.last_round + 1 if key == "rounds" else history.n_ran
        if int(value) < done:
            raise PerturboError(
                f"--{key} {value}: campaign {name!r} already has {done} {key} recorded; "
                f"pass --{key} {done} or more (nothing recorded was changed)"
            )
        config[key] = int(value)
    _refuse_finished(store, spec, config, history, name)
    return launch(spec, config, options, history=history, resume=True, name=name, pinned=pinned)


def _refuse_finished(
    store: Any, spec: KindSpec, config: Mapping[str, Any], history: History, name: str
) -> None:
    """``resume`` of a campaign that FINISHED its whole budget would run nothing: say so, and
    how to extend it (a campaign killed after its last round still resumes, to finish)."""
    spent = {}
    for key in spec.budget_keys:
        budget = config.get(key)
        done = history.last_round + 1 if key == "rounds" else history.n_ran
        if not isinstance(budget, int) or done < budget:
            return
        spent[key] = budget
    if not spent or store.summary(name).status != "FINISHED":
        return
    key, budget = next(iter(spent.items()))
    raise PerturboError(
        f"campaign {name!r} is finished: it ran all its {budget} {key}, so resume has nothing "
        f"to run; extend it with `perturbo resume {shlex.quote(name)} --{key} {2 * budget}` "
        "(any number above its budget)"
    )


def _refuse_running_name(uri: str, name: str) -> None:
    """A new campaign named as one that runs now: say it runs (``resume`` would refuse it
    too), and how to name this one."""
    from perturbo import tracking
    from perturbo.tracking.heartbeat import liveness

    try:
        s = tracking.open_store(uri).summary(name)
    except PerturboError:
        return  # no such campaign yet (or unreadable: the recorder says what is wrong)
    live = liveness(s.status, s.run_tags)
    if live.state in ("running", "stopping"):
        d = live.driver or {}
        raise PerturboError(
            f"--name {name!r} is taken by a campaign that is running now (driver "
            f"{d.get('host', '?')}:{d.get('pid', '?')}): pick another --name; `perturbo status` "
            "shows it"
        )


def _claim_resume(store: Any, name: str) -> Any:
    """Claim campaign ``name`` for this driver in one atomic step of the store
    (:func:`perturbo.tracking.claim.claim_resume`); another live driver: exit 2 naming it."""
    from perturbo.tracking.claim import claim_resume

    exp, parent = store._open(name)  # noqa: SLF001 - the store's one lookup
    return store._call(  # noqa: SLF001 - the store's one error wrapper
        f"claiming campaign {name!r}",
        lambda: claim_resume(store.client, name, exp.experiment_id, parent),
    )


def _claim_new(uri: str, name: str) -> Any:
    """Claim a new campaign in one atomic step of the store: create its experiment (names are
    unique; :func:`perturbo.tracking.claim.claim_new`). The loser exits 2 naming the driver."""
    from perturbo.tracking.claim import claim_new
    from perturbo.tracking.uri import artifact_location, make_client, wrap_error

    try:
        return claim_new(make_client(uri), name, artifact_location(uri, name))
    except PerturboError:
        raise
    except Exception as e:  # the store, not the user's input
        raise wrap_error(uri, f"claiming campaign {name!r}", e) from None


def _check_room(parts: CampaignParts, history: History, name: str) -> None:
    """Where each experiment runs once (a gene knocked out once), refuse a batch or a number
    of rounds the untested experiments cannot fill, before anything runs."""
    left = _untested_left(parts, history)
    if left is None:
        return
    if parts.batch > left:
        raise PerturboError(
            f"--batch {parts.batch} is larger than the {left} untested experiments left in "
            f"campaign {name!r}: use --batch {left} or less"
            if left
            else f"campaign {name!r} has tested every experiment in its space: nothing left to run"
        )
    rounds = parts.stop.rounds
    if rounds is not None:
        todo = rounds - (history.last_round + 1)
        if todo * parts.batch > left:
            fit = max(1, left // parts.batch)
            most = left // max(todo, 1)  # 0 where --rounds alone is beyond the space
            raise PerturboError(
                f"--rounds {rounds} x --batch {parts.batch} needs {todo * parts.batch} untested "
                f"experiments, but only {left} are left in campaign {name!r}: use --rounds "
                f"{history.last_round + 1 + fit} or less"
                + (f", or a --batch of at most {most}" if most else "")
            )


def _run_parts(
    spec: KindSpec,
    parts: CampaignParts,
    name: str,
    uri: str,
    address: str | None,
    options: RunOptions,
    history: History,
    resume: bool,
) -> History:
    from perturbo import tracking
    from perturbo.progress import RoundProgress
    from perturbo.tracking.claim import Claimed

    _check_room(parts, history, name)
    opened = None
    say("  preparing the campaign's record in the tracking store ...")  # a new store: migrations
    recorder = tracking.MlflowRecorder.from_parts(
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
    parts.stop = replace(parts.stop, requested=recorder.stop_requested)
    claim = None if resume else _claim_new(uri, name)  # resume claimed it before reading
    try:
        from perturbo.actors import open_pool

        say(f"  starting the executor pool ({'in this process' if options.local else 'Ray'}) ...")
        opened = open_pool(
            parts.executor_factory,
            local=options.local,
            address=address,
            workers=options.workers,
            num_gpus_per_worker=parts.num_gpus_per_worker,
        )
        where = opened.where
        stop = parts.stop
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
        say(
            f"{'resuming' if resume else 'campaign'} {name!r}: {len(history)} experiments "
            f"recorded, {where}, tracking {uri}"
        )
        with RoundProgress.for_stop(  # counts what the stop rule counts: rounds or experiments
            parts.stop, history, enabled=options.progress, title=name, headline=spec.headline
        ) as progress:
            history = parts.run(opened.pool, recorder=recorder, history=history, on_round=progress)
    except KeyboardInterrupt as e:
        how = "terminated (SIGTERM)" if "SIGTERM" in str(e) else "interrupted"
        msg = (
            f"{how}: the recorded rounds are kept; `perturbo resume {shlex.quote(name)}"
            f"{tracking.store_flag(uri)}` continues"
        )
        recorder.abort("KILLED", msg)
        raise Interrupted(msg) from None
    except Claimed:
        raise  # another driver holds the campaign: its run is not ours to end
    except PerturboError as e:
        if getattr(e, "resumable", False):  # e.g. the Ray head was lost: say how to go on
            e = PerturboError(
                f"{e}; then `perturbo resume {shlex.quote(name)}{tracking.store_flag(uri)}`"
            )
        recorder.abort("FAILED", str(e))
        raise e from None
    except Exception as e:
        recorder.abort("FAILED", f"{type(e).__name__}: {e}")
        raise
    finally:
        if opened is not None:
            opened.close()
        if claim is not None:
            claim.release()
    if recorder.stopped:
        say(
            f"{recorder.stopped}: {len(history)} experiments in {history.last_round + 1} rounds "
            f"are recorded; `perturbo resume {shlex.quote(name)}{tracking.store_flag(uri)}` "
            "continues"
        )
        return history
    _refuse_all_failed(history, name, spec, parts)
    say(
        f"done: {len(history)} experiments in {history.last_round + 1} rounds{_failures(history)}; "
        f"`perturbo show {shlex.quote(name)}{tracking.store_flag(uri)}`, or "
        f"`perturbo ui{tracking.store_flag(uri)}` and open {recorder.ui_url()}"
    )
    return history


def _refuse_all_failed(history: History, name: str, spec: KindSpec, parts: CampaignParts) -> None:
    """A campaign in which every experiment that ran FAILED ends with an error (exit 2), not
    with "done": the record is complete, and the message says how many and why. Its budget
    is spent, so a plain resume would run nothing: the fix says how to run more."""
    from perturbo.types import Status

    ran = [o for o in history if o.outcome.status is not Status.REJECTED]
    if ran and all(o.outcome.status is Status.FAILED for o in ran):
        key = spec.budget_keys[0] if spec.budget_keys else ""
        now = parts.config.get(key) if key else None
        more = (
            f"`perturbo resume {shlex.quote(name)} --{key} {2 * int(now)}` (its {now} {key} "
            "are spent)"
            if isinstance(now, int)
            else "a new campaign"
        )
        raise PerturboError(
            f"all {len(ran)} experiments of campaign {name!r} failed{_failures(history)}: fix "
            f"the cause, then run more with {more}; the failed ones stay recorded"
        )


def _failures(history: History) -> str:
    """`` (3 FAILED: the commonest reason)`` where experiments failed, else nothing."""
    from collections import Counter

    from perturbo.types import Status

    failed = [
        o.outcome.error.splitlines()[0]
        for o in history
        if o.outcome.status is Status.FAILED and o.outcome.error
    ]
    n = sum(o.outcome.status is Status.FAILED for o in history)
    if not n:
        return ""
    why = Counter(failed).most_common(1)[0][0][:200] if failed else "no reason recorded"
    return f" ({n} FAILED; most often: {why})"


__all__ = ["Interrupted", "launch", "resume", "say", "settings"]
