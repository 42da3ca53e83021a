"""The checks and claims around running a campaign (:mod:`perturbo.launch` composes it): who
may drive it (one atomic claim per campaign, new or resumed), what a resume may extend, and the
refusals that end in one line naming the input and the fix -- a name taken by a running
campaign, a finished budget, a batch or rounds the untested experiments cannot fill, a
campaign in which every experiment failed. It never names a kind.
"""

from __future__ import annotations

import difflib
import shlex
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from perturbo.kindspec import KindSpec
from perturbo.types import PerturboError, counted

if TYPE_CHECKING:
    from perturbo.history import History
    from perturbo.parts import CampaignParts


def apply_overrides(
    spec: KindSpec,
    config: Mapping[str, Any],
    history: History,
    name: str,
    overrides: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """``config`` with the budget ``overrides`` of a resume applied; refuse (naming the flag
    and the fix) a key that is not the kind's budget, a non-positive number, or one below
    what campaign ``name`` already recorded."""
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
        if int(value) <= done:  # the budget counts what is recorded: equal would run nothing
            raise PerturboError(
                f"--{key} {value}: campaign {name!r} already has {counted(done, key)} "
                f"recorded; pass --{key} {done + 1} or more to run more (nothing recorded "
                "was changed)"
            )
        config[key] = int(value)
    return config


def _all_its(n: int, key: str) -> str:
    return f"its {counted(n, key)}" if n == 1 else f"all its {counted(n, key)}"


def _every(n: int) -> str:
    return "the only experiment" if n == 1 else f"all {n} experiments"


def _untested_left(parts: CampaignParts, history: Sequence[Any]) -> int | None:
    space = parts.space
    if not getattr(space, "unique", False) or not hasattr(space, "__len__"):
        return None
    from perturbo.campaign import seen_keys

    return len(space) - len(seen_keys(history, space))  # type: ignore[arg-type]


def refuse_finished(
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
        f"campaign {name!r} is finished: it ran {_all_its(budget, key)}, so resume has nothing "
        f"to run; extend it with `perturbo resume {shlex.quote(name)} --{key} {2 * budget}` "
        "(any number above its budget)"
    )


def refuse_running_name(uri: str, name: str) -> None:
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


def resolve_campaign(store: Any, name: str) -> str:
    """A campaign's full name from a unique prefix (or part); a clear error with "did you
    mean" (``resume`` and ``show`` read names the same way)."""
    names = [c.name for c in store.list_campaigns()]
    if name in names:
        return name
    hits = [n for n in names if n.startswith(name)] or [
        n for n in names if name.lower() in n.lower()
    ]
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        raise PerturboError(
            f"campaign {name!r} is ambiguous in {store.uri!r}: it starts "
            f"{', '.join(hits[:5])}{' ...' if len(hits) > 5 else ''}; give more of the name"
        )
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    raise PerturboError(
        f"no campaign named {name!r} in {store.uri!r}: {hint}`perturbo show` lists the campaigns "
        "there (pass --tracking-uri for another store)"
    )


def claim_to_resume(store: Any, name: str) -> Any:
    """Claim campaign ``name`` for this driver in one atomic step of the store
    (:func:`perturbo.tracking.claim.claim_resume`); another live driver: exit 2 naming it."""
    from perturbo.tracking.claim import claim_resume

    exp, parent = store._open(name)  # noqa: SLF001 - the store's one lookup
    return store._call(  # noqa: SLF001 - the store's one error wrapper
        f"claiming campaign {name!r}",
        lambda: claim_resume(store.client, name, exp.experiment_id, parent),
    )


def fresh_auto_name(
    uri: str, name: str, draw: Callable[[], str], say: Callable[[str], Any], tries: int = 20
) -> str:
    """``name`` (drawn by :func:`perturbo.names.auto_name`, not chosen by the user), or where
    the store already has a campaign of that name, another drawn name (``say`` tells which):
    the user is never told the name is taken and invited to resume someone else's campaign."""
    from perturbo.tracking.uri import make_client, wrap_error

    client, first = make_client(uri), name
    for _ in range(tries):
        try:
            if client.get_experiment_by_name(name) is None:
                if name != first:
                    say(f"  {first!r} is taken in the store: this campaign is {name!r}")
                return name
        except Exception as e:  # the store, not the user's input
            raise wrap_error(uri, f"reading campaign {name!r}", e) from None
        name = draw()
    raise PerturboError(
        f"every name drawn for this campaign ({name!r} the last) is taken in the store: "
        "pick one with --name"
    )


def claim_as_new(uri: str, name: str, drawn: bool = False) -> Any:
    """Claim a new campaign in one atomic step of the store: create its experiment (names are
    unique; :func:`perturbo.tracking.claim.claim_new`). The loser exits 2 naming the driver.
    ``drawn``: perturbo drew the name (:func:`perturbo.names.auto_name`), the user did not."""
    from perturbo.tracking.claim import claim_new
    from perturbo.tracking.uri import artifact_location, make_client, wrap_error

    try:
        return claim_new(make_client(uri), name, artifact_location(uri, name))
    except PerturboError as e:
        if not drawn:
            raise
        # a name perturbo drew, taken since fresh_auto_name looked: not the user's campaign
        raise PerturboError(
            f"the name drawn for this campaign, {name!r}, was taken by another campaign started "
            "at the same moment (this one has not started): run the same command again, or pick a "
            "--name"
        ) from e
    except Exception as e:  # the store, not the user's input
        raise wrap_error(uri, f"claiming campaign {name!r}", e) from None


def check_room(parts: CampaignParts, history: History, name: str) -> None:
    """Where each experiment runs once (a gene knocked out once), refuse a batch or a number
    of rounds the untested experiments cannot fill, before anything runs."""
    left = _untested_left(parts, history)
    if left is None:
        return
    if parts.batch > left:
        raise PerturboError(
            f"--batch {parts.batch} is larger than the {counted(left, 'untested experiments')} "
            f"left in campaign {name!r}: use --batch {left} or less"
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
                f"experiments, but only {left} {'is' if left == 1 else 'are'} left in campaign "
                f"{name!r}: use --rounds {history.last_round + 1 + fit} or less"
                + (f", or a --batch of at most {most}" if most else "")
            )


def refuse_all_failed(
    history: History, name: str, spec: KindSpec, parts: CampaignParts, recorded: bool = True
) -> None:
    """A campaign in which every experiment that ran FAILED ends with an error (exit 2), not
    with "done": the record is complete, and the message says how many and why. Its budget
    is spent, so a plain resume would run nothing: the fix says how to run more (or, for a
    run nothing recorded, to run it again)."""
    from perturbo.types import Status

    ran = [o for o in history if o.outcome.status is not Status.REJECTED]
    if ran and all(o.outcome.status is Status.FAILED for o in ran):
        key = spec.budget_keys[0] if spec.budget_keys else ""
        now = parts.config.get(key) if key else None
        more = (
            f"`perturbo resume {shlex.quote(name)} --{key} {2 * int(now)}` (its "
            f"{counted(now, key)} {'are' if now != 1 else 'is'} spent)"
            if isinstance(now, int)
            else "a new campaign"
        )
        if not recorded:
            raise PerturboError(
                f"{_every(len(ran))} of campaign {name!r} failed{failures(history)}: "
                "fix the cause and run it again (this run was not recorded: give it a "
                "tracking store to keep and resume one)"
            )
        raise PerturboError(
            f"{_every(len(ran))} of campaign {name!r} failed{failures(history)}: fix "
            f"the cause, then run more with {more}; the failed ones stay recorded"
        )


def failures(history: History) -> str:
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


__all__ = [
    "apply_overrides",
    "check_room",
    "claim_as_new",
    "claim_to_resume",
    "failures",
    "fresh_auto_name",
    "refuse_all_failed",
    "refuse_finished",
    "refuse_running_name",
    "resolve_campaign",
]
