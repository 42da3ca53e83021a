"""What the chat says about campaigns, computed from the store's read side only.

Every number a chat answer carries is computed here from a :class:`~perturbo.protocols.StoreReader`
and rendered by template (:func:`fmt`), so the model never has to recall one. Kind-agnostic:
a kind's spec gives its headline metrics, subject and budget keys; a campaign's params give
its objective and direction; a 0/1 metric on every outcome (a screen's ``hit``) is read as hits.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from perturbo.agents.chat.cascade import SUBSETS_NOTE, Breaks, breaks_of, method_lines, on_subsets
from perturbo.agents.chat.catalog import KindCatalog, spec_of
from perturbo.agents.chat.figures import (
    RoundRow,
    front_of,
    method_rows,
    most_hits,
    objectives_of,
    round_rows,
    settings_of,
)
from perturbo.agents.chat.scores import Best, PlannerStats, best_of, fmt, hit_metric_of
from perturbo.agents.chat.stops import error_lines, final_headline, stop_reason
from perturbo.kindspec import shown_params
from perturbo.types import CampaignSummary, Observation, Status, finite_float

__all__ = [
    "Best",
    "CampaignFacts",
    "best_of",
    "campaign_facts",
    "fmt",
    "hit_metric_of",
    "resolve",
]


def resolve(store: Any, name: str) -> str:
    """A campaign's full name from its name, a unique prefix or part, or a unique description
    ("the bo screen campaign"); a :class:`PerturboError` saying the name is unknown (and
    listing the campaigns) otherwise: never another campaign."""
    from perturbo.agents.chat.names import resolve as resolve_name

    return resolve_name(store, name)


@dataclass(frozen=True)
class CampaignFacts:
    """One campaign, read back: the summary plus what the chat reports about it."""

    summary: CampaignSummary
    planner: str
    subject: str
    budget: str
    n_experiments: int
    statuses: dict[str, int]
    objective: str = ""
    direction: str = ""
    best: list[Best] = field(default_factory=list)
    hit_metric: str | None = None
    hits: list[str] = field(default_factory=list)
    planners: list[PlannerStats] = field(default_factory=list)
    headline: dict[str, float] = field(default_factory=dict)
    tried: list[str] = field(default_factory=list)
    settings: dict[str, str] = field(default_factory=dict)
    rounds: list[RoundRow] = field(default_factory=list)
    methods: list[dict[str, Any]] = field(default_factory=list)
    front: list[dict[str, Any]] = field(default_factory=list)
    objectives: tuple[str, ...] = ()
    subsets: bool = False
    """Its trials were measured on different samples (an attack's cascade): a trial's own
    objective is not compared across trials; the campaign's worst case is its result."""
    breaks: Breaks | None = None
    stopped: str = ""
    errors: list[str] = field(default_factory=list)
    method_text: list[str] = field(default_factory=list)
    threat: str = ""
    """An attack's threat model ("linf, eps 0.1"): robust accuracies compare only within one."""

    @property
    def score(self) -> tuple[str, float, str] | None:
        """What the campaign is compared on: (figure, value, direction). Its worst case over
        all its trials where it logged one (an attack's per-sample worst case: its result,
        and the only one where its trials saw different samples); else its best experiment."""
        v = self.summary.metrics.get(f"worst_case_{self.objective}") if self.best else None
        if v is not None and math.isfinite(float(v)):
            return f"worst_case_{self.objective}", float(v), self.direction
        if self.best and not self.subsets:
            return self.objective, self.best[0].value, self.direction
        return None

    @property
    def n_completed(self) -> int:
        return int(self.statuses.get(Status.COMPLETED.value, 0))

    @property
    def n_hits(self) -> int | None:
        return len(self.hits) if self.hit_metric is not None else None

    @property
    def hit_ratio(self) -> float | None:
        """Hits found over the screen's hits (the store's ``hit_ratio``), else None."""
        v = self.summary.metrics.get("hit_ratio")
        return float(v) if v is not None else None

    @property
    def name(self) -> str:
        return self.summary.name

    @property
    def best_value(self) -> float | None:
        """The value it is compared on (:attr:`score`)."""
        return self.score[1] if self.score else None

    def result_line(self) -> str:
        """The best result in one phrase (best objective, worst case, or hits found)."""
        if self.n_experiments and not self.n_completed:
            return f"no experiment completed ({self.n_experiments} did not)"
        if self.score and self.score[0] != self.objective:
            what = self.objective.replace("_", " ")
            return (
                f"worst-case {what} = {fmt(self.score[1])} ({self.direction}, per sample over "
                "all trials)"
            )
        if self.best and not self.subsets:
            return f"best {self.objective} = {fmt(self.best[0].value)} ({self.direction})"
        if self.hit_metric is not None:
            ratio = f", hit ratio {fmt(self.hit_ratio)}" if self.hit_ratio is not None else ""
            total = self.summary.params.get("screen_hits")
            of = f" (of the screen's {total} hits)" if total not in (None, "", "None") else ""
            return f"{len(self.hits)} hits in {self.n_experiments} experiments{of}{ratio}"
        return (
            ", ".join(f"{k} = {fmt(v)}" for k, v in list(self.headline.items())[:2])
            or "no result yet"
        )

    def list_line(self) -> str:
        s = self.summary
        return (
            f"- {s.name}: {s.kind}, {s.status}, planner {self.planner or '?'}"
            f"{', ' + self.subject if self.subject else ''}"
            f"{', ' + self.threat if self.threat else ''}, {self.budget}; {self.result_line()}"
        )

    def text(self) -> str:
        """The summary a person reads: what was tried, what worked, the best, planners compared."""
        s = self.summary
        status = ", ".join(f"{v} {k}" for k, v in sorted(self.statuses.items()))
        lines = [
            f"{s.name} ({s.kind}, {s.status}): planner {self.planner or '?'}"
            f"{', subject ' + self.subject if self.subject else ''}; {self.budget}.",
            "Settings: " + ", ".join(f"{k} {v}" for k, v in self.settings.items()) + ".",
            f"Tried: {self.n_experiments} experiments ({status})"
            + (f"; {'; '.join(self.tried)}" if self.tried else "")
            + ".",
        ]
        if self.stopped:
            lines.append(f"Stopped: {self.stopped[:600]}.")
        lines += self.errors
        if self.headline:
            lines.append(
                "Metrics: " + ", ".join(f"{k} = {fmt(v)}" for k, v in self.headline.items()) + "."
            )
        elif self.n_experiments and not self.n_completed:
            lines.append("Metrics: none: no experiment completed, so nothing was measured.")
        if self.subsets:
            lines += self._subset_lines()
        elif self.best:
            lines.append(f"Best ({self.objective}, {self.direction}):")
            lines += [f"  {i + 1}. {b.line(self.objective)}" for i, b in enumerate(self.best)]
        elif self.hit_metric is not None:
            shown = ", ".join(self.hits[:60]) + (" ..." if len(self.hits) > 60 else "")
            lines.append(
                f"What worked: {self.result_line()} ({self.hit_metric} = 1); hit genes: "
                f"{shown or 'none'}."
            )
        lines += self._round_lines()
        if self.method_text:
            lines += self.method_text
        elif self.methods:
            lines.append(f"Attack methods tried ({len(self.methods)}):")
            lines += [
                f"  {m['method']}: {m['trials']} trials"
                + (f", eps {', '.join(fmt(e) for e in m['eps'])}" if m["eps"] else "")
                + (f", best {self.objective} {fmt(m['best'])}" if m["best"] is not None else "")
                for m in self.methods
            ]
        if self.front:
            lines.append(f"Pareto front ({', '.join(self.objectives)}): {len(self.front)} configs:")
            lines += [
                "  "
                + ", ".join(f"{k} {fmt(v)}" for k, v in p["values"].items())
                + f" with {', '.join(f'{k}={fmt(v)}' for k, v in p['params'].items())}"
                for p in self.front[:8]
            ]
        if len(self.planners) > 1:
            lines.append("Planners compared:")
        lines += [f"  {p.line(self.objective)}" for p in self.planners if len(self.planners) > 1]
        return "\n".join(lines)

    def _subset_lines(self) -> list[str]:
        """The best trials of a campaign whose trials saw different samples: those that broke
        the most samples first (a trial's own objective is over the samples it attacked)."""
        note = SUBSETS_NOTE.format(objective=self.objective)
        if self.breaks is None:
            return [f"No best single trial: {note}; the campaign's result is its worst case."]
        lines = [f"Trials that broke the most samples first ({note}):"]
        for i, o in enumerate(self.breaks.top(3), 1):
            params = ", ".join(f"{k}={fmt(v)}" for k, v in o.spec.params.items()
                               if k != "samples" and 0 < len(str(v)) <= 24)  # fmt: skip
            lines.append(
                f"  {i}. {o.spec.id} (round {o.spec.round + 1}, planner {o.spec.planner or '?'}): "
                f"broke {self.breaks.first[o.spec.id]} samples first with {params}"
            )
        return lines

    def _round_lines(self) -> list[str]:
        if not self.rounds:
            return []
        lines = [f"Per round ({len(self.rounds)} rounds):"]
        lines += [f"  {r.line(self.objective)}" for r in self.rounds[:40]]
        top = most_hits(self.rounds)
        if top is not None and len(self.rounds) > 1:
            ties = [r.round for r in self.rounds if r.hits == top.hits]
            tie = f" (tied with round {', '.join(map(str, ties[1:]))})" if len(ties) > 1 else ""
            lines.append(f"Most hits in one round: round {top.round} ({top.hits} hits){tie}.")
        return lines

    def data(self) -> dict[str, Any]:
        s = self.summary
        return {
            "name": s.name, "kind": s.kind, "status": s.status, "rounds": s.rounds,
            "planner": self.planner, "subject": self.subject, "budget": self.budget,
            "n_experiments": self.n_experiments, "statuses": dict(self.statuses),
            "objective": self.objective, "direction": self.direction,
            "best": [{"id": b.id, "round": b.round + 1, "planner": b.planner, "value": b.value,
                      "params": dict(b.params)} for b in self.best],
            "hits": list(self.hits), "headline": dict(self.headline),
            "planners": [p.__dict__ for p in self.planners], "settings": dict(self.settings),
            "per_round": [r.__dict__ for r in self.rounds], "methods": list(self.methods),
            "pareto_front": list(self.front), "hit_ratio": self.hit_ratio,
        }  # fmt: skip


def _budget(summary: CampaignSummary, spec: Any, n: int) -> str:
    keys = tuple(getattr(spec, "budget_keys", ()) or ())
    for key in keys:
        planned = summary.params.get(key)
        if planned is None:
            continue
        done = summary.rounds if key == "rounds" else n
        return f"{done}/{planned} {key}"
    return f"{summary.rounds} rounds"


def _tried(history: Sequence[Observation], spec: Any = None) -> list[str]:
    """Per param (not the kind's internal ones): the range of numbers tried, or how many
    distinct values."""
    values: dict[str, list[Any]] = {}
    for o in history:
        for k, v in shown_params(spec, o.spec.params).items():
            values.setdefault(k, []).append(v)
    out = []
    for k, vs in values.items():
        nums = [float(v) for v in vs if isinstance(v, int | float) and not isinstance(v, bool)]
        if len(nums) == len(vs):
            out.append(f"{k} from {fmt(min(nums))} to {fmt(max(nums))}")
        else:
            out.append(f"{len(set(map(str, vs)))} distinct {k}")
    return out[:6]


def campaign_facts(
    store: Any, name: str, top: int = 3, *, kinds: KindCatalog | None
) -> CampaignFacts:
    """Everything the chat reports about campaign ``name`` (read through ``store``); ``kinds``:
    the kind catalog the front end handed the chat (None: no kind's spec is known)."""
    summary = store.summary(name)
    history = list(store.history(name))
    spec = spec_of(kinds, summary.kind)
    params = summary.params
    findings = spec is not None and getattr(spec, "findings", None) is not None
    objectives, directions = objectives_of(summary, history, findings=findings)
    objective = objectives[0] if len(objectives) == 1 else ""
    direction = directions[0] if len(objectives) == 1 else "max"
    best = best_of(history, objective, direction, top) if objective else []
    # hits only where the kind finds things (KindSpec.findings); an attack has none, even
    # where one of its metrics happens to be 0/1 on every trial (it was listed as "0 hits")
    no_hits = best or (spec is not None and not findings)
    hit = None if no_hits else hit_metric_of(history)
    hits = [
        ",".join(str(v) for v in o.spec.params.values())
        for o in history
        if hit is not None
        and o.outcome.status is Status.COMPLETED
        and o.outcome.metrics.get(hit) == 1.0
    ]
    # trials measured on different samples (an attack's cascade): ranked by what each broke
    subsets = bool(best) and on_subsets(history)
    breaks = breaks_of(history, finite_float(params.get("eps"))) if subsets else None
    by_planner: dict[str, list[Observation]] = {}
    for o in history:
        by_planner.setdefault(o.spec.planner or "?", []).append(o)
    planners = []
    for p, obs in sorted(by_planner.items()):
        b = best_of(obs, objective, direction, 1) if best and not subsets else []
        nh = sum(1 for o in obs if o.outcome.metrics.get(hit) == 1.0) if hit is not None else None
        done = sum(1 for o in obs if o.outcome.status is Status.COMPLETED)
        broke = sum(breaks.first.get(o.spec.id, 0) for o in obs) if breaks else None
        planners.append(PlannerStats(p, len(obs), done, b[0].value if b else None, nh, broke))
    completed = sum(1 for o in history if o.outcome.status is Status.COMPLETED)
    keys = tuple(getattr(spec, "headline", ()) or ())
    headline = final_headline(summary.metrics, keys, completed if history else -1)
    if not headline and (completed or not history):
        metrics = {k: v for k, v in summary.metrics.items() if not k.startswith("final_")}
        headline = {k: float(v) for k, v in list(metrics.items())[:3]}
    subject_key = getattr(spec, "subject", "") if spec is not None else ""
    norm = str(params.get("norm", "") or "")
    return CampaignFacts(
        summary=summary,
        planner=str(params.get("planner", "")),
        subject=str(params.get(subject_key, "")) if subject_key else "",
        budget=_budget(summary, spec, len(history)),
        n_experiments=len(history),
        statuses=dict(Counter(o.outcome.status.value for o in history)),
        objective=objective if best else (hit or ""),
        direction=direction if best else "",
        best=best,
        hit_metric=hit,
        hits=hits,
        planners=planners,
        headline=headline,
        tried=_tried(history, spec),
        settings=settings_of(summary, _config(store, name)),
        rounds=round_rows(history, hit, objective if best else "", direction)
        if getattr(spec, "nesting", "round") == "round" or hit is not None
        else [],
        methods=method_rows(history, objective, direction) if best and not subsets else [],
        front=front_of(history, objectives, directions) if len(objectives) > 1 else [],
        objectives=tuple(objectives),
        subsets=subsets,
        breaks=breaks,
        stopped=stop_reason(summary),
        errors=error_lines(history),
        method_text=method_lines(history, breaks, objective) if subsets else [],
        threat=f"{norm}, eps {_num_text(params.get('eps'))}" if norm else "",
    )


def _num_text(v: Any) -> str:
    f = finite_float(v)
    return fmt(f) if f is not None else str(v)


def _config(store: Any, name: str) -> dict[str, Any]:
    """The campaign's recorded config (settings not logged as params), or {} where absent."""
    try:
        return dict(store.config(name))
    except Exception:  # an older store without one: the params say enough
        return {}
