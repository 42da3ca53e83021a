"""The figures a person asks about a campaign beyond its best result: its settings, what each
round found, the hit genes, the attack methods tried, a Pareto front.

Computed from a campaign's summary and history (read through the store's read side) and
rendered as ``key value`` text by :mod:`perturbo.agents.chat.facts`; kind-agnostic (a 0/1
metric is read as hits, numeric params as settings, several objectives as a Pareto front).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from perturbo.types import Observation, Status

__all__ = [
    "RoundRow",
    "front_of",
    "lookup",
    "method_rows",
    "most_hits",
    "objectives_of",
    "pareto_front",
    "recorded_objective",
    "round_rows",
    "settings_of",
]

# Settings shown first, in this order, where a campaign has them; the rest follow.
_FIRST = ("kind", "planner", "seed", "batch", "rounds", "trials", "screen", "task", "model",
          "objective", "direction", "status", "started")  # fmt: skip
_SKIP = (
    "tracking_uri",
    "config_file",
    "cache_dir",
    "address",
    "name",
    "llm_base_url",
    "stopped_by",
)  # fmt: skip  (stopped_by: said on its own line)


def _num(v: Any) -> str:
    from perturbo.agents.chat.scores import fmt

    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    return fmt(f) if str(v).strip().lstrip("-").replace(".", "", 1).isdigit() else str(v)


def settings_of(summary: Any, config: Mapping[str, Any] | None = None) -> dict[str, str]:
    """A campaign's settings as text: kind, planner, seed, batch, budget, subject, objective,
    status, start time (UTC), then every other logged param, then the rest of its ``config``
    (e.g. the attack methods searched; lists joined by commas)."""
    params = {str(k): str(v) for k, v in dict(summary.params).items()}
    for k, v in dict(config or {}).items():
        if str(k) not in params and v is not None and not isinstance(v, dict):
            params[str(k)] = ",".join(map(str, v)) if isinstance(v, list | tuple) else str(v)
    out: dict[str, str] = {"kind": summary.kind}
    for k in _FIRST[1:-2]:
        if params.get(k) not in (None, "", "None"):
            out[k] = _num(params[k])
    out["status"] = str(summary.status)
    if summary.started:
        secs = summary.started / 1000 if summary.started > 1e11 else summary.started  # ms or s
        out["started"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(secs))
    for k, v in sorted(params.items()):
        if k in out or k in _SKIP or v in ("", "None") or len(v) > 80:
            continue
        out[k] = _num(v)
    return out


@dataclass(frozen=True)
class RoundRow:
    """One round (numbered from 1): experiments, completed, hits and running total, its best."""

    round: int
    n: int
    completed: int
    hits: int | None = None
    cumulative: int | None = None
    best: float | None = None
    hit_genes: tuple[str, ...] = ()

    def line(self, objective: str) -> str:
        from perturbo.agents.chat.scores import fmt

        out = f"round {self.round}: {self.n} experiments"
        if self.hits is not None:
            out += f", {self.hits} hits (cumulative {self.cumulative})"
            if self.hit_genes:
                out += f": {', '.join(self.hit_genes)}"
        if self.best is not None:
            out += f", best {objective} {fmt(self.best)}"
        return out


def _label(params: Mapping[str, Any]) -> str:
    return ",".join(str(v) for v in params.values())


def round_rows(
    history: Sequence[Observation], hit_metric: str | None, objective: str, direction: str
) -> list[RoundRow]:
    """Per round (in order, numbered 1..N): counts, hits and their genes, the round's best."""
    by_round: dict[int, list[Observation]] = {}
    for o in history:
        by_round.setdefault(o.spec.round, []).append(o)
    rows, total = [], 0
    seen: set[str] = set()
    for i, r in enumerate(sorted(by_round), 1):
        obs = by_round[r]
        done = [o for o in obs if o.outcome.status is Status.COMPLETED]
        hits = genes = None
        if hit_metric is not None:
            hit_obs = [o for o in done if o.outcome.metrics.get(hit_metric) == 1.0]
            genes = tuple(_label(o.spec.params) for o in hit_obs)
            hits = len(hit_obs)
            seen.update(genes)
            total = len(seen)
        best = None
        if objective:
            vals = [o.outcome.value(objective) for o in done]
            vals = [v for v in vals if math.isfinite(v)]
            if vals:
                best = min(vals) if direction == "min" else max(vals)
        rows.append(RoundRow(i, len(obs), len(done), hits, total if hits is not None else None,
                             best, genes or ()))  # fmt: skip
    return rows


def most_hits(rows: Sequence[RoundRow]) -> RoundRow | None:
    """The round that found the most hits (the first such round on a tie)."""
    rows = [r for r in rows if r.hits is not None]
    return max(rows, key=lambda r: (r.hits, -r.round)) if rows else None


def method_rows(
    history: Sequence[Observation], objective: str, direction: str
) -> list[dict[str, Any]]:
    """Per attack method (or any categorical ``method`` param): trials and its best value of
    ``objective``, best first."""
    rows: dict[str, dict[str, Any]] = {}
    sign = -1.0 if direction == "min" else 1.0
    for o in history:
        m = o.spec.params.get("method")
        if m is None:
            continue
        row = rows.setdefault(str(m), {"method": str(m), "trials": 0, "best": None, "eps": set()})
        row["trials"] += 1
        if "eps" in o.spec.params:
            row["eps"].add(float(o.spec.params["eps"]))
        v = o.outcome.value(objective) if objective else math.nan
        if o.outcome.status is Status.COMPLETED and math.isfinite(v):
            if row["best"] is None or sign * v > sign * row["best"]:
                row["best"] = v
    out = sorted(
        rows.values(),
        key=lambda r: (r["best"] is None, -sign * (r["best"] if r["best"] is not None else 0)),
    )
    for r in out:
        r["eps"] = sorted(r["eps"])
    return out


def pareto_front(
    history: Sequence[Observation], objectives: Sequence[str], directions: Sequence[str]
) -> list[Observation]:
    """The completed experiments no other one beats on every objective."""
    sign = [-1.0 if d == "min" else 1.0 for d in directions]
    done = []
    for o in history:
        vals = [o.outcome.value(k) for k in objectives]
        if o.outcome.status is Status.COMPLETED and all(math.isfinite(v) for v in vals):
            done.append((o, [s * v for s, v in zip(sign, vals, strict=True)]))
    front = []
    for o, v in done:
        beaten = any(
            all(b >= a for a, b in zip(v, w, strict=True))
            and any(b > a for a, b in zip(v, w, strict=True))
            for _, w in done
        )
        if not beaten:
            front.append(o)
    return front


def _key(value: Any) -> str:
    """How a looked-up word meets a recorded value: stripped, case ignored (a gene symbol is
    matched so by the genetic kind, which records a mouse screen's ``Cd247`` as spelled)."""
    return str(value).strip().upper()


def _symbol_like(word: str) -> bool:
    """Whether a word not found reads as a gene symbol, worth a "not tested": upper case
    (``IFNG``) or a capitalised symbol with a digit (a mouse ``Cd247``); 3+ characters."""
    mixed = word[:1].isupper() and any(c.isdigit() for c in word)
    return len(word) >= 3 and (word.isupper() or mixed)


def lookup(
    history: Sequence[Observation], words: Sequence[str], hit_metric: str | None, name: str
) -> list[str]:
    """What the campaign did with the experiments ``words`` name (a gene, a method): where
    each was tested, its outcome, and whether it was a hit; said plainly where it was not.
    Words meet the recorded values ignoring case (``CD247`` finds a recorded ``Cd247``) and
    are answered in the recorded spelling."""
    from perturbo.agents.chat.scores import fmt

    spelled: dict[str, str] = {}  # key -> the first recorded spelling
    for o in history:
        for v in o.spec.params.values():
            spelled.setdefault(_key(v), str(v))
    lines = []
    for w in dict.fromkeys(_key(w) for w in words):
        if w not in spelled:
            said = next(x for x in words if _key(x) == w).strip()
            if hit_metric is not None and _symbol_like(said):
                lines.append(f"{said} was not tested in {name}.")
            continue
        obs = [o for o in history if w in {_key(v) for v in o.spec.params.values()}]
        shown = spelled[w]
        rounds = sorted({o.spec.round + 1 for o in obs})
        where = f"round {', '.join(map(str, rounds))}"
        if hit_metric is not None:
            hit = [o for o in obs if o.outcome.metrics.get(hit_metric) == 1.0]
            verdict = "was a hit" if hit else "was tested but is not a hit"
            lines.append(f"{shown} {verdict} in {name} ({where}, {hit_metric} = {int(bool(hit))}).")
        else:
            told = "; ".join(
                f"{o.spec.id}: "
                + ", ".join(f"{k} {fmt(v)}" for k, v in list(o.outcome.metrics.items())[:4])
                for o in obs[:4]
            )
            lines.append(f"{shown} in {name}: {len(obs)} experiments ({where}): {told}.")
    return lines


def _split(text: Any) -> list[str]:
    return [x.strip() for x in str(text or "").split(",") if x.strip()]


def recorded_objective(summary: Any) -> tuple[list[str], list[str]]:
    """The objective metrics and directions the campaign recorded (its parent run's
    ``perturbo.objective``/``perturbo.direction`` tags, written by the recorder); empty for a
    campaign recorded before them (or one still running its first round)."""
    tags = {**dict(getattr(summary, "tags", {}) or {}), **dict(summary.run_tags or {})}
    objs, dirs = _split(tags.get("perturbo.objective")), _split(tags.get("perturbo.direction"))
    if not objs or len(dirs) != len(objs) or any(d not in ("min", "max") for d in dirs):
        return [], []
    return objs, dirs


def objectives_of(
    summary: Any, history: Sequence[Observation], *, findings: bool = False
) -> tuple[list[str], list[str]]:
    """The campaign's objective metrics and directions, as it recorded them: its
    ``objective``/``direction`` params where they name metrics, else the recorder's
    ``perturbo.objective``/``perturbo.direction`` tags (a kind that names its objective by a
    word, e.g. attack's ``robust``, records the metric there). Only a campaign recorded
    before those tags has its direction guessed (from its ``best_<metric>`` figure).
    ``findings``: the kind finds things (a screen's hits): its recorded objective is the hit
    label, which the chat reports as hits, not as a best value."""
    keys = {k for o in history if o.outcome.status is Status.COMPLETED for k in o.outcome.metrics}
    objs, dirs = _split(summary.params.get("objective")), _split(summary.params.get("direction"))
    t_objs, t_dirs = ([], []) if findings else recorded_objective(summary)
    if objs and all(o in keys for o in objs):
        if len(dirs) != len(objs) or any(d not in ("min", "max") for d in dirs):
            dirs = t_dirs if t_objs == objs else [d if d in ("min", "max") else "max" for d in dirs]
        return objs, (dirs + ["max"] * len(objs))[: len(objs)]
    if t_objs:  # recorded: no guess (a failed campaign's objective too, with nothing to rank)
        return t_objs, t_dirs
    dirs = [d for d in dirs if d in ("min", "max")]
    for k, v in summary.metrics.items():  # best_robust_accuracy, worst_case_robust_accuracy
        prefix = next((p for p in ("best_", "worst_case_") if k.startswith(p)), None)
        if prefix is None or k[len(prefix) :] not in keys:
            continue
        metric = k[len(prefix) :]
        vals = [o.outcome.value(metric) for o in history]
        vals = [x for x in vals if math.isfinite(x)]
        d = dirs[0] if dirs else ("min" if vals and math.isclose(min(vals), v) else "max")
        return [metric], [d]
    return [], []


def front_of(
    history: Sequence[Observation], objectives: Sequence[str], directions: Sequence[str]
) -> list[dict[str, Any]]:
    return [
        {"id": o.spec.id, "round": o.spec.round + 1, "params": dict(o.spec.params),
         "values": {k: o.outcome.value(k) for k in objectives}}
        for o in pareto_front(history, objectives, directions)
    ]  # fmt: skip
