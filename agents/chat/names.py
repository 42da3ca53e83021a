"""Which of the store's campaigns a message means, or that it names none of them.

A campaign is matched by its full name, a unique prefix or part of it, or by the words that
describe it: its kind (and the words people use for a kind: "screen", "search", "attack"),
its planner, its subject (screen, task, model) and the parts of its name. Descriptive words
that point to exactly one kind of thing (a planner, a kind, a subject) are *hard*: a campaign
must have every one the message uses, so "the optuna screen campaign" in a store without one
is unknown, never another campaign. A name-like word that matches nothing ("bench-nope-xyz",
a quoted name, "the foo campaign") is returned as unknown, and the tools then say the name is
unknown and list the store's campaigns.

Kind-agnostic: everything is read from the campaigns' summaries (kind, params).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from perturbo.types import PerturboError

__all__ = ["Match", "match", "resolve", "unknown_error"]

# The words people use for a kind (a kind's own name always counts too).
KIND_WORDS = {
    "genetic": ("genetic", "screen", "screens", "screening", "crispr", "knockout", "gene", "genes"),
    "hyperparameter": ("hyperparameter", "hyperparameters", "hpo", "tuning", "search", "searches"),
    "attack": ("attack", "attacks", "adversarial", "robustness"),
}  # fmt: skip
# Planners perturbo knows (so a planner the store lacks is recognised as one).
PLANNERS = frozenset(
    "random bo sobol evolution evolutionary optuna tpe cmaes optuna-tpe optuna-cmaes agent "
    "hybrid asha llm".split()
)
# The words people use for a planner (a planner's own name always counts too).
PLANNER_WORDS = {
    "bo": ("bayesian", "bayes", "gaussian-process", "gp"),
    "sobol": ("quasi-random", "quasirandom", "low-discrepancy"),
    "evolution": ("evolutionary", "cma-es", "cmaes"),
    "agent": ("llm", "language-model"),
}
# Words that may stand before "campaign" without being a name.
_MODIFIERS = frozenset(
    "the a an this that these those its their my our your latest newest oldest last first "
    "second third other both two three four five each every all any which what same one "
    "finished running failed killed completed new old previous earlier best worst whole "
    "entire single own many much some several current recent whole main campaigns".split()
)
_CAMPAIGN = r"(?:campaigns?|runs?|experiments?|studies|study)"


@dataclass(frozen=True)
class Match:
    """The campaigns ``text`` names (best first) and name-like words that match none."""

    names: tuple[str, ...]
    unknown: tuple[str, ...] = ()
    exact: bool = False  # named by (a unique part of) its name, not by description
    described: bool = False  # the words name a planner or a subject (not only a kind)


def _parts(name: str) -> list[str]:
    return [p for p in re.split(r"[-_\s]+", name.lower()) if p]


def _facets(c: Any) -> dict[str, set[str]]:
    """The words that describe campaign summary ``c``, by facet: its kind (with the words
    people use for it), planner, subject (screen, task, model) and the parts of its name.
    A campaign without params (a bare name) takes its planner from its name's parts."""
    params = {k: str(v).lower() for k, v in dict(getattr(c, "params", {}) or {}).items()}
    parts = set(_parts(c.name))
    kind = str(getattr(c, "kind", "") or "").lower()
    planner = {params["planner"], *_parts(params["planner"])} if params.get("planner") else set()
    subject: set[str] = set()
    for key in ("screen", "task", "model"):
        if params.get(key):
            subject |= {params[key], *(p for p in _parts(params[key]) if len(p) > 2)}
    return {
        "kind": {kind, *KIND_WORDS.get(kind, ())} if kind else parts & _ALL_KIND_WORDS,
        "planner": planner or (parts & PLANNERS),
        "subject": subject,
        "name": parts,
    }


_ALL_KIND_WORDS = frozenset(w for ws in KIND_WORDS.values() for w in ws) | set(KIND_WORDS)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9][a-z0-9_.-]*[a-z0-9]|[a-z0-9]", text.lower())


def match(text: str, summaries: Sequence[Any], last: str | None = None) -> Match:
    """The campaigns of ``summaries`` (newest first) that ``text`` names."""
    names = [c.name for c in summaries]
    low = text.lower()
    exact = [n for n in names if re.search(rf"(?<![\w-]){re.escape(n.lower())}(?![\w-])", low)]
    exact = [n for n in exact if not any(n != m and n.lower() in m.lower() for m in exact)]
    words = _words(text)
    tokens = set(words) | {w.rstrip("s") for w in words if len(w) > 3}
    tokens |= {p for p, ws in PLANNER_WORDS.items() if tokens & set(ws)}  # "bayesian" -> bo
    unknown = _unknown_names(text, names, summaries, set(words))
    pronoun = re.search(_PRONOUN, low)
    if not exact and last in names and pronoun:  # "how does it compare with the random one?"
        exact, low = [last], low.replace(pronoun.group(0), f" {last.lower()} ", 1)
    if exact:
        exact.sort(key=lambda n: low.index(n.lower()))
        rest = low
        for n in exact:
            rest = rest.replace(n.lower(), " ")
        more = match(rest, summaries) if len(exact) == 1 else Match(())
        kinds = {getattr(c, "kind", "") for c in summaries if c.name in exact}
        others = [n for n in more.names if n not in exact]
        same = [
            n
            for n in others
            if any(getattr(c, "kind", "") in kinds for c in summaries if c.name == n)
        ]
        if more.described and (len(others) == 1 or len(same) == 1):  # "... and the random one"
            exact.append(others[0] if len(others) == 1 else same[0])
        return Match(tuple(exact), tuple(unknown), True)
    for w in words:  # a unique prefix or part of a name, written as one ("bench-screen")
        if "-" in w or "_" in w:
            hits = [n for n in names if w in n.lower()]
            if len(hits) == 1:
                return Match((hits[0],), tuple(u for u in unknown if u.lower() != w), True)
    facets = {c.name: _facets(c) for c in summaries}
    known_planners = PLANNERS | {p for f in facets.values() for p in f["planner"]}
    known_subjects = {p for f in facets.values() for p in f["subject"]}
    asked = {
        "planner": tokens & known_planners,
        "subject": tokens & known_subjects,
        "kind": tokens & _ALL_KIND_WORDS,
    }
    scores: dict[str, float] = {}
    for n, f in facets.items():
        if asked["planner"] and not asked["planner"] & f["planner"]:
            continue  # the message names a planner this campaign did not use
        if asked["subject"] and not asked["subject"] & f["subject"]:
            continue
        score = sum(len(asked[k] & f[k]) for k in ("planner", "subject"))
        score += 0.5 * len(asked["kind"] & f["kind"])
        score += 0.25 * len((tokens - asked["planner"] - asked["subject"]) & (f["name"] - _STOP))
        if score:
            scores[n] = score
    kinds_asked = {n for n in scores if asked["kind"] & facets[n]["kind"]}
    if kinds_asked:  # "the attack campaign": only campaigns of that kind, where any match
        scores = {n: v for n, v in scores.items() if n in kinds_asked}
    if (asked["planner"] or asked["subject"]) and not scores and not unknown:
        said = [w for w in words if w in asked["planner"] | asked["subject"] | asked["kind"]]
        unknown = [f"the {' '.join(dict.fromkeys(said))} campaign"]
    if scores:
        top = max(scores.values())
        picked = tuple(n for n in names if scores.get(n) == top)
        return Match(picked, tuple(unknown), described=bool(asked["planner"] or asked["subject"]))
    if unknown:
        return Match((), tuple(unknown))
    if names and re.search(r"\b(latest|newest|most recent|last campaign)\b", low):
        return Match((names[0],))
    return Match(())


_AFTER_CAMPAIGN = frozenset(
    "is was are were be been do did does has had have and or of in on for to with that which "
    "results result names name there here show give tell start stop launch resume about".split()
)
_PRONOUN = r"\b(it|its|it's|that one|this one|that campaign|this campaign|the same one|same campaign|there)\b"
_STOP = frozenset("the a of and or campaign bench run runs test".split())


def _unknown_names(
    text: str, names: Sequence[str], summaries: Sequence[Any], tokens: set[str]
) -> list[str]:
    """Name-like words that match no campaign: quoted, hyphenated, ``campaign called X``,
    ``the X campaign`` where X describes no campaign."""
    low = [n.lower() for n in names]
    known: set[str] = set(PLANNERS | _ALL_KIND_WORDS)
    known |= {w for ws in PLANNER_WORDS.values() for w in ws}
    for c in summaries:
        known |= set().union(*_facets(c).values())
        known |= {str(v).lower() for v in dict(getattr(c, "params", {}) or {}).values()}
    found: list[tuple[str, bool]] = []  # (word, said as a campaign's name for sure)
    for quoted in re.findall(r"[`'\"]([^`'\"\s]{3,})[`'\"]", text):
        found.append((quoted, False))
    for dashed in re.findall(r"(?<![\w.])([A-Za-z][A-Za-z0-9_.]*(?:-[A-Za-z0-9_.]+)+)", text):
        if sum(len(re.sub(r"[^a-z]", "", p.lower())) >= 2 for p in dashed.split("-")) >= 2:
            found.append((dashed, False))  # a name (bench-nope-xyz), not "top-3" or "T-cell"
    for called in re.findall(
        rf"\b{_CAMPAIGN}\s+(?:called|named)\s+([A-Za-z0-9_.-]+)", text, re.IGNORECASE
    ):
        found.append((called, True))
    verbs = "do|did|does|find|found|run|ran|use|used|get|got|have|has|had|go|went|end|finish"
    for m in re.finditer(
        rf"\b(?:campaign|study)\s+([A-Za-z0-9_.-]+)(?:\s+(?:{verbs})\b|\s*[?.!,]?\s*$)", text, re.I
    ):  # "how did campaign xyz do?", "summarise campaign xyz"
        if re.search(r"\b(?:the|a|an|my|our|this|that|each|every)\s+(?:[\w-]+\s+){0,3}$",
                     text[: m.start()], re.I):  # fmt: skip
            continue  # "the attack campaign altogether?": described already; the word after
            # it is part of the sentence, not a name
        after = m.group(1)
        word = after.lower()
        if word not in _MODIFIERS and word not in _AFTER_CAMPAIGN and word not in verbs.split("|"):
            found.append((after, True))
    nouns = "campaign|study|screen|search|attack"
    for before in re.findall(
        rf"\b(?:the|a|an|my|our)\s+([A-Za-z][A-Za-z0-9_.]+)\s+(?:{nouns})\b", text, re.I
    ):
        if before.lower() not in _MODIFIERS:
            found.append((before, True))  # "the foo campaign", "the IFNG screen"
    out: list[str] = []
    for w, sure in found:
        wl = w.lower().rstrip(".")
        if wl in known or any(wl in n for n in low) or (w.isupper() and not sure):
            continue  # a campaign's own word, or a gene symbol (IFNG, CD274)
        if wl not in (o.lower() for o in out):
            out.append(w.rstrip("."))
    return out


def unknown_error(name: str, names: Sequence[str]) -> PerturboError:
    """The one answer for a name that matches no campaign: it is unknown, and these exist."""
    listed = ", ".join(names) if names else "none yet"
    return PerturboError(
        f"no campaign named {name!r} in this store; I do not know it, so I give no numbers "
        f"for it. The campaigns are: {listed}"
    )


def resolve(store: Any, name: str) -> str:
    """A campaign's full name from ``name``: exact, a unique prefix or part, or a unique
    description ("the bo screen campaign"); :func:`unknown_error` otherwise, and a clear
    error naming the candidates where several match."""
    name = str(name or "").strip().strip("'\"`")
    summaries = store.list_campaigns()
    names = [c.name for c in summaries]
    if not name:
        raise PerturboError(
            f"no campaign named: give one of {', '.join(names) or 'none (the store is empty)'}"
        )
    if name in names:
        return name
    low = name.lower()
    hits = [n for n in names if n.lower().startswith(low)] or [n for n in names if low in n.lower()]
    if len(hits) == 1:
        return hits[0]
    if not hits:
        m = match(name, summaries)
        hits = list(m.names) if not m.unknown else []
        if len(hits) == 1:
            return hits[0]
    if len(hits) > 1:
        raise PerturboError(
            f"campaign {name!r} is ambiguous: it could be {', '.join(hits[:6])}; give more of "
            "the name"
        )
    raise unknown_error(name, names)
