"""``perturbo show``: the campaigns in a store, or one campaign's settings, best result and
rounds, read through the store's read side (:class:`~perturbo.protocols.StoreReader`)."""

from __future__ import annotations

import difflib
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

from perturbo.types import CampaignSummary, PerturboError, Status


def _uri(tracking_uri: str | None) -> str:
    from perturbo import config as cfg

    return tracking_uri or cfg.env_tracking_uri() or cfg.default_tracking_uri()


def _spec(kind: str) -> Any:
    from perturbo import kinds

    try:
        return kinds.get(kind)
    except PerturboError:
        return None  # a kind this install lacks: show what the store has, generically


def resolve(store: Any, name: str) -> str:
    """A campaign's full name from a unique prefix; a clear error with "did you mean"."""
    names = [c.name for c in store.list_campaigns()]
    if name in names:
        return name
    hits = [n for n in names if n.startswith(name)]
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


def _fmt(v: float) -> str:
    return str(int(v)) if v == int(v) and abs(v) < 1e9 else f"{v:.4g}"


def headline(metrics: Mapping[str, float], keys: Sequence[str] = (), limit: int = 2) -> str:
    from perturbo.progress import headline as progress_headline

    return progress_headline(metrics, limit, keys)


def best_trial(history: Sequence[Any], objective: str, direction: str) -> Any | None:
    """The completed experiment with the best ``objective`` (None where none completed)."""
    done = [
        o
        for o in history
        if o.outcome.status is Status.COMPLETED
        and math.isfinite(o.outcome.metrics.get(objective, math.nan))
    ]
    if not done:
        return None
    sign = 1.0 if direction == "max" else -1.0
    return max(done, key=lambda o: sign * o.outcome.metrics[objective])


def _console() -> Any:
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=160)  # piped: do not squeeze


def _list(console: Any, store: Any) -> int:
    from rich.table import Table

    rows: list[CampaignSummary] = store.list_campaigns()
    if not rows:
        where = "does not exist yet" if not store.exists() else "has no campaigns yet"
        console.print(
            f"the store {store.uri} {where}: start a campaign with `perturbo run KIND` "
            "(`perturbo run --help` lists the kinds), or pass the --tracking-uri it ran with"
        )
        return 0
    t = Table(title=f"campaigns in {store.uri}")
    for col in (
        "campaign",
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
        keys = spec.headline if spec is not None else ()
        t.add_row(
            r.name,
            r.kind,
            r.status,
            str(r.rounds),
            time.strftime("%Y-%m-%d %H:%M", time.localtime(r.started)),
            r.params.get("planner", ""),
            subject,
            headline({k: v for k, v in r.metrics.items() if not k.startswith("final_")}, keys),
        )
    console.print(t)
    return 0


def show(campaign: str | None, tracking_uri: str | None = None) -> int:
    """Print the store's campaigns (``campaign=None``) or one campaign; returns the exit code."""
    from rich.table import Table

    from perturbo import tracking

    store = tracking.open_store(_uri(tracking_uri))
    console = _console()
    if campaign is None:
        return _list(console, store)
    name = resolve(store, campaign)
    summary = store.summary(name)
    rounds = store.round_metrics(name)
    console.print(
        f"[bold]{summary.name}[/bold] ({summary.kind}, {summary.status}, "
        f"{summary.rounds} rounds recorded) in {store.uri}"
    )
    console.print("  " + "  ".join(f"{k}={v}" for k, v in sorted(summary.params.items())))
    objective = str(summary.params.get("objective", "") or "")
    if objective and "," not in objective:
        direction = str(summary.params.get("direction", "max") or "max")
        best = best_trial(store.history(name), objective, direction)
        if best is not None:
            params = ", ".join(f"{k}={v}" for k, v in best.spec.params.items())
            console.print(
                f"  best {objective} = {_fmt(best.outcome.metrics[objective])} "
                f"({best.spec.id}, planner {best.spec.planner or '?'}): {params}"
            )
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


__all__ = ["best_trial", "resolve", "show"]
