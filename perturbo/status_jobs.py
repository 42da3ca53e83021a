"""``perturbo status``'s Ray side: the perturbo jobs a Ray dashboard lists, matched to their
campaigns, and their table. Read apart from the store, so status still shows them when the
tracking store is down."""

from __future__ import annotations

import time
from typing import Any

__all__ = ["job_campaigns", "print_jobs"]


def job_campaigns(rows: list[dict[str, Any]], jobs: list[Any]) -> dict[str, str]:
    """``{submission id: campaign}`` for the Ray ``jobs`` a campaign's driver ran as: matched
    on the submission id (``raysubmit_...``) the driver recorded, unique to a cluster's jobs.
    Never on Ray's job id (``perturbo.meta.ray_job``, e.g. ``06000000``): it restarts with
    every new head, so a campaign recorded before the submission id was (an old store) is
    left unmatched rather than guessed."""
    ours = {r["ray_submission"]: r["campaign"] for r in rows if r.get("ray_submission")}
    return {j.submission_id: ours[j.submission_id] for j in jobs if j.submission_id in ours}


def print_jobs(console: Any, dash: str, jobs: list[Any], campaigns: dict[str, str]) -> None:
    from rich.table import Table

    if not jobs:
        console.print(f"no perturbo jobs submitted to {dash}")
        return
    t = Table(title=f"perturbo jobs at {dash}")
    for col in ("submission id", "status", "campaign", "started", "entrypoint"):
        t.add_column(col, overflow="fold")
    for j in jobs:
        started = (
            time.strftime("%Y-%m-%d %H:%M", time.localtime(j.start_time)) if j.start_time else "-"
        )
        t.add_row(
            j.submission_id,
            j.status,
            campaigns.get(j.submission_id, "-"),
            started,
            j.entrypoint[:120],
        )
    console.print(t)
