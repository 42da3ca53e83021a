"""What a person browsing the MLflow UI reads first: the experiment's description, a markdown
summary on the parent run (best result and its config, planners compared, counts, links to
the plots, the agent traces and the ranked runs), and the best nested run marked. This module
writes them to the store; their text is made in :mod:`perturbo.tracking.summary_text`.

Written by the recorder when a campaign starts (a short description), finishes and is
aborted (refreshed: a resumed campaign's best may change). Kind-neutral: the objective, its
direction, the headline metrics, the subject and what the kind finds
(:class:`~perturbo.findings.Findings`: "12 of 45 hits found (27%) in 256 experiments") come
from the kind through the recorder. Rounds are the loop's (0-based) in :class:`CampaignFacts`
and ``round + 1`` in what people read; tags that name a round use the store's numbering.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from perturbo.tracking.batch import MAX_TAG_LEN, log_batch
from perturbo.tracking.layout import (
    AGENT_TRACES_DIR,
    BEST_TAG,
    HEADLINE_TAG,
    NOTE_TAG,
    ROLE,
    ROUND_TAG,
    VIEW_TAG,
    VIEW_VALUE,
)
from perturbo.tracking.summary_multi import FRONT_SUFFIX, FRONT_TAG, front_of, front_tags
from perturbo.tracking.summary_text import (
    CampaignFacts,
    best_observation,
    best_round,
    description,
    fmt,
    last_metrics,
    nothing_found,
    result_line,
    start_description,
    summary_markdown,
)
from perturbo.types import Observation

if TYPE_CHECKING:
    from mlflow import MlflowClient


BEST_SUFFIX = " (best)"
_BEST_KEYS = (
    "perturbo.best.id",
    "perturbo.best.value",
    "perturbo.best.params",
    "perturbo.best.run",
)


def view_tags() -> dict[str, str]:
    """Experiment tags that open a campaign in MLflow's runs (classic ML) view."""
    return {VIEW_TAG: VIEW_VALUE}


def start_tags(
    campaign: str, kind: str, planner: str, subject: tuple[str, str] | None
) -> tuple[dict[str, str], dict[str, str]]:
    """(experiment tags, parent-run tags) of a new campaign: the runs view and a description
    on the experiment (whose perturbo.* tags stay the kind's); planner and subject on the run."""
    exp = {**view_tags(), NOTE_TAG: start_description(campaign, kind, planner, subject)}
    run = {"perturbo.planner": planner, "perturbo.subject": subject[1] if subject else ""}
    return exp, {k: v for k, v in run.items() if v}


def write_summary(client: MlflowClient, facts: CampaignFacts) -> str:
    """Write the description, the summary and the best marks; returns the summary markdown."""
    plots = list(facts.plots) or [
        f.path.rsplit("/", 1)[-1] for f in client.list_artifacts(facts.run_id, "plots")
    ]
    traces = facts.traces or bool(client.list_artifacts(facts.run_id, AGENT_TRACES_DIR))
    facts = replace(facts, plots=plots, traces=traces or _round_traces(client, facts))
    rnd = best_round(facts) if facts.nesting == "round" else None
    # several objectives: the answer is their Pareto front, no one trial is best (a best by
    # the first objective alone named a trial another one dominates)
    front = front_of(facts) if rnd is None else None
    best = (
        None
        if front is not None
        else best_observation(facts.history, facts.objective, facts.direction)
    )
    # nothing found (0 hits in every round, no trial met every desirability range): no round
    # or run is best, none is marked (an earlier mark is cleared); the best.* tags below still
    # say what was measured
    none = nothing_found(facts, best, rnd)
    marked = _mark_best(client, facts, None if none else best, None if none else rnd)
    front_runs = _mark_front(client, facts, front or [])
    md = summary_markdown(facts, best, rnd, marked, front_runs)
    tags = {NOTE_TAG: md, "perturbo.status": facts.status}
    headline = result_line(facts)
    if headline:
        tags[HEADLINE_TAG] = headline
    if front is not None:
        tags.update(front_tags(facts, front))
    elif facts.objective:
        tags.update({"perturbo.objective": facts.objective, "perturbo.direction": facts.direction})
    if best is not None:
        tags.update(
            {
                "perturbo.best.id": best.spec.id,
                "perturbo.best.value": repr(float(best.outcome.metrics[facts.objective])),
                "perturbo.best.params": json.dumps(dict(best.spec.params), default=str),
            }
        )
    if rnd is not None:
        tags["perturbo.best.round"] = str(rnd[1] + facts.round_base)  # the store's numbering
        tags["perturbo.best.round_metric"] = f"{rnd[0]}={fmt(rnd[2])}"
    if marked:
        tags["perturbo.best.run"] = marked
    # an earlier summary's marks that no longer hold: its best of the first objective alone,
    # the run it marked best
    stale = _BEST_KEYS if front is not None else () if marked else ("perturbo.best.run",)
    _drop_tags(client, facts.run_id, stale)
    log_batch(client, facts.run_id, tags=tags)
    desc = description(facts, best, rnd)
    # the experiment's perturbo.* tags stay the kind and its tags (what the store lists)
    for k, v in {**view_tags(), NOTE_TAG: desc}.items():
        client.set_experiment_tag(facts.experiment_id, k, v[:MAX_TAG_LEN])
    return md


def _round_traces(client: MlflowClient, facts: CampaignFacts) -> bool:
    """Whether the experiment holds agent traces (MLflow's Traces tab)."""
    try:
        return bool(
            client.search_traces(
                locations=[facts.experiment_id], max_results=1, include_spans=False
            )
        )
    except Exception:  # noqa: BLE001 - a store without traces support
        return False


# --------------------------------------------------------------------------- best marks


def _mark_best(
    client: MlflowClient,
    facts: CampaignFacts,
    best: Observation | None,
    rnd: tuple[str, int, float] | None,
) -> str:
    """Tag the best nested run ``perturbo.best=true`` and suffix its name (clearing an earlier
    mark); returns its run id ("" where there is none)."""
    flt = f"tags.`mlflow.parentRunId` = '{facts.run_id}'"
    if rnd is not None:
        stored = rnd[1] + facts.round_base
        target = f"{flt} and tags.`{ROLE}` = 'round' and tags.`{ROUND_TAG}` = '{stored}'"
    elif best is not None and facts.nesting in ("trial", "both"):
        target = f"{flt} and tags.`{ROLE}` = 'trial' and tags.`perturbo.id` = '{best.spec.id}'"
    else:
        target = ""
    found = client.search_runs([facts.experiment_id], target, max_results=1) if target else []
    new = found[0].info.run_id if found else ""
    for r in client.search_runs([facts.experiment_id], f"{flt} and tags.`{BEST_TAG}` = 'true'"):
        if r.info.run_id != new:
            name = r.info.run_name or ""
            client.set_tag(r.info.run_id, BEST_TAG, "false")
            if name.endswith(BEST_SUFFIX):
                client.set_tag(r.info.run_id, "mlflow.runName", name[: -len(BEST_SUFFIX)])
    if found:
        name = found[0].info.run_name or ""
        client.set_tag(new, BEST_TAG, "true")
        if not name.endswith(BEST_SUFFIX):
            client.set_tag(new, "mlflow.runName", name + BEST_SUFFIX)
    return new


def _mark_front(
    client: MlflowClient, facts: CampaignFacts, front: Sequence[Observation]
) -> dict[str, str]:
    """Tag the nested runs of the Pareto front's trials ``perturbo.front=true`` and suffix
    their names " (front)", clearing the marks of trials a resume pushed off it; returns their
    run ids by trial id. Nothing where the campaign nests no trial runs."""
    flt = f"tags.`mlflow.parentRunId` = '{facts.run_id}'"
    runs: dict[str, str] = {}
    if facts.nesting in ("trial", "both"):
        for o in front:
            q = f"{flt} and tags.`{ROLE}` = 'trial' and tags.`perturbo.id` = '{o.spec.id}'"
            found = client.search_runs([facts.experiment_id], q, max_results=1)
            if found:
                r = found[0]
                runs[o.spec.id] = r.info.run_id
                client.set_tag(r.info.run_id, FRONT_TAG, "true")
                name = r.info.run_name or ""
                if not name.endswith(FRONT_SUFFIX):
                    client.set_tag(r.info.run_id, "mlflow.runName", name + FRONT_SUFFIX)
    keep = set(runs.values())
    for r in client.search_runs([facts.experiment_id], f"{flt} and tags.`{FRONT_TAG}` = 'true'"):
        if r.info.run_id not in keep:
            client.set_tag(r.info.run_id, FRONT_TAG, "false")
            name = r.info.run_name or ""
            if name.endswith(FRONT_SUFFIX):
                client.set_tag(r.info.run_id, "mlflow.runName", name[: -len(FRONT_SUFFIX)])
    return runs


def _drop_tags(client: MlflowClient, run_id: str, keys: Sequence[str]) -> None:
    """Delete those of ``keys`` the run has (MLflow raises on a tag it does not hold)."""
    if not keys:
        return
    held = client.get_run(run_id).data.tags
    for k in keys:
        if k in held:
            client.delete_tag(run_id, k)


__all__ = [
    "BEST_SUFFIX",
    "FRONT_SUFFIX",
    "FRONT_TAG",
    "CampaignFacts",
    "best_observation",
    "best_round",
    "last_metrics",
    "result_line",
    "start_description",
    "start_tags",
    "summary_markdown",
    "view_tags",
    "write_summary",
]
