"""The summary's account of a campaign of several objectives (written by :mod:`.summary_text`
and :mod:`.summary`). Pure: it reads no store.

Two cases, because one "best" would mislead in both:

* several objectives, a Pareto front (``--objective a,b``): no trial is best, the front is the
  answer. A best by the first objective alone named a trial another one dominates (better on
  every objective), so the summary lists the front and the front's runs are marked instead.
* a ``--desirability`` campaign none of whose trials met every range: every trial's
  desirability is 0, so the "best" was merely the first (ties go to the first). The summary
  says no trial met them and, per objective, how close the campaign came (which range is the
  hard one), as ``perturbo show`` does (:func:`unmet_lines`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from perturbo.types import Observation, Status

if TYPE_CHECKING:
    from perturbo.desirability import Desirability
    from perturbo.tracking.summary_text import CampaignFacts

FRONT_TAG = "perturbo.front"
"""Nested trial runs on the Pareto front are tagged ``perturbo.front=true`` (and named
" (front)"), as the one best is ``perturbo.best=true`` where there is one objective."""
FRONT_SUFFIX = " (front)"
_MAX_SHOWN = 12


def _fmt(v: float) -> str:
    return str(int(v)) if v == int(v) and abs(v) < 1e12 else f"{v:.6g}"


# --------------------------------------------------------------------------- Pareto front


def front_of(facts: CampaignFacts) -> list[Observation] | None:
    """The Pareto front (in history order) where the campaign has several objectives, the same
    trials as the ``pareto_front.json`` the recorder logs; None where it has one objective (a
    desirability campaign's planner has one: ``desirability``)."""
    from perturbo.objective import pareto_set

    names, dirs = tuple(facts.objectives), tuple(facts.directions)
    if len(names) < 2 or len(dirs) != len(names):
        return None
    return pareto_set(facts.history, names, dirs)


def front_tags(facts: CampaignFacts, front: Sequence[Observation]) -> dict[str, str]:
    """The parent run's tags of a front: every objective and direction (``perturbo show``
    reads a "," in ``perturbo.objective`` as "several: show the front, no one best") and the
    front's trial ids."""
    return {
        "perturbo.objective": ",".join(facts.objectives),
        "perturbo.direction": ",".join(facts.directions),
        "perturbo.front.size": str(len(front)),
        "perturbo.front.ids": ",".join(o.spec.id for o in front),
    }


def front_markdown(
    facts: CampaignFacts, front: Sequence[Observation], links: Mapping[str, str]
) -> list[str]:
    """The summary's "Pareto front" lines: each trial on it with every objective's value and
    its config (``links``: trial id -> link to its run, where it is marked)."""
    what = ", ".join(f"{n} ({d})" for n, d in zip(facts.objectives, facts.directions, strict=True))
    if not front:
        return [f"- Pareto front of {what}: no completed experiment yet"]
    names = list(facts.objectives)
    sign = 1.0 if facts.directions[0] == "max" else -1.0
    rows = sorted(front, key=lambda o: -sign * float(o.outcome.metrics[names[0]]))
    lines = [
        f"- Pareto front of {what}: **{len(front)} trials**, none beaten on every objective "
        "(no one trial is best: each trades one objective for another)",
        "",
        "| trial | " + " | ".join(names) + " | config |",
        "|---|" + "---:|" * len(names) + "---|",
    ]
    for o in rows[:_MAX_SHOWN]:
        link = links.get(o.spec.id, "")
        tid = f"[`{o.spec.id}`]({link})" if link else f"`{o.spec.id}`"
        vals = " | ".join(_fmt(float(o.outcome.metrics[n])) for n in names)
        lines.append(f"| {tid} | {vals} | {_short_params(o.spec.params)} |")
    if len(rows) > _MAX_SHOWN:
        lines.append(f"\n... and {len(rows) - _MAX_SHOWN} more (all: `pareto_front.csv`)")
    return lines


def front_description(facts: CampaignFacts, front: Sequence[Observation]) -> str:
    """The experiment description's sentence on the front."""
    if not front:
        return "No completed experiment yet."
    ids = ", ".join(f"`{o.spec.id}`" for o in front[:_MAX_SHOWN])
    more = f" and {len(front) - _MAX_SHOWN} more" if len(front) > _MAX_SHOWN else ""
    return f"Pareto front of {', '.join(facts.objectives)}: {len(front)} trials ({ids}{more})."


def _short_params(params: Mapping[str, Any]) -> str:
    items = [f"`{k}={_fmt(v) if isinstance(v, float) else v}`" for k, v in params.items()]
    return ", ".join(items[:6]) + (f" and {len(items) - 6} more" if len(items) > 6 else "")


# --------------------------------------------------------------------------- desirability


def none_met(facts: CampaignFacts, best: Observation | None) -> bool:
    """Whether ``facts`` is a desirability campaign whose best trial has desirability 0: no
    trial met every range (0 is not a value like others here: it is "unacceptable")."""
    from perturbo.desirability import DESIRABILITY

    if best is None or facts.objective != DESIRABILITY or not facts.params.get(DESIRABILITY):
        return False
    return not float(best.outcome.metrics.get(DESIRABILITY, 0.0)) > 0.0


def unmet_lines(history: Sequence[Observation], spec: Any) -> list[str]:
    """Per term of the desirability ``spec``, the best value the trials reached against its
    range, the terms none reached first (the hard ones): ``n_params: best 673, needs < 200
    (min:100..200): never met``. [] where the spec does not parse (written by another version)."""
    from perturbo.desirability import parse_desirability

    try:
        terms = parse_desirability(str(spec)).terms
    except Exception:  # noqa: BLE001 - a spec this version no longer reads
        return []
    done = [o for o in history if o.outcome.status is Status.COMPLETED]
    rows = [_closest(t, done) for t in terms]
    rows.sort(key=lambda r: r[0])  # never met first, in the spec's order (a stable sort)
    return [r[1] for r in rows]


def _closest(term: Desirability, done: Sequence[Observation]) -> tuple[bool, str]:
    """(met by some trial, its line) of one term: the value reached nearest its range."""
    vals = [float(o.outcome.metrics[term.name]) for o in done if term.name in o.outcome.metrics]
    vals = [v for v in vals if math.isfinite(v)]
    shape = f"{term.shape}:{term.spec().split(':', 2)[2]}"
    need = {
        "max": f"> {_fmt(term.low)}",
        "min": f"< {_fmt(term.high)}",
        "target": f"within {_fmt(term.low)}..{_fmt(term.high)}",
    }[term.shape]
    if not vals:
        return False, f"{term.name}: never measured, needs {need} ({shape})"
    if term.shape == "max":
        best = max(vals)
    elif term.shape == "min":
        best = min(vals)
    else:
        best = min(vals, key=lambda v: abs(v - term.target))
    met = float(term(best)) > 0.0
    tail = "met by some trials, not together with the others" if met else "never met"
    return met, f"{term.name}: best {_fmt(best)}, needs {need} ({shape}): {tail}"


def unmet_markdown(facts: CampaignFacts) -> list[str]:
    """The summary's lines where no trial met every desirability range."""
    from perturbo.desirability import DESIRABILITY

    n = sum(o.outcome.status is Status.COMPLETED for o in facts.history)
    lines = [
        f"- none yet: no trial met every desirability range (desirability 0 in all {n} "
        "completed trials), so none is marked best; closest per objective:"
    ]
    lines += [f"  - {ln}" for ln in unmet_lines(facts.history, facts.params.get(DESIRABILITY))]
    return lines


__all__ = [
    "FRONT_SUFFIX",
    "FRONT_TAG",
    "front_description",
    "front_markdown",
    "front_of",
    "front_tags",
    "none_met",
    "unmet_lines",
    "unmet_markdown",
]
