"""Paged listings of an MLflow store: a campaign's nested runs (:func:`nested_runs`), every
page of a search (:func:`_pages`), a run's artifact files (:func:`_walk`). Used by
:mod:`perturbo.tracking.reader` (which re-exports :func:`nested_runs`) and the writers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from perturbo.tracking.layout import ROLE

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities import Run

__all__ = ["PAGE", "nested_runs"]

PAGE = 1000
"""Runs per page of a search (MLflow's maximum is 50,000; smaller pages answer sooner)."""


def nested_runs(
    client: MlflowClient, experiment_id: str, parent_id: str, role: str | None = None
) -> list[Run]:
    """The parent's nested runs (of ``role``: ``round`` or ``trial``)."""
    flt = f"tags.`mlflow.parentRunId` = '{parent_id}'"
    if role is not None:
        flt += f" and tags.`{ROLE}` = '{role}'"
    return _pages(
        lambda tok: client.search_runs(
            [experiment_id], filter_string=flt, max_results=PAGE, page_token=tok
        )
    )


def _pages(fetch: Callable[[str | None], Any]) -> list[Any]:
    """All items of a paged MLflow search."""
    out: list[Any] = []
    token: str | None = None
    while True:
        page = fetch(token)
        out.extend(page)
        token = getattr(page, "token", None)
        if not token:
            return out


def _walk(client: MlflowClient, run_id: str, path: str) -> Iterator[str]:
    for f in client.list_artifacts(run_id, path or None):
        if f.is_dir:
            yield from _walk(client, run_id, f.path)
        else:
            yield f.path
