"""What a campaign found, said the way people ask for it: "12 of 45 hits found (27%) in 256
experiments", and which ones, round by round.

A kind whose experiments *find* things (a screen's hits) says so in its
:attr:`~perturbo.kindspec.KindSpec.findings`: which 0/1 outcome metric marks a find, which param
names what was tested, which metrics count the finds and their share, and which param holds how
many there are to find. The core (``perturbo show``, the MLflow summary, the ``hits.csv``
artifact) reads those names and never a kind's. A kind without findings (an attack, a tuning
run) is summarised by its own headline metrics instead.

Rounds here are the loop's (0-based); people read ``round + 1``, which is also what the store
records for new campaigns (:mod:`perturbo.tracking.layout`).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from perturbo.types import Observation, Status


@dataclass(frozen=True)
class Findings:
    """What a kind counts as found (all names are the kind's metrics and params).

    - ``noun``: what finds are called, plural ("hits"); ``one``: one find ("hit"; where
      empty, the noun less its final "s"), so a headline says "1 hit", not "1 hits".
    - ``label``: the outcome metric that is 1 on a find ("hit").
    - ``subjects``: the params that name what an experiment tested; the first one present is
      used ("gene", or "pair" in a pair screen).
    - ``score``: the outcome metric listed beside each find ("score").
    - ``count`` / ``share``: the per-round metrics of finds so far and their share of all
      ("hits_total", "hit_ratio"): the headline without reading the history.
    - ``total``: the param holding how many there are to find ("screen_hits"); where it is
      absent the total is ``count / share``, else unknown.
    - ``file``: the CSV on the parent run that lists the finds ("hits.csv").
    """

    noun: str = "hits"
    one: str = ""
    label: str = "hit"
    subjects: tuple[str, ...] = ("gene",)
    score: str = "score"
    count: str = ""
    share: str = ""
    total: str = ""
    file: str = "hits.csv"


@dataclass(frozen=True)
class Found:
    """One find: what was tested, the loop's round it was found in (0-based), its score, and
    the param that names it (``gene``)."""

    subject: str
    round: int
    score: float
    param: str = ""


def subject_of(findings: Findings, params: Mapping[str, object]) -> str | None:
    """What an experiment with ``params`` tested (its first subject param), else ``None``."""
    key = next((k for k in findings.subjects if k in params), None)
    return None if key is None else str(params[key])


def found(findings: Findings, history: Sequence[Observation]) -> list[Found]:
    """The finds in ``history``, in the order they were made: each subject once (its first
    completed result decides), where its ``label`` is 1."""
    seen: set[str] = set()
    out: list[Found] = []
    for o in history:
        if o.outcome.status is not Status.COMPLETED:
            continue
        key = next((k for k in findings.subjects if k in o.spec.params), None)
        subject = None if key is None else str(o.spec.params[key])
        if key is None or subject is None or subject in seen:
            continue
        seen.add(subject)
        if o.outcome.value(findings.label) > 0.5:
            score = float(o.outcome.metrics.get(findings.score, math.nan))
            out.append(Found(subject, o.spec.round, score, key))
    return out


def n_experiments(history: Sequence[Observation]) -> int:
    """Experiments that ran (every one but the proposals rejected before running)."""
    return sum(o.outcome.status is not Status.REJECTED for o in history)


def total_of(
    findings: Findings, params: Mapping[str, object], metrics: Mapping[str, float]
) -> int | None:
    """How many there are to find: the ``total`` param, else ``count / share`` from the
    metrics, else ``None`` (unknown)."""
    raw = params.get(findings.total) if findings.total else None
    if raw is not None and str(raw).strip().isdigit():
        return int(str(raw).strip())
    n, share = metrics.get(findings.count), metrics.get(findings.share)
    if n is not None and share is not None and share > 0 and math.isfinite(share):
        return round(n / share)
    return None


def _pct(n: int, total: int) -> str:
    p = 100.0 * n / total
    return f"{p:.0f}%" if p == 0 or p >= 10 else f"{p:.1f}%"


def _noun(findings: Findings, n: int) -> str:
    """The noun for ``n`` finds: singular for exactly one ("1 hit", "1 of 1 hit")."""
    if n != 1:
        return findings.noun
    return findings.one or (findings.noun[:-1] if findings.noun.endswith("s") else findings.noun)


def headline_text(findings: Findings, n: int, total: int | None, experiments: int) -> str:
    """ "12 of 45 hits found (27%) in 256 experiments" (or "12 hits in 256 experiments" where
    the total is unknown; "1 hit in 1 experiment": the count decides the noun's number)."""
    exps = f"{experiments} experiment{'s' if experiments != 1 else ''}"
    if total:
        return f"{n} of {total} {_noun(findings, total)} found ({_pct(n, total)}) in {exps}"
    return f"{n} {_noun(findings, n)} in {exps}"


def headline_of_history(
    findings: Findings,
    history: Sequence[Observation],
    params: Mapping[str, object],
    metrics: Mapping[str, float],
) -> str:
    """The headline, counted from the recorded observations."""
    return headline_text(
        findings,
        len(found(findings, history)),
        total_of(findings, params, metrics),
        n_experiments(history),
    )


def headline_of_metrics(
    findings: Findings,
    params: Mapping[str, object],
    metrics: Mapping[str, float],
    experiments: int | None,
) -> str | None:
    """The headline from a campaign's last metrics (no history read): ``None`` where the
    ``count`` metric is not there yet."""
    n = metrics.get(findings.count) if findings.count else None
    if n is None or not math.isfinite(n):
        return None
    total = total_of(findings, params, metrics)
    if experiments is None:
        return headline_text(findings, int(n), total, 0).rsplit(" in ", 1)[0]
    return headline_text(findings, int(n), total, experiments)


def by_round(rows: Sequence[Found]) -> dict[int, list[Found]]:
    """The finds grouped by the loop's round, rounds in order."""
    out: dict[int, list[Found]] = {}
    for f in sorted(rows, key=lambda f: f.round):
        out.setdefault(f.round, []).append(f)
    return out


def to_csv(findings: Findings, rows: Sequence[Found], round_base: int = 1) -> str:
    """The finds as CSV: the subject param's name (``gene``), ``round`` (numbered from
    ``round_base``: 1, as people count), ``score``."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    param = rows[0].param if rows and rows[0].param else None
    w.writerow(
        [param or (findings.subjects[0] if findings.subjects else "subject"), "round", "score"]
    )
    for f in rows:
        w.writerow([f.subject, f.round + round_base, repr(f.score)])
    return buf.getvalue()


__all__ = [
    "Found",
    "Findings",
    "by_round",
    "found",
    "headline_of_history",
    "headline_of_metrics",
    "headline_text",
    "n_experiments",
    "subject_of",
    "to_csv",
    "total_of",
]
