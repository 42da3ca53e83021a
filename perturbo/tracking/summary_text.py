"""The text a person browsing the MLflow UI reads (written by :mod:`.summary`): the facts it is
written from (:class:`CampaignFacts`), the best experiment and round, the one-line result
("12 of 45 hits found (27%) in 256 experiments"), the parent run's markdown summary and the
experiment's description, with links into the UI. Pure: it reads no store.

Rounds are the loop's (0-based) in :class:`CampaignFacts` and ``round + 1`` in what people
read.
"""

from __future__ import annotations

import math
import shlex
import urllib.parse
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from perturbo.findings import by_round, found, headline_of_history
from perturbo.tracking.layout import BEST_TAG
from perturbo.tracking.summary_multi import (
    FRONT_TAG,
    front_description,
    front_markdown,
    front_of,
    none_met,
    unmet_markdown,
)
from perturbo.types import Observation, Status, counted

if TYPE_CHECKING:
    from perturbo.findings import Findings

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
    objectives: Sequence[str] = ()
    """Every objective where the campaign has several (``objective`` is the first): then the
    summary gives their Pareto front, not a best by the first alone (:mod:`.summary_multi`)."""
    directions: Sequence[str] = ()


def best_observation(
    history: Sequence[Observation], objective: str, direction: str
) -> Observation | None:
    """The completed experiment with the best finite ``objective`` (the first of ties; of a
    multi-fidelity campaign, among those at the top fidelity: :func:`at_top_fidelity`)."""
    from perturbo.objective import at_top_fidelity

    sign = -1.0 if direction == "min" else 1.0
    best: Observation | None = None
    done = [
        o
        for o in history
        if objective
        and o.outcome.status is Status.COMPLETED
        and math.isfinite(o.outcome.metrics.get(objective, math.nan))
    ]
    for o in at_top_fidelity(done):
        v = o.outcome.metrics[objective]
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


def nothing_found(
    facts: CampaignFacts, best: Observation | None, rnd: tuple[str, int, float] | None
) -> bool:
    """Whether the best is best at nothing: a desirability campaign none of whose trials met
    every range (:func:`~perturbo.tracking.summary_multi.none_met`: all at desirability 0, the
    "best" merely the first), or a kind that *finds* things (its
    :class:`~perturbo.findings.Findings`: a screen's hits) whose best round counts 0 of them
    (or, nested per trial, whose best experiment is no find), so none was found. Then no round
    or run is marked best (MLflow's " (best)" on round 1 read as if it had found something)
    and the text says none were found, as ``perturbo show`` does. Only there: elsewhere a 0 is
    a value like any other (an attack's robust accuracy 0 is the strongest attack, a loss of 0
    the best fit), and ties go to the first as always."""
    if facts.findings is None:
        return none_met(facts, best)
    if rnd is not None:
        return rnd[2] == 0
    return (
        best is not None
        and facts.objective == facts.findings.label
        and best.outcome.metrics.get(facts.objective) == 0
    )


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
    return ", ".join(f"{k} = {fmt(last[k])}" for k in keys)


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


def start_description(
    campaign: str, kind: str, planner: str, subject: tuple[str, str] | None
) -> str:
    """The experiment's description while a new campaign runs."""
    about = f" on {subject[0]} `{subject[1]}`" if subject else ""
    return (
        f"**{campaign}**: a perturbo `{kind}` campaign{about}, planner `{planner or '?'}`, "
        "running. Its parent run holds the config, every round's metrics and, at the end, "
        "a summary with the best result."
    )


def fmt(v: float) -> str:
    """A number as the summary writes it: whole numbers without a point, else 6 digits."""
    return str(int(v)) if v == int(v) and abs(v) < 1e12 else f"{v:.6g}"


def _params(params: Mapping[str, Any]) -> str:
    items = [f"`{k}={fmt(v) if isinstance(v, float) else v}`" for k, v in params.items()]
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
    front = front_of(facts)  # several objectives: how many of each planner's are on the front
    col = "on the Pareto front" if front is not None else f"best {obj}"
    head = f"| planner | experiments | completed | {col} |" if obj else "| planner | n |"
    lines = ["", "**Planners compared**", "", head, "|---|---:|---:|---:|" if obj else "|---|---:|"]
    for name, obs in sorted(by.items()):
        done = sum(o.outcome.status is Status.COMPLETED for o in obs)
        if front is not None:
            on = sum(any(o is f for f in front) for o in obs)
            lines.append(f"| {name} | {len(obs)} | {done} | {on} |")
        elif obj:
            b = best_observation(obs, obj, facts.direction)
            bv = fmt(float(b.outcome.metrics[obj])) if b is not None else "-"
            lines.append(f"| {name} | {len(obs)} | {done} | {bv} |")
        else:
            lines.append(f"| {name} | {len(obs)} |")
    return lines


def summary_markdown(
    facts: CampaignFacts,
    best: Observation | None,
    rnd: tuple[str, int, float] | None,
    marked: str = "",
    front_runs: Mapping[str, str] | None = None,
) -> str:
    """The parent run's note: what a person asks first, then where to look. With several
    objectives (and no best round) the answer is their Pareto front, not one best
    (``front_runs``: the marked front trials' run ids by trial id)."""
    about = f", {facts.subject[0]} `{facts.subject[1]}`" if facts.subject else ""
    rounds = len({o.spec.round for o in facts.history})
    lines = [
        f"## {facts.campaign}",
        "",
        f"perturbo `{facts.kind}` campaign{about}, planner `{facts.planner or '?'}`: "
        f"**{facts.status}**" + (f" ({facts.reason})" if facts.reason else "") + ".",
        "",
        f"{counted(len(facts.history), 'experiments')} in {counted(rounds, 'rounds')}: {_counts(facts.history) or 'none'}.",
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
    front = front_of(facts) if rnd is None else None
    none = nothing_found(facts, best, rnd)
    lines += ["", "**Best result**" if front is None else "**Pareto front**", ""]
    if front is not None:
        links = {i: _run_link(facts, r) for i, r in (front_runs or {}).items()}
        lines += front_markdown(facts, front, links)
    elif none and facts.findings is None:  # a desirability campaign: no trial met its ranges
        lines += unmet_markdown(facts)
    elif none and facts.findings is not None:
        noun = facts.findings.noun
        lines.append(
            f"- best round: none yet, no {noun} found ({rnd[0]} = 0 in every round)"
            if rnd is not None
            else f"- none yet: no {noun} found"
        )
    elif rnd is not None:
        link = f" ([round run]({_run_link(facts, marked)}))" if marked else ""
        lines.append(f"- best round: round {rnd[1] + 1} with {rnd[0]} = {fmt(rnd[2])}{link}")
        finals = [(k, pts[-1][1]) for k in facts.headline if (pts := facts.series.get(k))]
        if finals:
            lines.append("- at the end: " + ", ".join(f"{k} = {fmt(v)}" for k, v in finals))
    if best is not None and facts.findings is None and front is None and not none:
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
                f"- {len(tied)} experiments reach {facts.objective} = {fmt(v)}: {shown}{more}"
            )
        else:
            link = f" ([run]({_run_link(facts, marked)}))" if marked and rnd is None else ""
            lines.append(
                f"- best {facts.objective} ({facts.direction}) = **{fmt(v)}**: `{best.spec.id}`"
                f", round {best.spec.round + 1}, planner `{best.spec.planner or '?'}`{link}"
            )
            lines.append(f"- its config: {_params(best.spec.params)}")
    elif rnd is None and best is None and front is None:
        lines.append("- no completed experiment yet")
    lines += _planners(facts)
    lines += ["", "**Where to look**", ""]
    if facts.objective and facts.nesting in ("trial", "both"):
        asc = facts.direction == "min"
        marks = (
            f"the front's trials are tagged `{FRONT_TAG}=true`"
            if front is not None
            else "none is best yet"
            if none
            else f"the best is tagged `{BEST_TAG}=true`"
        )
        lines.append(
            f"- [trials ranked by {facts.objective}]"
            f"({_runs_link(facts, facts.objective, asc)}) ({marks})"
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


def description(
    facts: CampaignFacts, best: Observation | None, rnd: tuple[str, int, float] | None
) -> str:
    """The experiment's description once the campaign ended: status, counts, its result."""
    about = f" on {facts.subject[0]} `{facts.subject[1]}`" if facts.subject else ""
    parts = [
        f"**{facts.campaign}**: a perturbo `{facts.kind}` campaign{about}, planner "
        f"`{facts.planner or '?'}`, **{facts.status}**; {len(facts.history)} experiments "
        f"({_counts(facts.history) or 'none'})."
    ]
    headline = result_line(facts)
    if headline:
        parts.append(f"**{headline}**.")
    front = front_of(facts) if rnd is None else None
    if front is not None:
        parts.append(front_description(facts, front))
    elif nothing_found(facts, best, rnd):
        parts.append(
            f"No {facts.findings.noun} found yet."
            if facts.findings is not None
            else "No trial met every desirability range yet."
        )
    elif rnd is not None:
        parts.append(f"Best round: {rnd[1] + 1} with {rnd[0]} = {fmt(rnd[2])}.")
    elif best is not None:
        v = float(best.outcome.metrics[facts.objective])
        parts.append(
            f"Best {facts.objective} = **{fmt(v)}** (`{best.spec.id}`: {_params(best.spec.params)})."
        )
    parts.append(
        f"The summary, plots and traces: [the campaign run]({_run_link(facts, facts.run_id)})."
    )
    return " ".join(parts)


__all__ = [
    "CampaignFacts",
    "best_observation",
    "best_round",
    "description",
    "fmt",
    "last_metrics",
    "nothing_found",
    "result_line",
    "start_description",
    "summary_markdown",
]
