"""What a person browsing the MLflow UI reads first: the experiment's description, a markdown
summary on the parent run (best result and its config, planners compared, counts, links to
the plots, the agent traces and the ranked runs), and the best nested run marked.

Written by the recorder when a campaign starts (a short description), finishes and is
aborted (refreshed: a resumed campaign's best may change). Kind-neutral: the objective, its
direction, the headline metrics, the subject and what the kind finds
(:class:`~perturbo.findings.Findings`: "12 of 45 hits found (27%) in 256 experiments") come
from the kind through the recorder. Rounds are the loop's (0-based) in :class:`CampaignFacts`
and ``round + 1`` in what people read; tags that name a round use the store's numbering.
"""

from __future__ import annotations

import json
import math
import shlex
import urllib.parse
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from perturbo.findings import by_round, found, headline_of_history
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
from perturbo.types import Observation, Status

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from perturbo.findings import Findings

BEST_SUFFIX = " (best)"
_ML_VIEW = "workflowType=machine_learning"
_MAX_SHOWN = 12


@dataclass(frozen=True)
class CampaignFacts:
    """What the summary is written from (the recorder's view of its campaign)."""

    campaign: str
    kind: str
    experiment_id: str
    run_id: str
    status: str
    history: Sequence[Observation]
    series: Mapping[str, Sequence[tuple[int, float]]] = field(default_factory=dict)
    objective: str = ""
    direction: str = "max"
    nesting: str = "trial"
    headline: Sequence[str] = ()
    subject: tuple[str, str] | None = None
    planner: str = ""
    plots: Sequence[str] = ()
    traces: bool = False
    reason: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    findings: Findings | None = None
    round_base: int = 0
    """The store's number of the loop's round 0 (1 for campaigns recorded since rounds are
    numbered 1..N; 0 before): the round tags of nested runs."""


def best_observation(
    history: Sequence[Observation], objective: str, direction: str
) -> Observation | None:
    """The completed experiment with the best finite ``objective`` (the first of ties)."""
    sign = -1.0 if direction == "min" else 1.0
    best: Observation | None = None
    for o in history:
        v = o.outcome.metrics.get(objective, math.nan) if objective else math.nan
        if o.outcome.status is not Status.COMPLETED or not math.isfinite(v):
            continue
        if best is None or sign * v > sign * best.outcome.metrics[objective]:
            best = o
    return best


def best_round(facts: CampaignFacts) -> tuple[str, int, float] | None:
    """(metric, round, value) of the best round by the first headline metric recorded (else
    the first round metric), in the objective's direction."""
    keys = [k for k in facts.headline if facts.series.get(k)] or [
        k for k, pts in facts.series.items() if pts
    ]
    if not keys:
        return None
    key, sign = keys[0], (-1.0 if facts.direction == "min" else 1.0)
    rnd, v = max(facts.series[key], key=lambda p: (sign * p[1], -p[0]))
    return key, int(rnd), float(v)


def last_metrics(facts: CampaignFacts) -> dict[str, float]:
    """Each per-round metric's last value."""
    return {k: float(pts[-1][1]) for k, pts in facts.series.items() if pts}


def result_line(facts: CampaignFacts) -> str:
    """What the campaign found, in one line: "12 of 45 hits found (27%) in 256 experiments"
    for a kind with findings, else its headline metrics' last values (the first two round
    metrics where it names none; "" where there are none)."""
    last = last_metrics(facts)
    if facts.findings is not None:
        return headline_of_history(facts.findings, facts.history, facts.params, last)
    keys = ([k for k in facts.headline if k in last] or list(last))[:2]
    return ", ".join(f"{k} = {_fmt(last[k])}" for k in keys)


def _found_lines(facts: CampaignFacts) -> list[str]:
    """The finds by round (people's numbering), a few per round."""
    if facts.findings is None:
        return []
    rows = by_round(found(facts.findings, facts.history))
    lines = []
    for rnd, fs in rows.items():
        names = ", ".join(f"`{f.subject}`" for f in fs[:_MAX_SHOWN])
        more = f" and {len(fs) - _MAX_SHOWN} more" if len(fs) > _MAX_SHOWN else ""
        lines.append(f"- round {rnd + 1} ({len(fs)}): {names}{more}")
    return lines


def view_tags() -> dict[str, str]:
    """Experiment tags that open a campaign in MLflow's runs (classic ML) view."""
    return {VIEW_TAG: VIEW_VALUE}


def start_description(
    campaign: str, kind: str, planner: str, subject: tuple[str, str] | None
) -> str:
    about = f" on {subject[0]} `{subject[1]}`" if subject else ""
    return (
        f"**{campaign}**: a perturbo `{kind}` campaign{about}, planner `{planner or '?'}`, "
        "running. Its parent run holds the config, every round's metrics and, at the end, "
        "a summary with the best result."
    )


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
    best = best_observation(facts.history, facts.objective, facts.direction)
    rnd = best_round(facts) if facts.nesting == "round" else None
    marked = _mark_best(client, facts, best, rnd)
    md = summary_markdown(facts, best, rnd, marked)
    tags = {NOTE_TAG: md, "perturbo.status": facts.status}
    headline = result_line(facts)
    if headline:
        tags[HEADLINE_TAG] = headline
    if facts.objective:
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
        tags["perturbo.best.round_metric"] = f"{rnd[0]}={_fmt(rnd[2])}"
    if marked:
        tags["perturbo.best.run"] = marked
    log_batch(client, facts.run_id, tags=tags)
    desc = _description(facts, best, rnd)
    # the experiment's perturbo.* tags stay the kind and its tags (what the store lists)
    for k, v in {**view_tags(), NOTE_TAG: desc}.items():
        client.set_experiment_tag(facts.experiment_id, k, v[:MAX_TAG_LEN])
    return md


# --------------------------------------------------------------------------- markdown


def _fmt(v: float) -> str:
    return str(int(v)) if v == int(v) and abs(v) < 1e12 else f"{v:.6g}"


def _params(params: Mapping[str, Any]) -> str:
    items = [f"`{k}={_fmt(v) if isinstance(v, float) else v}`" for k, v in params.items()]
    more = f" and {len(items) - _MAX_SHOWN} more" if len(items) > _MAX_SHOWN else ""
    return ", ".join(items[:_MAX_SHOWN]) + more


def _runs_link(facts: CampaignFacts, order_by: str | None = None, ascending: bool = False) -> str:
    q = _ML_VIEW
    if order_by:
        q += "&orderByKey=" + urllib.parse.quote(f"metrics.`{order_by}`")
        q += f"&orderByAsc={'true' if ascending else 'false'}"
    return f"#/experiments/{facts.experiment_id}/runs?{q}"


def _run_link(facts: CampaignFacts, run_id: str, tail: str = "") -> str:
    return f"#/experiments/{facts.experiment_id}/runs/{run_id}{tail}"


def _counts(history: Sequence[Observation]) -> str:
    c = Counter(o.outcome.status.value for o in history)
    order = [s.value for s in Status]
    return ", ".join(f"{c[s]} {s}" for s in order if c.get(s))


def _planners(facts: CampaignFacts) -> list[str]:
    by: dict[str, list[Observation]] = {}
    for o in facts.history:
        by.setdefault(o.spec.planner or facts.planner or "?", []).append(o)
    if not by:
        return []
    obj = facts.objective
    head = f"| planner | experiments | completed | best {obj} |" if obj else "| planner | n |"
    lines = ["", "**Planners compared**", "", head, "|---|---:|---:|---:|" if obj else "|---|---:|"]
    for name, obs in sorted(by.items()):
        done = sum(o.outcome.status is Status.COMPLETED for o in obs)
        if obj:
            b = best_observation(obs, obj, facts.direction)
            bv = _fmt(float(b.outcome.metrics[obj])) if b is not None else "-"
            lines.append(f"| {name} | {len(obs)} | {done} | {bv} |")
        else:
            lines.append(f"| {name} | {len(obs)} |")
    return lines


def summary_markdown(
    facts: CampaignFacts,
    best: Observation | None,
    rnd: tuple[str, int, float] | None,
    marked: str = "",
) -> str:
    """The parent run's note: what a person asks first, then where to look."""
    about = f", {facts.subject[0]} `{facts.subject[1]}`" if facts.subject else ""
    rounds = len({o.spec.round for o in facts.history})
    lines = [
        f"## {facts.campaign}",
        "",
        f"perturbo `{facts.kind}` campaign{about}, planner `{facts.planner or '?'}`: "
        f"**{facts.status}**" + (f" ({facts.reason})" if facts.reason else "") + ".",
        "",
        f"{len(facts.history)} experiments in {rounds} rounds: {_counts(facts.history) or 'none'}.",
    ]
    headline = result_line(facts)
    if headline:
        lines += ["", f"**{headline}**"]
    found_lines = _found_lines(facts)
    if found_lines and facts.findings is not None:
        name = facts.findings.file
        link = _run_link(facts, facts.run_id, f"/artifacts/{name}")
        noun = facts.findings.noun.capitalize()
        lines += ["", f"**{noun} by round** (all of them: [{name}]({link}))", "", *found_lines]
    lines += ["", "**Best result**", ""]
    if rnd is not None:
        link = f" ([round run]({_run_link(facts, marked)}))" if marked else ""
        lines.append(f"- best round: round {rnd[1] + 1} with {rnd[0]} = {_fmt(rnd[2])}{link}")
        finals = [(k, pts[-1][1]) for k in facts.headline if (pts := facts.series.get(k))]
        if finals:
            lines.append("- at the end: " + ", ".join(f"{k} = {_fmt(v)}" for k, v in finals))
    if best is not None and facts.findings is None:  # the finds say it better
        v = float(best.outcome.metrics[facts.objective])
        tied = [
            o
            for o in facts.history
            if o.outcome.status is Status.COMPLETED and o.outcome.metrics.get(facts.objective) == v
        ]
        if facts.nesting == "round" and len(tied) > 1:
            shown = "; ".join(_params(o.spec.params) for o in tied[:_MAX_SHOWN])
            more = f" and {len(tied) - _MAX_SHOWN} more" if len(tied) > _MAX_SHOWN else ""
            lines.append(
                f"- {len(tied)} experiments reach {facts.objective} = {_fmt(v)}: {shown}{more}"
            )
        else:
            link = f" ([run]({_run_link(facts, marked)}))" if marked and rnd is None else ""
            lines.append(
                f"- best {facts.objective} ({facts.direction}) = **{_fmt(v)}**: `{best.spec.id}`"
                f", round {best.spec.round + 1}, planner `{best.spec.planner or '?'}`{link}"
            )
            lines.append(f"- its config: {_params(best.spec.params)}")
    elif rnd is None and best is None:
        lines.append("- no completed experiment yet")
    lines += _planners(facts)
    lines += ["", "**Where to look**", ""]
    if facts.objective and facts.nesting in ("trial", "both"):
        asc = facts.direction == "min"
        lines.append(
            f"- [trials ranked by {facts.objective}]"
            f"({_runs_link(facts, facts.objective, asc)}) (the best is tagged `{BEST_TAG}=true`)"
        )
    if rnd is not None:
        lines.append(f"- [rounds ranked by {rnd[0]}]({_runs_link(facts, rnd[0])})")
    for p in facts.plots:
        lines.append(f"- plot [{p}]({_run_link(facts, facts.run_id, f'/artifacts/plots/{p}')})")
    if facts.traces:
        lines.append(
            f"- [agent traces](#/experiments/{facts.experiment_id}/traces) (one per round)"
        )
    lines.append(f"- [the config and round files]({_run_link(facts, facts.run_id, '/artifacts')})")
    lines.append(f"- in a terminal: `perturbo show {shlex.quote(facts.campaign)}`")
    return "\n".join(lines) + "\n"


def _description(
    facts: CampaignFacts, best: Observation | None, rnd: tuple[str, int, float] | None
) -> str:
    about = f" on {facts.subject[0]} `{facts.subject[1]}`" if facts.subject else ""
    parts = [
        f"**{facts.campaign}**: a perturbo `{facts.kind}` campaign{about}, planner "
        f"`{facts.planner or '?'}`, **{facts.status}**; {len(facts.history)} experiments "
        f"({_counts(facts.history) or 'none'})."
    ]
    headline = result_line(facts)
    if headline:
        parts.append(f"**{headline}**.")
    if rnd is not None:
        parts.append(f"Best round: {rnd[1] + 1} with {rnd[0]} = {_fmt(rnd[2])}.")
    elif best is not None:
        v = float(best.outcome.metrics[facts.objective])
        parts.append(
            f"Best {facts.objective} = **{_fmt(v)}** (`{best.spec.id}`: {_params(best.spec.params)})."
        )
    parts.append(
        f"The summary, plots and traces: [the campaign run]({_run_link(facts, facts.run_id)})."
    )
    return " ".join(parts)


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


__all__ = [
    "BEST_SUFFIX",
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
