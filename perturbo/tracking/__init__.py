"""MLflow: the campaign's store of record. The only package that imports mlflow (lazily).

- :mod:`~perturbo.tracking.writer`: :class:`MlflowRecorder`, the write side
  (:class:`perturbo.protocols.Recorder`): its lifecycle (open, finish, abort), with its round
  record in :mod:`~perturbo.tracking.round_writer` (rounds, the spooled backlog, the agent's
  trace that comes in each round's notes) and the parent run's summary and plots in
  :mod:`~perturbo.tracking.run_summary`;
- :mod:`~perturbo.tracking.reader`: :class:`MlflowStore`, the read side
  (:class:`perturbo.protocols.StoreReader`), and :func:`open_store`;
- :mod:`~perturbo.tracking.layout`: where everything is in MLflow (read it first);
- :mod:`~perturbo.tracking.claim`: one driver per campaign, claimed atomically in the store;
- :mod:`~perturbo.tracking.integrity`: whether a campaign's records are whole
  (:func:`check_records`; ``show`` reports, ``resume`` refuses);
- :mod:`~perturbo.tracking.uri`, ``spool``, ``traces``, ``nested``, ``artifacts``,
  ``batch``: URIs and clients, rounds kept locally while the store is down, agent traces,
  nested runs, end-of-campaign plots and Pareto set, batched writes.

The package never names a kind: a kind's nesting, plotters and tags come from its
:class:`~perturbo.kindspec.KindSpec` and :class:`~perturbo.parts.CampaignParts`.

The module-level functions below (:func:`load_history`, :func:`list_campaigns`,
:func:`round_metrics`) are thin shortcuts over :class:`MlflowStore`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from perturbo.history import History
from perturbo.tracking.claim import Claimed
from perturbo.tracking.integrity import Damage, DamagedCampaign
from perturbo.tracking.integrity import check as check_records
from perturbo.tracking.layout import CONFIG_FILE, PARETO_FILE, ROLE, ROUNDS_DIR
from perturbo.tracking.nested import observations_table
from perturbo.tracking.reader import MlflowStore, open_store
from perturbo.tracking.uri import check_reachable, default_spool_dir, store_flag
from perturbo.tracking.writer import MlflowRecorder
from perturbo.types import CampaignSummary


def load_history(
    tracking_uri: str, campaign: str, spool_dir: Path | None = None
) -> tuple[dict[str, Any], History]:
    """The campaign's logged config and its observations, exactly as recorded (plus any rounds
    spooled locally while the store was unreachable), in round order."""
    store = MlflowStore(tracking_uri, spool_dir)
    return store.config(campaign), store.history(campaign)


def list_campaigns(tracking_uri: str, kind: str | None = None) -> list[CampaignSummary]:
    """Every campaign in the store (of ``kind``), newest first; none where it is absent."""
    return MlflowStore(tracking_uri).list_campaigns(kind)


def round_metrics(
    tracking_uri: str, campaign: str
) -> tuple[CampaignSummary, dict[int, dict[str, float]]]:
    """A campaign's summary and its metrics per recorded round."""
    store = MlflowStore(tracking_uri)
    return store.summary(campaign), store.round_metrics(campaign)


__all__ = [
    "CONFIG_FILE",
    "PARETO_FILE",
    "ROLE",
    "ROUNDS_DIR",
    "CampaignSummary",
    "Claimed",
    "Damage",
    "DamagedCampaign",
    "MlflowRecorder",
    "MlflowStore",
    "check_reachable",
    "check_records",
    "default_spool_dir",
    "list_campaigns",
    "load_history",
    "observations_table",
    "open_store",
    "round_metrics",
    "store_flag",
]
