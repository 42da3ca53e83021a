"""``perturbo show``: the campaigns in a store, or one campaign's settings, what it found
("12 of 45 hits found (27%) in 256 experiments"; ``--hits``: which, by round), best result and
rounds, read through the store's read side (:class:`~perturbo.protocols.StoreReader`).
Rounds are numbered 1..N whichever numbering the store recorded them in.

A campaign is named by its full name (``perturbo run`` prints it: the kind's default name
plus ``-YYYYMMDD-HHMMSS-xxxx``), a unique prefix of it, or a unique part of it."""

from __future__ import annotations

import argparse
import time
from collections.abc import Mapping, Sequence
from typing import Any

from perturbo.show_results import (
    MAX_FRONT,
    best_lines,
    best_trial,
    found_line,
    hits_lines,
)
from perturbo.show_results import fmt as _fmt  # noqa: F401 - re-exported: tests import it here
from perturbo.types import CampaignSummary, PerturboError, counted


def _uri(tracking_uri: str | None) -> str:
    from perturbo import config as cfg

    return tracking_uri or cfg.env_tracking_uri() or cfg.default_tracking_uri()


def _spec(kind: str) -> Any:
    from perturbo import kinds

    try:
        return kinds.get(kind)
    except PerturboError:
        return None  # a kind this install lacks: show what the store has, generically


EXAMPLE_NAME = "hyperparameter-branin-random-s0-20261201-203924-3f9a"
"""A campaign name as ``perturbo run`` makes them: ``<kind default>-YYYYMMDD-HHMMSS-xxxx``."""

NAMES_NOTE = (
    "CAMPAIGN is the name `perturbo run` printed: the kind's default name plus the start time, "
    f"-YYYYMMDD-HHMMSS-xxxx (e.g. {EXAMPLE_NAME}); a unique prefix or part of it will do."
)
SHOW_EPILOG = f"""\
examples:
  perturbo show                                          # the campaigns in ./mlflow.db
  perturbo show {EXAMPLE_NAME}
  perturbo show hyperparameter-branin                    # a unique prefix is enough
  perturbo show genetic-IFNG-bo --hits                   # the hits it found, by round
  perturbo show --tracking-uri sqlite:////data/runs.db   # another store

{NAMES_NOTE}
"""
RESUME_EPILOG = f"""\
examples:
  perturbo resume {EXAMPLE_NAME}              # continue where it stopped
  perturbo resume {EXAMPLE_NAME} --trials 80  # extend one budgeted in trials
  perturbo resume genetic-IFNG-bo-s0-20261201-101500 --rounds 8  # ... or in rounds

{NAMES_NOTE} `perturbo show` lists them.
"""


def store_option(p: argparse.ArgumentParser, default: Any = argparse.SUPPRESS) -> None:
    """The ``--tracking-uri`` option every command that reads or writes a store takes.
    ``default``: absent from the namespace when not given (``SUPPRESS``, read with
    ``getattr(ns, "tracking_uri", None)``), or that value (``None``)."""
    p.add_argument(
        "--tracking-uri",
        default=default,
        metavar="URI",
        help="MLflow store (default: $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db)",
    )


def add_parser(sub: Any) -> Any:
    """``perturbo show`` as a plugged command (``cli.PLUGGED["show"] = "perturbo.show:add_parser"``)."""
    p = sub.add_parser(
        "show",
        help="list campaigns, or one campaign's result and rounds",
        description="Without CAMPAIGN: the campaigns in the store. With it: its settings, "
        "what it found, best result (and its parameters) and metrics per round.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=SHOW_EPILOG,
    )
    p.add_argument("campaign", nargs="?", metavar="CAMPAIGN")
    store_option(p)
    p.add_argument(
        "--hits",
        action="store_true",
        help="list what CAMPAIGN found (a screen's hit genes), round by round",
    )
    return lambda ns: show(ns.campaign, getattr(ns, "tracking_uri", None), hits=ns.hits)


def resolve(store: Any, name: str) -> str:
    """A campaign's full name from a unique prefix (or part); a clear error with "did you
    mean" (:func:`perturbo.launch_checks.resolve_campaign`, which ``resume`` uses too)."""
    from perturbo.launch_checks import resolve_campaign

    return resolve_campaign(store, name)


def headline(metrics: Mapping[str, float], keys: Sequence[str] = (), limit: int = 2) -> str:
    from perturbo.progress import headline as progress_headline

    return progress_headline(metrics, limit, keys)


def _console() -> Any:
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=160)  # piped: do not squeeze


def check_store(store: Any, default: str) -> None:
    """A store that is not there (a mistyped path) is an error naming it; only the default
    store may be absent (nothing ran yet)."""
    if store.exists() or store.uri == default:
        return
    from perturbo.tracking.uri import shown_uri, sqlite_path

    db = sqlite_path(store.uri)
    what = (
        f"directory {str(db.parent)!r} does not exist"
        if db is not None and not db.parent.exists()
        else f"there is no file {str(db)!r}"
        if db is not None
        else "it cannot be read"
    )
    raise PerturboError(
        f"the tracking store {shown_uri(store.uri)!r} does not exist ({what}): pass the --tracking-uri a "
        f"campaign ran with (`perturbo run` prints it; default {default})"
    )


def _list(console: Any, store: Any) -> int:
    from rich.table import Table

    from perturbo.tracking.uri import shown_uri

    rows: list[CampaignSummary] = store.list_campaigns()
    if not rows:
        where = "does not exist yet" if not store.exists() else "has no campaigns yet"
        console.print(
            f"the store {shown_uri(store.uri)} {where}: start a campaign with `perturbo run KIND` "
            "(`perturbo run --help` lists the kinds), or pass the --tracking-uri it ran with"
        )
        return 0
    t = Table(title=f"campaigns in {shown_uri(store.uri)}")
    t.add_column("campaign", no_wrap=True, min_width=max(len(r.name) for r in rows))
    for col in (
        "kind",
        "status",
        "rounds",
        "started",
        "planner",
        "subject",
        "headline",
    ):
        t.add_column(col, overflow="fold")
    for r in rows:
        spec = _spec(r.kind)
        subject = r.params.get(spec.subject, "") if spec is not None and spec.subject else ""
        t.add_row(
            r.name,
            r.kind,
            r.status,
            str(r.rounds),
            time.strftime("%Y-%m-%d %H:%M", time.localtime(r.started)),
            r.params.get("planner", ""),
            subject,
            list_headline(spec, r),
        )
    console.print(t)
    return 0


def list_headline(spec: Any, summary: CampaignSummary) -> str:
    """The list's one-cell result: what a kind with findings found ("12 of 45 hits found
    (27%) in 256 experiments", from the last metrics), else the kind's headline metrics. The
    experiments are all that ran, the failed ones (no result) said apart ("... (3 failed)"),
    as ``perturbo show NAME``, the campaign's metrics and the chat count them."""
    from perturbo.findings import headline_of_metrics

    metrics = {k: v for k, v in summary.metrics.items() if not k.startswith("final_")}
    findings = getattr(spec, "findings", None)
    if findings is not None:
        n_ran = str(summary.run_tags.get("perturbo.n_ran", ""))
        n_failed = str(summary.run_tags.get("perturbo.n_failed", ""))
        ran = int(n_ran) if n_ran.isdigit() else None
        failed = int(n_failed) if n_failed.isdigit() and ran is not None else 0
        line = headline_of_metrics(findings, summary.params, metrics, ran)
        if line is not None:
            return line + (f" ({failed} failed)" if failed else "")
    return headline(metrics, spec.headline if spec is not None else ())


def _damaged(console: Any, store: Any, summary: CampaignSummary) -> bool:
    """Report each problem in the campaign's records (:mod:`perturbo.tracking.integrity`),
    naming the file or run and the fix; ``True`` where there is any."""
    from rich.markup import escape

    from perturbo.tracking.integrity import check
    from perturbo.tracking.uri import shown_uri

    problems = check(store, summary.name)
    if problems:
        console.print(
            f"[bold]{escape(summary.name)}[/bold] ({summary.kind}, {summary.status}): its "
            f"records in {escape(shown_uri(store.uri))} are DAMAGED; `perturbo resume` refuses it until "
            "they are restored:"
        )
    for p in problems:
        console.print("  " + escape(p.line()))
    return bool(problems)


def _open_trials(store: Any, name: str) -> list[str]:
    """A trial lab campaign's open trials, each with its age (:mod:`perturbo.lab.trial_state`:
    the waiting line names only the oldest); none for a lab campaign of batches."""
    from perturbo.lab.trial_state import TRIALS_FILE, open_lines, read_state

    run_id = store.parent_run_id(name)
    if TRIALS_FILE not in {f.path for f in store.client.list_artifacts(run_id, "lab")}:
        return []  # a batch: its history (a screen's, maybe large) is not read for nothing
    return open_lines(read_state(store.client, run_id, store.history(name)), name, time.time())


def _files_away(store: Any, name: str) -> str:
    """One line where the campaign's files are on a tracking server that the store's URI (a
    direct database URI) does not reach (:mod:`perturbo.tracking.server_files`), else ""."""
    from perturbo.tracking.server_files import files_on_server, files_on_server_error

    uri = str(getattr(store, "uri", ""))
    if uri.startswith(("http://", "https://")) or not hasattr(store, "parent_run_id"):
        return ""
    run = store.client.get_run(store.parent_run_id(name))
    return (
        str(files_on_server_error(uri, name)) if files_on_server(uri, run.info.artifact_uri) else ""
    )


def _best(store: Any, name: str, summary: CampaignSummary, spec: Any) -> list[str]:
    """:func:`best_lines`, less what only the tracking server's files hold."""
    from perturbo.tracking.server_files import FilesOnServer

    try:
        return best_lines(store, name, summary, spec)
    except FilesOnServer:
        return []


def _status_word(status: str) -> str:
    """A run's status as said: a lab campaign's parent run waits as ``SCHEDULED``."""
    return "waiting for results" if status == "SCHEDULED" else status


def show(campaign: str | None, tracking_uri: str | None = None, hits: bool = False) -> int:
    """Print the store's campaigns (``campaign=None``) or one campaign (``hits``: and what it
    found, by round); returns the exit code."""
    from rich.markup import escape
    from rich.table import Table

    from perturbo import config as cfg
    from perturbo import tracking
    from perturbo.tracking.uri import shown_uri

    store = tracking.open_store(_uri(tracking_uri))
    check_store(store, cfg.default_tracking_uri())
    console = _console()
    if campaign is None:
        if hits:
            raise PerturboError(
                "--hits lists one campaign's hits: name it (`perturbo show CAMPAIGN --hits`; "
                "`perturbo show` lists the campaigns)"
            )
        return _list(console, store)
    name = resolve(store, campaign)
    summary = store.summary(name)
    away = _files_away(store, name)  # files on a server this URI does not reach: say so
    if not away and _damaged(console, store, summary):
        return 2
    spec = _spec(summary.kind)
    if hits and getattr(spec, "findings", None) is None:
        hits_lines(spec, summary, [])  # the clear error, before reading anything more
    findings = getattr(spec, "findings", None) is not None and not away
    history = store.history(name) if findings else []
    rounds = store.round_metrics(name)
    console.print(
        f"[bold]{escape(summary.name)}[/bold] ({summary.kind}, {_status_word(summary.status)}, "
        f"{counted(summary.rounds, 'rounds')} recorded)"
    )
    if waiting := summary.run_tags.get("perturbo.lab.waiting"):  # a lab campaign's pending batch
        more = " --to-come" if " to come)" in waiting else ""  # many to come: not named
        console.print(f"  [bold]{escape(waiting)}[/bold] (`perturbo ask {escape(name)}{more}`)")
        for line in [] if away else _open_trials(store, name):
            console.print("    " + escape(line))
    found = "" if away else found_line(spec, summary, history)
    if found:
        console.print(f"  [bold]{escape(found)}[/bold]")
    console.print(f"  store: {escape(shown_uri(store.uri))}")
    from perturbo.tracking.buffer_notice import buffered_lines

    for line in buffered_lines(store, name, summary):
        console.print(f"  [bold]{escape(line)}[/bold]")
    console.print("  " + escape("  ".join(f"{k}={v}" for k, v in sorted(summary.params.items()))))
    for line in _best(store, name, summary, spec):
        console.print(escape(line))
    if away:
        console.print(f"  [bold]{escape(away)}[/bold]")
    if answer := summary.params.get("min_eps_result"):  # --objective min-eps: its answer, not
        console.print(f"  [bold]{escape(str(answer))}[/bold]")  # the penalty eps_score ranks by
    if hits and not away:
        for line in hits_lines(spec, summary, history):
            console.print(escape(line))
    if not rounds:  # a campaign waiting for its first results: no table of nothing
        console.print("  no round recorded yet")
        return 0
    keys: list[str] = []
    for m in rounds.values():
        keys += [k for k in m if k not in keys]
    t = Table()
    t.add_column("round", justify="right")
    for k in keys:
        t.add_column(k, justify="right")
    for r, m in rounds.items():
        t.add_row(str(r + 1), *(f"{m[k]:.4g}" if k in m else "" for k in keys))
    console.print(t)
    return 0


__all__ = [
    "EXAMPLE_NAME",
    "MAX_FRONT",
    "RESUME_EPILOG",
    "SHOW_EPILOG",
    "add_parser",
    "best_trial",
    "check_store",
    "list_headline",
    "resolve",
    "show",
]
