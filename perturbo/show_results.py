"""What ``perturbo show`` says a campaign found: the found line ("12 of 45 hits found (27%)
in 256 experiments"), ``--hits`` by round, the best experiment (or round) with its parameters,
and a Pareto front where a campaign has several objectives. Rounds are numbered 1..N whichever
numbering the store recorded them in. It never names a kind.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from perturbo.kindspec import shown_params
from perturbo.types import CampaignSummary, PerturboError, Status


def fmt(v: float) -> str:
    """A number as ``show`` prints it: whole numbers without a point, else 4 digits."""
    return str(int(v)) if v == int(v) and abs(v) < 1e9 else f"{v:.4g}"


def best_trial(history: Sequence[Any], objective: str, direction: str) -> Any | None:
    """The completed experiment with the best ``objective`` (None where none completed): the
    store's rule (:func:`perturbo.tracking.summary_text.best_observation`), so `show` names
    the trial the recorder marked."""
    from perturbo.tracking.summary_text import best_observation

    return best_observation(history, objective, direction)


def _is_zero(value: str) -> bool:
    try:
        return float(value) == 0.0
    except ValueError:
        return False


def _round_base(summary: CampaignSummary) -> int:
    from perturbo.tracking.layout import round_base

    return round_base(summary.run_tags)


def found_line(spec: Any, summary: CampaignSummary, history: Sequence[Any]) -> str:
    """What the campaign found, counted from its recorded experiments ("" for a kind without
    findings: its headline metrics are in the rounds table). Experiments that failed gave no
    result (a lab's dropped genes): counted among the experiments, as the campaign's metrics and
    the chat count them, and said apart ("in 96 experiments (4 failed: ...)")."""
    from perturbo.findings import headline_of_history

    findings = getattr(spec, "findings", None)
    if findings is None:
        keys = spec.headline if spec is not None else ()
        last = {k: v for k, v in summary.metrics.items() if not k.startswith("final_")}
        for k in keys:  # a headline metric logged only at the end (final_k) counts too
            if k not in last and f"final_{k}" in summary.metrics:
                last[k] = summary.metrics[f"final_{k}"]
        shown = [k for k in keys if k in last][:2]
        return ", ".join(f"{k} = {fmt(last[k])}" for k in shown)
    metrics = {k: v for k, v in summary.metrics.items() if not k.startswith("final_")}
    failed = sum(o.outcome.status is Status.FAILED for o in history)
    line = headline_of_history(findings, history, summary.params, metrics)  # failed counted
    return line + (f" ({failed} failed: no result, not counted as tested)" if failed else "")


def hits_lines(spec: Any, summary: CampaignSummary, history: Sequence[Any]) -> list[str]:
    """``--hits``: the finds by round (1..N), one line per round, every one shown."""
    from perturbo.findings import by_round, found

    findings = getattr(spec, "findings", None)
    if findings is None:
        article = "an" if summary.kind[:1] in "aeiou" else "a"
        what = f"{article} {summary.kind!r} campaign" if summary.kind else "this campaign"
        raise PerturboError(
            f"--hits: {summary.name!r} is {what}, whose experiments find no hits; drop --hits "
            "(its result is the headline above: `perturbo show " + summary.name + "`)"
        )
    finds = found(findings, history)
    if not finds:
        return [f"  no {findings.noun} found yet"]
    lines = [f"  {findings.noun} by round ({finds[0].param} score):"]
    rows = by_round(finds)
    for rnd, fs in rows.items():
        items = ", ".join(
            f"{f.subject} {fmt(f.score)}" if math.isfinite(f.score) else f.subject for f in fs
        )
        lines.append(f"    round {rnd + 1} ({len(fs)}): {items}")
    return lines


MAX_FRONT = 12
"""Trials of a Pareto front ``show`` lists (the rest are counted, and in pareto_front.csv)."""


def _pareto_lines(store: Any, name: str, summary: CampaignSummary) -> list[str]:
    """A campaign of several objectives: its Pareto front, every objective of each trial on it
    (the ``pareto_front.json`` the recorder wrote at the end; before that, or where a campaign
    was stopped early, the front of its history: one best of the first objective alone would
    name a trial another one beats on every objective)."""
    import json
    import tempfile
    from pathlib import Path

    listed = getattr(store, "artifacts", None)
    if callable(listed) and "pareto_front.json" in listed(name):
        with tempfile.TemporaryDirectory(prefix="perturbo-show-") as tmp:
            saved = json.loads(Path(store.download(name, "pareto_front.json", tmp)).read_text())
    else:
        saved = _front_of_history(store, name, summary)
    names, dirs = list(saved.get("objectives", [])), list(saved.get("directions", []))
    rows = list(saved.get("trials", []))
    if len(names) < 2 or len(dirs) != len(names):
        return []
    sign = 1.0 if dirs[0] == "max" else -1.0
    rows.sort(key=lambda r: -sign * float(r["values"].get(names[0], math.nan)))
    what = ", ".join(f"{n} ({d})" for n, d in zip(names, dirs, strict=True))
    lines = [f"  Pareto front of {what}: {len(rows)} trials, none beaten on every objective"]
    for r in rows[:MAX_FRONT]:
        vals = "  ".join(f"{n}={fmt(float(r['values'][n]))}" for n in names if n in r["values"])
        lines.append(f"    {r['id']}: {vals}")
    if len(rows) > MAX_FRONT:
        lines.append(f"    ... and {len(rows) - MAX_FRONT} more (pareto_front.csv on the run)")
    return lines


def _front_of_history(store: Any, name: str, summary: CampaignSummary) -> dict[str, Any]:
    """``pareto_front.json``'s content computed from the history ({} with one objective)."""
    from perturbo.objective import pareto_set

    names = str(summary.params.get("objective", "") or "").split(",")
    dirs = str(summary.params.get("direction", "") or "").split(",")
    if len(names) < 2 or len(dirs) != len(names):
        return {}
    front = pareto_set(store.history(name), names, dirs)
    rows = [{"id": o.spec.id, "values": {n: o.outcome.metrics[n] for n in names}} for o in front]
    return {"objectives": names, "directions": dirs, "trials": rows}


def _unmet(
    store: Any, name: str, summary: CampaignSummary, objective: str, value: float
) -> list[str]:
    """A desirability campaign none of whose trials met every range (its best desirability
    is 0: the "best" would merely be the first trial): say so and how close each objective
    came; [] otherwise."""
    from perturbo.desirability import DESIRABILITY
    from perturbo.tracking.summary_multi import unmet_lines

    spec = summary.params.get(DESIRABILITY)
    if objective != DESIRABILITY or not spec or value > 0:
        return []
    closest = unmet_lines(store.history(name), spec)
    return [
        "  no trial met every desirability range yet (desirability 0 in every trial); closest:"
    ] + [f"    {ln}" for ln in closest]


def best_lines(store: Any, name: str, summary: CampaignSummary, spec: Any = None) -> list[str]:
    """The best experiment and its parameters (the recorder's marks; else computed from the
    history for campaigns recorded before it wrote them), less the kind's (``spec``) internal
    ones; or what the kind says instead where a per-trial best would mislead
    (:attr:`~perturbo.kindspec.KindSpec.shown_best`: an attack cascade's result)."""
    import json

    instead = getattr(spec, "shown_best", None)
    if instead is not None:
        lines = instead(summary, lambda: store.history(name))
        if lines is not None:
            return list(lines)
    marks = getattr(store, "best_marks", None)
    t = marks(name) if callable(marks) else {}
    if "perturbo.best.round_metric" in t:  # a round is what people read: its best round
        found = getattr(spec, "findings", None)
        metric, _, value = str(t["perturbo.best.round_metric"]).partition("=")
        if found is not None and _is_zero(value):  # the best round found nothing: none is
            return [f"  best round: none yet, no {found.noun} found ({metric}=0 in every round)"]
        shown = int(t["perturbo.best.round"]) - _round_base(summary) + 1  # 1..N either way
        return [f"  best round: {shown} ({t['perturbo.best.round_metric']})"]
    front = _pareto_lines(store, name, summary)  # several objectives: all, not the first
    if front:
        return front
    objective = t.get("perturbo.objective") or str(summary.params.get("objective", "") or "")
    direction = t.get("perturbo.direction") or str(summary.params.get("direction", "max") or "max")
    if not objective or "," in objective:
        return []
    if "perturbo.best.id" in t and "perturbo.best.value" in t:
        bid, value = t["perturbo.best.id"], float(t["perturbo.best.value"])
        params = json.loads(t.get("perturbo.best.params", "{}") or "{}")
        planner = ""
    else:
        best = best_trial(store.history(name), objective, direction)
        if best is None:
            return [f"  no completed experiment yet ({objective}, {direction})"]
        bid, value = best.spec.id, float(best.outcome.metrics[objective])
        params, planner = dict(best.spec.params), best.spec.planner
    unmet = _unmet(store, name, summary, objective, value)
    if unmet:
        return unmet
    by = f", planner {planner}" if planner else ""
    lines = [f"  best {objective} ({direction}) = {fmt(value)}: experiment {bid}{by}"]
    cache: list[Any] = []

    def found() -> Any:  # the best trial's record: read once, only where a line needs it
        if not cache:
            cache.append(next((o for o in store.history(name) if o.spec.id == bid), None))
        return cache[0]

    lines += _measured_lines(found, summary)
    lines += _fidelity_lines(found, summary)
    shown = shown_params(spec, params).items()
    lines += [f"    {k} = {fmt(v) if isinstance(v, float) else v}" for k, v in shown]
    return lines


def _measured_lines(found: Any, summary: CampaignSummary) -> list[str]:
    """A desirability campaign's best, in the user's own metrics: a desirability of 0.86 says
    little until it reads ``loss=0.07 (d=0.86)  size=1 (d=1)``."""
    from perturbo.desirability import d_name, parse_desirability

    spec = summary.params.get("desirability")
    if not spec:
        return []
    try:
        names = parse_desirability(str(spec)).names
    except Exception:  # a spec this version no longer reads: show the rest
        return []
    best = found()
    if best is None:
        return []
    m = best.outcome.metrics
    parts = [
        f"{n}={fmt(float(m[n]))}" + (f" (d={fmt(float(m[d_name(n)]))})" if d_name(n) in m else "")
        for n in names
        if n in m
    ]
    return [f"    measured: {'  '.join(parts)}"] if parts else []


def _fidelity_lines(found: Any, summary: CampaignSummary) -> list[str]:
    """An ``mf-bo`` campaign's best is chosen among the trials at the top fidelity reached
    (:func:`perturbo.objective.at_top_fidelity`): say so, and say when none was trained in
    full, or a better-looking cheap trial in the table reads as a wrong best."""
    from perturbo.objective import FIDELITY_SHARE

    if summary.params.get("planner") != "mf-bo":
        return []
    best = found()
    share = None if best is None else best.outcome.metrics.get(FIDELITY_SHARE)
    if share is None:
        return []
    if share >= 1.0:
        return ["    trained in full (mf-bo's cheaper looks are not counted as results)"]
    return [
        f"    at {share:.0%} of the full fidelity, the highest reached: none trained in full yet "
        "(`perturbo resume` with more --trials)"
    ]


__all__ = ["MAX_FRONT", "best_lines", "best_trial", "fmt", "found_line", "hits_lines"]
