"""Opening a campaign's record for writing (:class:`~perturbo.tracking.writer.MlflowRecorder`
calls these from ``start``): create the experiment and the parent run of a new campaign, or
reopen those of one being resumed, with what the resumed run must go on from (its round
numbering, progress and metric series). Layout: :mod:`perturbo.tracking.layout`.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from perturbo.tracking.batch import MAX_PARAM_LEN, log_batch
from perturbo.tracking.heartbeat import FAILED_TAG, PROGRESS_TAG, STOP_TAG
from perturbo.tracking.layout import (
    CONFIG_FILE,
    KIND_TAG,
    NESTING_TAG,
    RESUMED_PREFIX,
    ROLE,
    ROUND_BASE,
    ROUND_BASE_TAG,
    jsonable,
    round_base,
    tag_key,
)
from perturbo.tracking.reader import load_series
from perturbo.tracking.uri import artifact_location, shown_uri
from perturbo.types import PerturboError

if TYPE_CHECKING:
    from mlflow import MlflowClient


@dataclass
class Opened:
    """Where a campaign is recorded, and (resumed) what its recorder goes on from. Filled as
    the store answers, so a recorder whose opening failed half way still knows the run it
    must end (``abort``)."""

    experiment_id: str = ""
    run_id: str = ""
    n_ran: int = 0
    n_failed: int | None = 0
    """``None``: the store has no :data:`FAILED_TAG` (recorded before it was written)."""
    base: int = ROUND_BASE
    series: dict[str, list[tuple[int, float]]] | None = None


def create_campaign(
    c: MlflowClient,
    exp: Any,
    parent: Any,
    opened: Opened,
    *,
    tracking_uri: str,
    campaign: str,
    kind: str,
    nesting: str,
    tags: Mapping[str, str],
    start_tags: tuple[dict[str, str], dict[str, str]],
    params: Mapping[str, Any],
    config: Mapping[str, Any],
) -> None:
    """Create the experiment (unless the driver's claim did) and the parent run of a new
    campaign, filling ``opened`` as they are made; refuse a name that already has a parent
    run."""
    if parent is not None:
        raise PerturboError(
            f"campaign {campaign!r} already exists in {shown_uri(tracking_uri)!r}: "
            f"continue it with `perturbo resume {shlex.quote(campaign)}` or pick another "
            "--name"
        )
    tags = {tag_key(k): str(v) for k, v in tags.items()}
    if exp is None:
        opened.experiment_id = c.create_experiment(
            campaign,
            artifact_location=artifact_location(tracking_uri, campaign),
            tags={**tags, KIND_TAG: kind, **start_tags[0]},
        )
    else:  # created by the driver's claim (tracking.claim.claim_new)
        opened.experiment_id = exp.experiment_id
        for k, v in {**tags, KIND_TAG: kind, **start_tags[0]}.items():
            c.set_experiment_tag(opened.experiment_id, k, v)
    run = c.create_run(
        opened.experiment_id,
        run_name=campaign,
        tags={
            **tags,
            **start_tags[1],
            ROLE: "campaign",
            KIND_TAG: kind,
            NESTING_TAG: nesting,
            ROUND_BASE_TAG: str(ROUND_BASE),
        },
    )
    opened.run_id = run_id = run.info.run_id
    log_batch(c, run_id, params=params)
    c.log_dict(run_id, jsonable(config), CONFIG_FILE)


def reopen_campaign(
    c: MlflowClient,
    exp: Any,
    parent: Any,
    opened: Opened,
    *,
    tracking_uri: str,
    campaign: str,
    params: Mapping[str, Any],
    config: Mapping[str, Any],
) -> None:
    """Mark a resumed campaign's parent run RUNNING again, rewrite its config and record the
    params that changed; fill ``opened`` with its run, progress, round numbering and metric
    series."""
    if parent is None:
        raise PerturboError(
            f"no campaign named {campaign!r} in {shown_uri(tracking_uri)!r}: "
            "`perturbo show` lists the campaigns there"
        )
    opened.experiment_id, opened.run_id = exp.experiment_id, parent.info.run_id
    run_id = opened.run_id
    c.update_run(run_id, status="RUNNING")
    # Params cannot change in MLflow; the config (e.g. more --rounds) can: rewrite it
    # so the next resume continues with what this one was asked to do.
    c.log_dict(run_id, jsonable(config), CONFIG_FILE)
    changed = {
        f"{RESUMED_PREFIX}{k}": v
        for k, v in params.items()
        if str(parent.data.params.get(k, v)) != str(v)[:MAX_PARAM_LEN]
    }
    resumes = int(parent.data.tags.get("perturbo.resumes", "0")) + 1
    log_batch(c, run_id, tags={"perturbo.resumes": str(resumes), **changed})
    if STOP_TAG in parent.data.tags:  # the stop it obeyed last time is done
        c.delete_tag(run_id, STOP_TAG)
    opened.n_ran = int(parent.data.tags.get(PROGRESS_TAG, "0") or 0)
    failed = parent.data.tags.get(FAILED_TAG)
    if failed is not None or not opened.n_ran:  # none ran yet: none failed either
        opened.n_failed = int(failed or 0)
    else:
        opened.n_failed = None
    opened.base = round_base(parent.data.tags)
    opened.series = load_series(c, run_id, opened.base)


__all__ = ["Opened", "create_campaign", "reopen_campaign"]
