"""What a message states besides a question: the settings of a launch or resume request
(planner, budget, batch, seed, subject, eps, norm; ``key=value`` pairs), the kind it means,
and the experiments a pin names. Every setting the user gives is kept."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

__all__ = ["experiments", "kind_said", "launch_kind", "launch_settings", "scalar", "settings"]


_SUBJECT_WORDS = {"screen": "screen", "task": "task", "model": "model", "target": "model",
                  "function": "task", "benchmark": "task", "dataset": "screen"}  # fmt: skip
_NOT_VALUES = frozenset(
    "a an the new this that my our genetic crispr knockout same on of with for in at to by and "
    "from using over called named but instead now then again".split()
)
_ON = {"screen": "screen", "screening": "screen", "search": "task", "attack": "model"}


def settings(text: str) -> dict[str, Any]:
    """Every setting a launch or resume request states: ``key=value`` pairs, the planner,
    budget (rounds, trials), batch, seed, the subject (screen, task, model), eps and norm."""
    from perturbo.agents.chat.names import PLANNERS

    out: dict[str, Any] = {}
    for k, v in re.findall(r"([a-z_]+)\s*=\s*([\w.:/,-]+)", text, re.I):
        out[k.lower()] = scalar(v)
    if m := re.search(r"(?:with|using|by) (?:the |a |an )?([a-z0-9_-]+) planner", text, re.I):
        out.setdefault("planner", m.group(1).lower())
    if m := re.search(r"planner(?: is| of|:)? ([a-z0-9_-]+)", text, re.I):
        out.setdefault("planner", m.group(1).lower())
    said = [w for w in re.findall(r"[a-z0-9-]+", text.lower()) if w in PLANNERS]
    if "planner" not in out and len(set(said)) == 1:
        out["planner"] = said[0]  # "a bo screen", "with random"
    for key, words in (("rounds", "rounds?"), ("trials", "trials|configs|configurations")):
        if m := re.search(
            rf"(\d+) (?:more )?(?:{words})\b|(?:{words}) (?:of |= ?)?(\d+)", text, re.I
        ):
            out.setdefault(key, int(m.group(1) or m.group(2)))
    if m := re.search(
        r"batch(?:es)?(?: size)?(?: of| =|:)? (\d+)|(\d+) (?:genes |experiments |configs )?"
        r"(?:per|a|each) (?:round|batch)|batch(?:es)? of (\d+)",
        text,
        re.I,
    ):
        out.setdefault("batch", int(next(g for g in m.groups() if g)))
    if m := re.search(r"\bseed(?: of| =|:)? (-?\d+)", text, re.I):
        out.setdefault("seed", int(m.group(1)))
    for word, key in _SUBJECT_WORDS.items():
        after = re.search(rf"\b{word}(?: called| named|:)? ([A-Za-z0-9_.:/-]+)", text)
        before = re.search(rf"\b(?:on|of|against|for) (?:the )?([A-Za-z0-9_.:/-]+) {word}\b", text)
        for m in (after, before):
            if m and m.group(1).lower() not in _NOT_VALUES and not m.group(1).isdigit():
                out.setdefault(key, scalar(m.group(1).rstrip(".,")))
                break
    for word, key in _ON.items():  # "a bo screen of Scharenberg22", "an attack on digits-cnn"
        m = re.search(rf"\b{word} (?:on|of|against) (?:the )?([A-Za-z0-9_.:/-]+)", text)
        if m and m.group(1).lower() not in _NOT_VALUES:
            out.setdefault(key, m.group(1).rstrip(".,"))
    if m := re.search(r"\brounds? of (\d+)", text, re.I):
        out.setdefault("batch", int(m.group(1)))
    if m := re.search(r"\b(?:eps|epsilon)(?: of| =|:)? (\d*\.?\d+)", text, re.I):
        out.setdefault("eps", scalar(m.group(1)))
    if m := re.search(r"\b(linf|l2|l0)\b", text, re.I):
        out.setdefault("norm", m.group(1).lower())
    return out


def scalar(v: str) -> Any:
    if re.fullmatch(r"-?\d+", v):
        return int(v)
    if re.fullmatch(r"-?\d*\.\d+", v):
        return float(v)
    return {"true": True, "false": False}.get(v.lower(), v)


def experiments(text: str) -> list[dict[str, Any]]:
    out = []
    for m in re.finditer(r"\{[^{}]*\}", text):
        try:
            obj = json.loads(m.group(0))
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict):
            out.append(obj)
    if not out and (
        genes := re.findall(r"\bgenes? ([A-Z0-9-]{2,}(?:(?:,\s*| and )[A-Z0-9-]{2,})*)", text)
    ):
        out = [{"gene": g} for g in re.split(r",\s*| and ", genes[0]) if g]
    return out


def launch_settings(
    text: str, like: str | None, summaries: Sequence[Any], kind: str | None
) -> dict[str, Any]:
    """A launch's settings; "on X" names the subject (screen, task, model) of the campaign it
    is like, or of its kind."""
    out = settings(text)
    params = next((dict(c.params) for c in summaries if c.name == like), {})
    key = next((k for k in ("screen", "task", "model") if k in params), None)
    if key is None and kind:
        key = {"genetic": "screen", "hyperparameter": "task", "attack": "model"}.get(kind)
    if key and key not in out:
        m = re.search(r"\bon (?:the )?([A-Z][A-Za-z0-9_.:/-]*|[a-z]+[0-9-][A-Za-z0-9_.:/-]*)", text)
        if m:
            out[key] = m.group(1).rstrip(".,")
    return out


def launch_kind(low: str, kinds: Sequence[str]) -> str | None:
    """The kind a launch request means where it does not name one: by the words for a kind
    ("a bo screen") or by a setting only one kind has (a screen, a task, eps)."""
    said = [k for k in kinds if kind_said(k, low)]
    if len(said) == 1:
        return said[0]
    keys = set(settings(low))
    by_key = {"screen": "genetic", "task": "hyperparameter", "eps": "attack", "norm": "attack"}
    found = {by_key[k] for k in keys if k in by_key and by_key[k] in kinds}
    return found.pop() if len(found) == 1 else None


def kind_said(kind: str, low: str) -> bool:
    from perturbo.agents.chat.names import KIND_WORDS

    return any(re.search(rf"\b{re.escape(w)}\b", low) for w in KIND_WORDS.get(kind, (kind,)))
