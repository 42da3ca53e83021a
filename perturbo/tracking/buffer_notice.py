"""Where a campaign's buffered rounds are (:mod:`perturbo.tracking.spool`: rounds the store
refused while it was down), said where people look: ``perturbo show``/``status`` on the
machine that holds the buffer (:func:`local_line`), and anywhere through a tag on the
campaign's parent run (:data:`BUFFERED_TAG`, written by the driver when it stops with rounds
still buffered and the store writable again; :func:`tag_line`), so a ``resume`` elsewhere does
not rerun them unknowingly."""

from __future__ import annotations

import json
import shlex
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from perturbo.tracking.spool import Spool

BUFFERED_TAG = "perturbo.buffered"
"""On the parent run: JSON ``{"rounds": N, "host": H, "path": P}``; removed once uploaded."""


def _rounds(n: int) -> str:
    return "1 round is" if n == 1 else f"{n} rounds are"


def upload_command(campaign: str) -> str:
    return f"perturbo resume {shlex.quote(campaign)}"


def local_line(uri: str, campaign: str, spool_dir: str | Path | None = None) -> str:
    """One line where this machine holds buffered rounds of ``campaign``, else ""."""
    spool = Spool(uri, campaign, Path(spool_dir) if spool_dir else None)
    n = spool.count()
    if not n:
        return ""
    return (
        f"{campaign}: {_rounds(n)} buffered on this machine in "
        f"{str(spool.path)!r}, not yet in the store: `{upload_command(campaign)}` here uploads "
        "them"
    )


def tag_value(spool: Spool, rounds: int, host: str | None = None) -> str:
    """The :data:`BUFFERED_TAG` value the driver writes when it stops with ``rounds`` buffered."""
    return json.dumps(
        {"rounds": rounds, "host": host or socket.gethostname(), "path": str(spool.path)}
    )


def mark_buffered(client: Any, run_id: str, spool: Spool, rounds: int) -> None:
    """The driver stops with ``rounds`` still buffered and the store writable: say so on the
    parent run (:data:`BUFFERED_TAG`), for ``show``/``status``/``resume`` anywhere."""
    client.set_tag(run_id, BUFFERED_TAG, tag_value(spool, rounds))


def clear_buffered(client: Any, run_id: str, run_tags: Mapping[str, str]) -> None:
    """Every buffered round is uploaded: the tag goes (where there is one)."""
    if BUFFERED_TAG in run_tags:
        client.delete_tag(run_id, BUFFERED_TAG)


def is_ours(run_tags: Mapping[str, str], spool: Spool) -> bool:
    """Whether the run's :data:`BUFFERED_TAG` names this host's ``spool``."""
    try:
        d = dict(json.loads(run_tags.get(BUFFERED_TAG) or "{}"))
    except (ValueError, TypeError):
        return False
    return d.get("host") == socket.gethostname() and d.get("path") == str(spool.path)


def tag_line(campaign: str, run_tags: Mapping[str, str], here: bool = False) -> str:
    """The warning a :data:`BUFFERED_TAG` says ("" without it, or where this machine's own
    buffer was said already: ``here``)."""
    raw = run_tags.get(BUFFERED_TAG)
    if not raw or here:
        return ""
    try:
        d = dict(json.loads(raw))
        n, host, path = int(d["rounds"]), str(d["host"]), str(d["path"])
    except (ValueError, TypeError, KeyError):
        return ""
    return (
        f"{campaign}: {_rounds(n)} buffered on host {host} in "
        f"{path!r}, not in the store: a resume elsewhere reruns them; upload them first, on "
        f"{host}: `{upload_command(campaign)}`"
    )


def buffered_lines(store: Any, name: str, summary: Any) -> list[str]:
    """Rounds of ``name`` buffered on this machine (the store refused them), or on another
    host as the campaign's tag says: what ``show``, ``status`` and ``resume`` print."""
    here = local_line(str(store.uri), name, getattr(store, "spool_dir", None))
    return [x for x in (here, tag_line(name, summary.run_tags, here=bool(here))) if x]


__all__ = [
    "BUFFERED_TAG",
    "buffered_lines",
    "clear_buffered",
    "is_ours",
    "local_line",
    "mark_buffered",
    "tag_line",
    "tag_value",
    "upload_command",
]
