"""Choosing a tool: by the message's own words first, by the model only where they do not.

:func:`hints` reads what a message says: the tools its words point to, the campaigns it names
(:mod:`perturbo.agents.chat.names`: by name, part or description; unknown ones kept so the
tool says they are unknown), a round, a ranking measure, the settings of a launch
(:mod:`perturbo.agents.chat.stated`). Where that leaves one tool call (:meth:`Hints.fixed`)
no model is asked; else the embedded model makes one small choice among the tools left, under
a grammar (:func:`choice_schema`: a one-field JSON enum, a few tokens), and the arguments come
from the hints again. Slash commands (:func:`parse_slash`) are the structured fallback.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from perturbo.agents.chat.stated import (
    experiments,
    kind_said,
    launch_kind,
    launch_settings,
    scalar,
    settings,
)

__all__ = ["Hints", "Route", "choice_schema", "hints", "parse_slash", "SLASH_HELP"]

_INTENTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("tell_results", ("here are the results", "here are our results", "here are my results",
                      "record the results", "record these results", "record our results",
                      "we measured", "results are in", "tell the results")),
    ("pending_batch", ("test next", "pending batch", "batch sheet", "next batch", "to test next",
                       "waiting for results", "what should we test", "what should i test",
                       "which genes should we test", "what do we test")),
    ("compare_campaigns", ("compare", " versus ", " vs ", " vs. ", "difference between", "differ",
                           "together", "combined", " both ", " in total", " total ", " sum ",
                           " than ", " each ")),
    ("explain_round", ("why", "explain", "rationale", "reason", "chose", "choose", "chosen",
                       "picked", "pick ", "selected")),
    ("show_plot", ("plot", "chart", "graph", "figure", "picture")),
    ("propose_experiments", ("propose", "suggest", "next experiment", "what should i try", "recommend")),
    ("pin_experiments", ("pin ", "pin:", "also test", "also run", "run my", "i want to test")),
    ("stop_campaign", ("stop ", "stop?", "kill", "cancel", "abort", "halt")),
    ("resume_campaign", ("resume", "continue", "extend", "more rounds", "more trials")),
    ("launch_campaign", ("launch", "start a", "start new", "start an", "run a new", "new campaign",
                         "kick off", "set up a", "create a", "rerun", "re-run", "repeat ", "redo",
                         "run again", "same settings", "same as")),
    ("rank_campaigns", ("most", "best", "highest", "lowest", "fewest", "least", "largest",
                        "smallest", "top", "rank", "winner", "won", " more ", "better", "worse",
                        "newest", "oldest", "latest", "earliest", "first", "recent")),
    ("list_campaigns", ("list", "which campaigns", "what campaigns", "how many campaigns",
                        "all campaigns", "campaigns are", "campaigns do", "campaigns does",
                        "campaigns in", "campaigns there", "in the store", "overview of the store")),
    ("summarize_campaign", ("summar", "tell me about", "how did", "how is", "result", "overview",
                            "status of", "describe", "details")),
)  # fmt: skip
_NEEDS_NAME = {
    "summarize_campaign", "explain_round", "propose_experiments", "show_plot",
    "resume_campaign", "stop_campaign", "pin_experiments", "pending_batch", "tell_results",
}  # fmt: skip
_ACTIONS = {
    "launch_campaign", "resume_campaign", "stop_campaign", "pin_experiments", "tell_results",
}  # fmt: skip
# A "why" about the campaign's best config or its failure, not a round's choice: the summary
# answers it (the best configs, what did not complete and why the campaign stopped).
_BEST_OR_FAILED = re.compile(
    r"\b(best|winner|won|strongest|top (?:config|trial|experiment)s?)\b|\bfail(?:s|ed|ure)?\b"
    r"|\berror|\bcrash"
)
_RESULTS_FILE = re.compile(r"(?<![\w./-])((?:[\w.-]+/)*[\w.-]+\.(?:csv|tsv|txt))\b", re.I)
# What a ranking question measures, by its words (first match wins).
_MEASURES = (
    ("hit_ratio", ("hit ratio", "hit rate", "hit_ratio", "recall", "share of the hits", "fraction")),
    ("hits", ("hit",)),
    ("started", ("newest", "oldest", "latest", "earliest", "recent", "first", "started", "ran last")),
    ("experiments", ("experiments", "trials", "tested", "evaluations", "configs")),
    ("rounds", ("rounds",)),
    ("best", ("best", "value", "accuracy", "score", "loss", "objective", "lowest", "highest",
              "won", "winner", "better", "worse")),
)  # fmt: skip


@dataclass(frozen=True)
class Route:
    """A chosen tool call."""

    tool: str
    args: dict[str, Any] = field(default_factory=dict)
    how: str = "grammar"  # grammar (the model chose), fixed (one choice left), slash, tools


@dataclass(frozen=True)
class Hints:
    """What the message itself says: candidate tools, campaigns named, a round, n, settings."""

    tools: tuple[str, ...]
    names: tuple[str, ...]
    kind: str | None = None
    round: int | None = None
    n: int | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    experiments: list[dict[str, Any]] = field(default_factory=list)
    by: str | None = None
    about: tuple[str, ...] = ()  # words that may name experiments (a gene, a method)
    like: str | None = None  # a launch like this campaign ("rerun the random screen but ...")
    results: str | None = None  # a results file the message names ("here are the results: r.csv")

    def fixed(self) -> Route | None:
        """The route where the hints leave exactly one completion."""
        return self.route(self.tools[0]) if len(self.tools) == 1 else None

    def route(self, tool: str, names: Sequence[str] = (), how: str = "fixed") -> Route | None:
        """``tool`` with its arguments from the hints (``names``: campaigns chosen otherwise,
        used where the message named too few); None where one is still missing."""
        named = list(dict.fromkeys([*self.names, *names]))
        if tool == "list_campaigns":
            return Route(tool, {"kind": self.kind} if self.kind else {}, how)
        if tool == "launch_campaign":
            if self.like:
                args = {"like": self.like, "settings": self.settings}
                return Route(tool, {**args, **({"kind": self.kind} if self.kind else {})}, how)
            return (
                Route(tool, {"kind": self.kind, "settings": self.settings}, how)
                if self.kind
                else None
            )
        if tool == "compare_campaigns":
            if len(named) < 2:
                return None
            args: dict[str, Any] = {"first": named[0], "second": named[1]}
            if len(named) > 2:
                args["others"] = named[2:]
            return Route(tool, args, how)
        if tool == "rank_campaigns":
            args = {"by": self.by} if self.by else {}
            return Route(tool, {**args, **({"kind": self.kind} if self.kind else {})}, how)
        if tool in _NEEDS_NAME and len(named) == 1:
            args = {"name": named[0]}
            if tool == "summarize_campaign" and self.about:
                args["about"] = list(self.about)
            if tool == "explain_round" and self.round is not None:
                args["round"] = self.round
            if tool == "resume_campaign":
                args.update({k: v for k, v in self.settings.items() if k in ("rounds", "trials")})
            if tool == "propose_experiments" and self.n is not None:
                args["n"] = self.n
            if tool == "tell_results" and self.results:
                args["results"] = self.results
            if tool == "pin_experiments":
                if not self.experiments:
                    return None
                args["experiments"] = self.experiments
            return Route(tool, args, how)
        return None

    def missing(self, tool: str) -> str | None:
        """What :meth:`route` still needs for ``tool``: ``name``, ``second``, ``kind``, or None."""
        if tool == "launch_campaign" and not self.kind and not self.like:
            return "kind"
        if tool == "compare_campaigns" and len(self.names) < 2:
            return "second" if self.names else "name"
        if tool in _NEEDS_NAME and not self.names:
            return "name"
        return None


@dataclass(frozen=True)
class _Named:
    """A campaign known by name only (tests, a store that lists names)."""

    name: str
    kind: str = ""
    params: dict[str, Any] = field(default_factory=dict)


def _summaries(campaigns: Sequence[Any]) -> list[Any]:
    return [_Named(c) if isinstance(c, str) else c for c in campaigns]


def _measure(low: str) -> str | None:
    return next((m for m, keys in _MEASURES if any(k in low for k in keys)), None)


def hints(
    text: str, campaigns: Sequence[Any], kinds: Sequence[str], last: str | None = None
) -> Hints:
    """What ``text`` itself says (``campaigns``: the store's campaign summaries, or names,
    newest first; ``last``: the campaign the conversation was about)."""
    from perturbo.agents.chat.names import match

    low = f" {text.lower()} "
    found = [t for t, keys in _INTENTS if any(k in low for k in keys)]
    kind = next((k for k in kinds if re.search(rf"\b{re.escape(k)}\b", low)), None)
    summaries = _summaries(campaigns)
    m = match(text, summaries, last)
    names = tuple(m.unknown) + tuple(n for n in m.names if n not in m.unknown and m.exact)
    if not m.unknown:
        names = m.names
    if not names and last and not _store_wide(low, found):
        names = (last,)  # a follow-up that names nothing ("and its seed?", "how many rounds?")
    rnd = re.search(r"round (\d+)|(\d+)(?:st|nd|rd|th) round|round number (\d+)", low)
    n = re.search(r"(\d+) (?:more |new |next )?(?:experiments|proposals|configs|genes|ideas)", low)
    tools = _choose(found, low, m, names, rnd is not None)
    like = None
    if tools == ("launch_campaign",):
        again = re.search(r"\b(rerun|re-run|repeat|redo|again|same as|same settings|like)\b", low)
        like = names[0] if len(names) == 1 and not m.unknown and (m.exact or again) else None
        names = ()
        kind = kind or (None if like else launch_kind(low, kinds))
    if tools == ("list_campaigns",):
        names = ()
    if tools == ("list_campaigns",) and not kind:
        kind = next((k for k in kinds if kind_said(k, low)), None)
    by = _measure(low) if tools == ("rank_campaigns",) else None
    return Hints(
        tools=tools,
        names=names,
        kind=kind,
        round=int(next(g for g in rnd.groups() if g)) if rnd else None,
        n=int(n.group(1)) if n else None,
        settings=launch_settings(text, like, summaries, kind)
        if tools == ("launch_campaign",)
        else settings(text)
        if tools == ("resume_campaign",)
        else {},
        experiments=experiments(text) if "pin_experiments" in tools else [],
        by=by,
        like=like,
        about=_about(text, names) if tools == ("summarize_campaign",) else (),
        results=_results_file(text) if "tell_results" in tools else None,
    )


def _results_file(text: str) -> str | None:
    m = _RESULTS_FILE.search(text)
    return m.group(1) if m else None


def _about(text: str, names: Sequence[str]) -> tuple[str, ...]:
    """Words of ``text`` that may name an experiment's value (a gene symbol: IFNG, CD274, or
    as a mouse screen or a person writes it: Cd247, cd247): upper case after the first letter,
    or a letter then a digit; not part of a campaign's name; the tool keeps those that are
    (ignoring case)."""
    parts = {p for n in names for p in re.split(r"[-_]", n.lower())}
    words = re.findall(r"(?<![\w-])[A-Za-z0-9][A-Za-z0-9_.-]*[A-Za-z0-9](?![\w-])", text)
    symbol = re.compile(r".+[A-Z]|[A-Za-z].*\d", re.S)  # CD274, Cd247, cd247; not "Which"
    keep = (w for w in words if w.lower() not in parts and w not in names and symbol.match(w))
    return tuple(dict.fromkeys(keep))


def _store_wide(low: str, found: Sequence[str]) -> bool:
    """Whether a message is about the store as a whole (lists, rankings, counts)."""
    return bool(
        re.search(r"\bcampaigns\b|\b(which|what) (campaign|one|planner)\b|\bstore\b", low)
        or {"list_campaigns", "rank_campaigns", "launch_campaign"} & set(found)
    )


def _choose(
    found: list[str], low: str, m: Any, names: tuple[str, ...], has_round: bool
) -> tuple[str, ...]:
    """The candidate tools: an action word wins; then the more specific question; then what
    the campaigns named leave (one: about it; several: compare; none: rank or list)."""
    for action in (
        "launch_campaign", "tell_results", "pin_experiments", "resume_campaign", "stop_campaign",
    ):  # fmt: skip
        if action in found and (action == "launch_campaign" or names or action == "stop_campaign"):
            return (action,)
    for specific in ("show_plot", "pending_batch", "propose_experiments", "explain_round"):
        if specific == "explain_round" and not has_round and _BEST_OR_FAILED.search(low):
            continue  # "which config was best and why", "why did it fail": the summary says
        if specific in found and len(names) <= 1:
            return (specific,)
    if has_round and len(names) == 1 and "compare_campaigns" not in found:
        return ("explain_round",)
    listing = re.search(
        r"\b(list|which campaigns|what campaigns|how many campaigns|campaigns (?:are|do|does|did))\b",
        low,
    )
    if listing and not m.exact and not m.unknown and "compare_campaigns" not in found:
        return ("list_campaigns",)  # "list the screen campaigns": the kind's, not a comparison
    if len(names) >= 2:
        return ("compare_campaigns",)
    if len(names) == 1:
        return ("summarize_campaign",)
    if (
        "rank_campaigns" in found
        and not re.search(r"\b(list|what|which) campaigns\b", low)
        and (re.search(r"\b(which|what|who)\b", low) or "rank" in low)
    ):
        return ("rank_campaigns",)
    if "list_campaigns" in found or "compare_campaigns" in found or "rank_campaigns" in found:
        return ("list_campaigns",)
    if re.search(r"\bcampaigns\b", low):
        return ("list_campaigns",)
    return tuple(t for t in found if t not in _ACTIONS)


def choice_schema(options: Sequence[str]) -> dict[str, Any]:
    """The JSON schema of one choice among ``options`` (``{"choice": ...}``): a grammar of a
    few tokens, so a small model on a CPU answers in seconds, not minutes."""
    return {
        "type": "object",
        "properties": {"choice": {"enum": list(options)}},
        "required": ["choice"],
    }


SLASH_HELP = """\
/list [KIND]              the campaigns in the store
/show NAME                summarise a campaign (a unique part of its name is enough)
/why NAME [ROUND]         why a round's experiments were chosen
/compare NAME NAME        two campaigns side by side
/propose NAME [N]         the campaign's planner proposes N next experiments
/plot NAME [PLOT]         download a plot and show it
/launch KIND key=value... propose a new campaign (e.g. /launch hyperparameter task=branin planner=random trials=8 name=my-run)
/resume NAME [rounds=N|trials=N]  propose to continue or extend a campaign
/pin NAME JSON...         propose to run these experiments first (planner=user)
/stop NAME                propose to stop a campaign this chat started
/batch NAME               the batch a lab campaign waits for (what to test next)
/tell NAME FILE           preview a lab's results file; recorded after you confirm
/help, /quit"""

_SLASH = {
    "list": "list_campaigns", "show": "summarize_campaign", "summary": "summarize_campaign",
    "why": "explain_round", "explain": "explain_round", "compare": "compare_campaigns",
    "propose": "propose_experiments", "plot": "show_plot", "launch": "launch_campaign",
    "run": "launch_campaign", "resume": "resume_campaign", "pin": "pin_experiments",
    "stop": "stop_campaign", "batch": "pending_batch", "ask": "pending_batch",
    "tell": "tell_results",
}  # fmt: skip

_SECOND = {
    "explain_round": "round", "propose_experiments": "n", "show_plot": "plot",
    "tell_results": "results",
}  # fmt: skip
"""A slash command's second word: which argument it is."""


def parse_slash(line: str) -> Route:
    """``/show NAME`` and the others (:data:`SLASH_HELP`) as a :class:`Route`; ValueError with
    the usage for a bad one."""
    head = line.strip()[1:].split(None, 2)
    if head and head[0].lower() == "pin":  # JSON objects: not for shlex
        return _parse_pin(head)
    try:
        words = shlex.split(line.strip()[1:])
    except ValueError as e:
        raise ValueError(f"{line!r}: {e}") from None
    if not words or words[0].lower() not in _SLASH:
        raise ValueError(f"unknown command {line.split()[0]!r}: /help lists them")
    cmd, rest = words[0].lower(), words[1:]
    tool = _SLASH[cmd]
    kv = {k: scalar(v) for k, _, v in (w.partition("=") for w in rest if "=" in w)}
    pos = [w for w in rest if "=" not in w or w.startswith("{")]
    try:
        if tool == "list_campaigns":
            return Route(tool, {"kind": pos[0]} if pos else {}, "slash")
        if tool == "launch_campaign":
            named = {"name": str(kv.pop("name"))} if "name" in kv else {}
            return Route(tool, {"kind": pos[0], "settings": kv, **named}, "slash")
        if tool == "compare_campaigns":
            return Route(tool, {"first": pos[0], "second": pos[1]}, "slash")
        if tool == "pin_experiments":
            return Route(
                tool, {"name": pos[0], "experiments": [json.loads(p) for p in pos[1:]]}, "slash"
            )
        args: dict[str, Any] = {"name": pos[0], **kv}
        if len(pos) > 1:
            args[_SECOND.get(tool, "extra")] = scalar(pos[1])
        return Route(tool, args, "slash")
    except (IndexError, json.JSONDecodeError):
        usage = next(
            ln for ln in SLASH_HELP.splitlines() if ln.startswith(f"/{cmd}") or f"/{cmd} " in ln
        )
        raise ValueError(f"usage: {usage.strip()}") from None


def _parse_pin(head: list[str]) -> Route:
    usage = 'usage: /pin NAME JSON... (e.g. /pin my-campaign {"gene": "IFNG"})'
    if len(head) < 3:
        raise ValueError(usage)
    rest, experiments, decoder = head[2].strip(), [], json.JSONDecoder()
    while rest:
        try:
            obj, end = decoder.raw_decode(rest)
        except json.JSONDecodeError:
            raise ValueError(f"{rest[:40]!r} is not JSON; {usage}") from None
        experiments.append(obj)
        rest = rest[end:].strip()
    return Route("pin_experiments", {"name": head[1], "experiments": experiments}, "slash")
