"""Comparing and ranking campaigns, with the arithmetic done here (sums, differences, which
is higher), so a model never has to add two numbers.

Works on :class:`~perturbo.agents.chat.facts.CampaignFacts`; a figure is compared only
between campaigns that have it (hits between campaigns with a hit label, a best value between
campaigns with the same objective and direction).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from perturbo.agents.chat.facts import CampaignFacts, fmt

__all__ = ["compare", "leaders", "rank"]

# What "by" may name, and how a campaign is scored on it (higher first unless noted).
MEASURES = ("hits", "hit_ratio", "best", "experiments", "rounds", "started")


def _figures(f: CampaignFacts) -> dict[str, float | None]:
    return {
        "hits": float(f.n_hits) if f.n_hits is not None else None,
        "hit_ratio": f.hit_ratio,
        "best": f.best_value,
        "experiments": float(f.n_experiments),
        "rounds": float(len(f.rounds) or f.summary.rounds),
        "started": float(f.summary.started) if f.summary.started else None,
    }


def _pair(label: str, unit: str, fs: Sequence[CampaignFacts], get: Callable[[Any], Any], low_better: bool = False, total: bool = True) -> list[str]:  # fmt: skip
    """``label``: each campaign's value, their total, and (for two) the difference and which
    is higher (or better)."""
    vals = [(f.name, get(f)) for f in fs]
    vals = [(n, v) for n, v in vals if v is not None]
    if len(vals) < 2:
        return []
    each = ", ".join(f"{n} {fmt(v)}{unit}" for n, v in vals)
    together = f"; together {fmt(sum(v for _, v in vals))}{unit}" if total else ""
    lines = [f"{label}: {each}{together}."]
    ordered = sorted(vals, key=lambda x: x[1], reverse=not low_better)
    (n1, v1), (n2, v2) = ordered[0], ordered[1]
    word = "better" if low_better else "higher"
    if len(vals) == 2:
        if v1 == v2:
            lines.append(f"{label}: the same for both ({fmt(v1)}{unit}); difference 0.")
        else:
            diff = fmt(abs(v1 - v2))
            lines.append(
                f"{label}: {n1} is {word} than {n2} by {diff}{unit} ({fmt(v1)} vs {fmt(v2)}); "
                f"difference {diff}."
            )
    else:
        lines.append(f"{word.capitalize()} {label.lower()}: {n1} ({fmt(v1)}{unit}).")
    return lines


def compare(fs: Sequence[CampaignFacts]) -> tuple[str, dict[str, Any]]:
    """Two or more campaigns side by side: their settings and results, and every figure they
    share compared (totals, difference, which is higher)."""
    lines = [
        f"{f.name}: {f.summary.kind}, planner {f.planner or '?'}, "
        + (f"{f.threat}, " if f.threat else "")
        + ", ".join(f"{k} {f.settings[k]}" for k in ("seed", "batch") if k in f.settings)
        + f", {f.n_experiments} experiments, {f.budget}; {f.result_line()}"
        for f in fs
    ]
    hitters = [f for f in fs if f.n_hits is not None]
    lines += _pair("Hits", " hits", hitters, lambda f: f.n_hits)
    lines += _pair("Hit ratio", "", hitters, lambda f: f.hit_ratio, total=False)
    lines += _pair("Experiments", "", fs, lambda f: f.n_experiments)
    groups = _scales(fs)
    for (obj, d, threat), g in groups.items():
        label = _label(obj)
        label = label[0].upper() + label[1:] + (f" ({threat})" if threat else "")
        lines += _pair(label, "", g, lambda f: f.best_value, d == "min", total=False)
    apart = _apart(groups)
    lines += apart
    verdict = _verdict(fs, hitters, groups, bool(apart))
    lines.append(verdict)
    data = {"campaigns": [f.data() for f in fs], "verdict": verdict}
    if len(fs) == 2:
        data.update(first=fs[0].data(), second=fs[1].data())
    return "\n".join(lines), data


Scale = tuple[str, str, str]
"""What campaigns compare on: (figure, direction, threat model: "" outside attacks)."""


def _label(obj: str) -> str:
    """A figure's name: the best experiment's objective, or a campaign-wide worst case."""
    return (
        f"worst-case {obj[len('worst_case_') :]}"
        if obj.startswith("worst_case_")
        else f"best {obj}"
    )


def _scales(fs: Sequence[CampaignFacts]) -> dict[Scale, list[CampaignFacts]]:
    """The campaigns with a figure to compare (:attr:`CampaignFacts.score`), by its scale."""
    groups: dict[Scale, list[CampaignFacts]] = {}
    for f in fs:
        if f.score is not None:
            groups.setdefault((f.score[0], f.score[2], f.threat), []).append(f)
    return groups


def _apart(groups: dict[Scale, list[CampaignFacts]]) -> list[str]:
    """Why campaigns on one figure under different threat models are not compared."""
    by_figure: dict[tuple[str, str], list[Scale]] = {}
    for key in groups:
        by_figure.setdefault(key[:2], []).append(key)
    out = []
    for (obj, _), keys in by_figure.items():
        if len(keys) < 2:
            continue
        each = "; ".join(
            f"{k[2] or 'no threat model'}: {', '.join(f.name for f in groups[k])}" for k in keys
        )
        out.append(
            f"{obj} not compared across threat models ({each}): a robust accuracy under one "
            "norm and eps says nothing about another; compare campaigns with the same norm and eps."
        )
    return out


def _verdict(
    fs: Sequence[CampaignFacts],
    hitters: Sequence[CampaignFacts],
    groups: dict[Scale, list[CampaignFacts]],
    apart: bool = False,
) -> str:
    if len(hitters) == len(fs) and len({f.subject for f in fs}) == 1:
        rate = {f.name: (f.n_hits or 0) / max(1, f.n_experiments) for f in fs}
        win = max(fs, key=lambda f: rate[f.name])
        return f"{win.name} found more hits per experiment ({win.n_hits} in {win.n_experiments})."
    if apart:
        return "No winner: they were attacked under different threat models (see above)."
    if len(groups) == 1 and sum(map(len, groups.values())) == len(fs):
        (obj, d, _), g = next(iter(groups.items()))
        sign = -1 if d == "min" else 1
        win = max(g, key=lambda f: sign * (f.best_value or 0.0))
        return f"{win.name} has the better {_label(obj)} ({fmt(win.best_value)}, {d})."
    return "They measure different things, so neither is better on one scale."


def rank(fs: Sequence[CampaignFacts], by: str | None = None) -> tuple[str, dict[str, Any]]:
    """The campaigns ranked ``by`` one measure (:data:`MEASURES`; default hits where any has
    hits, else best), then the leader and the total of every measure."""
    if not fs:
        return "No campaigns to rank.", {"ranking": []}
    by = by if by in MEASURES else ("hits" if any(f.n_hits is not None for f in fs) else "best")
    lines = []
    ranked: list[dict[str, Any]] = []
    if by == "best":
        groups = _scales(fs)
        for (obj, d, threat), g in groups.items():
            g = sorted(g, key=lambda f: f.best_value or 0.0, reverse=d == "max")
            under = f" under {threat}" if threat else ""
            lines.append(
                f"Ranked by {_label(obj)} ({d}){under}: "
                + "; ".join(f"{i}. {f.name} {fmt(f.best_value)}" for i, f in enumerate(g, 1))
                + f". Best {obj}: {g[0].name} ({fmt(g[0].best_value)})."
            )
            ranked += [{"name": f.name, "objective": obj, "value": f.best_value,
                        **({"threat": threat} if threat else {})} for f in g]  # fmt: skip
        lines += _apart(groups)
    else:
        have = [f for f in fs if _figures(f)[by] is not None]
        have.sort(key=lambda f: _figures(f)[by] or 0.0, reverse=True)
        unit = {"hits": " hits", "experiments": " experiments", "rounds": " rounds"}.get(by, "")
        shown = (
            (lambda f: f.settings.get("started", "?"))
            if by == "started"
            else (lambda f: f"{fmt(_figures(f)[by])}{unit}")
        )
        lines.append(
            f"Ranked by {by.replace('_', ' ')}: "
            + "; ".join(f"{i}. {f.name} {shown(f)}" for i, f in enumerate(have, 1))
            + "."
        )
        ranked = [{"name": f.name, by: _figures(f)[by]} for f in have]
    lines += leaders(fs)
    lines += [f"- {f.name}: {f.summary.kind}, planner {f.planner}; {f.result_line()}" for f in fs]
    return "\n".join(lines), {"by": by, "ranking": ranked, "campaigns": [f.data() for f in fs]}


def leaders(fs: Sequence[CampaignFacts]) -> list[str]:
    out = []
    hitters = [f for f in fs if f.n_hits is not None]
    if hitters:
        top = max(hitters, key=lambda f: f.n_hits or 0)
        total = sum(f.n_hits or 0 for f in hitters)
        out.append(
            f"Most hits: {top.name} ({top.n_hits} hits); total hits of the "
            f"{len(hitters)} campaigns with hits: {total}."
        )
        rated = [f for f in hitters if f.hit_ratio is not None]
        if rated:
            hr = max(rated, key=lambda f: f.hit_ratio or 0.0)
            out.append(f"Highest hit ratio: {hr.name} ({fmt(hr.hit_ratio)}).")
    most = max(fs, key=lambda f: f.n_experiments)
    out.append(
        f"Most experiments: {most.name} ({most.n_experiments}); total experiments: "
        f"{sum(f.n_experiments for f in fs)}."
    )
    dated = [f for f in fs if f.summary.started]
    if len(dated) > 1:
        new = max(dated, key=lambda f: f.summary.started)
        old = min(dated, key=lambda f: f.summary.started)
        out.append(
            f"Newest: {new.name} (started {new.settings.get('started')}); oldest: {old.name} "
            f"(started {old.settings.get('started')})."
        )
    return out
