"""One bounded loop: ask a chat model for a pydantic object, validate it, feed errors back.

Every agent call goes through :func:`ask_structured`. It never raises for what a model can
get wrong (garbage, empty output, wrong types, invalid values) nor for a backend that fails
(unreachable endpoint, timeout): it returns ``None`` with an :class:`LLMCall` saying what
happened, and the caller fills the batch from its fallback planner, marked as such.

The answer is requested with ``with_structured_output(..., include_raw=True)`` where the model
supports it (grammar-constrained on the local model, ``json_mode``/``function_calling`` on
OpenAI-compatible servers); otherwise (or where that parse failed) the raw text is parsed
leniently (code fences, prose around the JSON).
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, ValidationError

log = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)


@dataclass(frozen=True)
class LLMCall:
    """The trace of one agent call (one or more turns): what was asked, what came back, the
    validation errors fed back, tokens, latency. ``failure``: why the *backend* failed
    (unreachable, timeout); answers still invalid after the repair turns leave ``ok=False``
    with their problems in ``errors[-1]``."""

    name: str
    prompt: str
    answers: tuple[str, ...] = ()
    errors: tuple[tuple[str, ...], ...] = ()
    input_tokens: int = 0
    output_tokens: int = 0
    seconds: float = 0.0
    ok: bool = False
    failure: str = ""
    parsed: tuple[bool, ...] = ()
    """Per turn: whether the answer parsed into the schema (``check`` ran only on those)."""

    @property
    def repairs(self) -> int:
        """Turns after the first (each one fed validation errors back)."""
        return max(0, len(self.answers) - 1)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "prompt": self.prompt,
            "answers": list(self.answers),
            "errors": [list(e) for e in self.errors],
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "seconds": round(self.seconds, 3),
            "ok": self.ok,
            "failure": self.failure,
            "repairs": self.repairs,
            "parsed": list(self.parsed),
        }


@dataclass
class _Turns:
    answers: list[str] = field(default_factory=list)
    errors: list[tuple[str, ...]] = field(default_factory=list)
    parsed: list[bool] = field(default_factory=list)
    tin: int = 0
    tout: int = 0


def ask_structured(
    llm: Any,
    system: str,
    user: str,
    schema: type[T],
    check: Callable[[T], Sequence[str]] = lambda _: (),
    *,
    name: str = "agent",
    max_repairs: int = 2,
    method: str = "function_calling",
) -> tuple[T | None, LLMCall]:
    """Ask ``llm`` for a ``schema`` object; repair up to ``max_repairs`` times.

    ``check`` returns the problems of a parsed answer (empty: accepted). Returns the accepted
    object, or the last parsed one with problems (the caller may use its valid part), or
    ``None``; the :class:`LLMCall` records every turn.
    """
    messages: list[BaseMessage] = [SystemMessage(system), HumanMessage(user)]
    runnable = _structured(llm, schema, method)
    turns = _Turns()
    best: T | None = None
    t0 = time.perf_counter()
    failure = ""
    for _ in range(max_repairs + 1):
        try:
            raw, parsed, perr = _invoke(llm, runnable, messages, schema)
        except Exception as e:  # backend failure: no point repairing; the caller falls back
            failure = f"{type(e).__name__}: {_short(str(e), 300)}"
            log.warning(
                "LLM call %r failed (%s); the batch is filled by the fallback planner",
                name,
                failure,
            )
            break
        text = _text(raw)
        turns.answers.append(text)
        usage = getattr(raw, "usage_metadata", None) or {}
        turns.tin += int(usage.get("input_tokens", 0) or 0)
        turns.tout += int(usage.get("output_tokens", 0) or 0)
        turns.parsed.append(parsed is not None)
        if parsed is None:
            problems: tuple[str, ...] = (perr or "the answer was empty",)
        else:
            best = parsed
            problems = tuple(check(parsed))
        turns.errors.append(problems)
        if not problems:
            return parsed, _call(name, user, turns, t0, True, "")
        messages += [AIMessage(text or "(empty)"), HumanMessage(_repair_prompt(problems))]
    return best, _call(name, user, turns, t0, False, failure)


def _call(name: str, prompt: str, t: _Turns, t0: float, ok: bool, failure: str) -> LLMCall:
    return LLMCall(
        name,
        prompt,
        tuple(t.answers),
        tuple(t.errors),
        t.tin,
        t.tout,
        time.perf_counter() - t0,
        ok,
        failure,
        tuple(t.parsed),
    )


def _repair_prompt(problems: Sequence[str]) -> str:
    listed = "\n".join(f"- {p}" for p in problems[:12])
    more = f"\n- ... and {len(problems) - 12} more" if len(problems) > 12 else ""
    return f"Your answer has problems:\n{listed}{more}\nAnswer again with corrected JSON only."


def _structured(llm: Any, schema: type[BaseModel], method: str) -> Any:
    try:
        return llm.with_structured_output(schema, include_raw=True, method=method)
    except (NotImplementedError, ValueError, TypeError, AttributeError):
        return None  # fake/basic models: plain text, parsed leniently below


def _invoke(
    llm: Any, runnable: Any, messages: list[BaseMessage], schema: type[T]
) -> tuple[Any, T | None, str]:
    if runnable is not None:
        out = runnable.invoke(messages)
        raw = out.get("raw")
        if out.get("parsed") is not None:
            parsed = out["parsed"]
            if isinstance(parsed, dict):
                parsed = schema.model_validate(parsed)
            return raw, parsed, ""
    else:
        raw = llm.invoke(messages)
    obj, err = parse_lenient(_text(raw), schema)
    return raw, obj, err


def parse_lenient(text: str, schema: type[T]) -> tuple[T | None, str]:
    """Parse ``text`` into ``schema``: the JSON object in it (code fences and prose around it
    are ignored). Returns (object, "") or (None, the problem in one line for the model)."""
    if not text.strip():
        return None, "the answer was empty: reply with one JSON object"
    candidates = [text.strip()]
    fence = re.search(r"```(?:json)?\s*(.*?)```", text, re.S)
    if fence:
        candidates.append(fence.group(1).strip())
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start : end + 1])
    last = "the answer is not JSON: reply with one JSON object matching the schema"
    for c in candidates:
        try:
            data = json.loads(c)
        except json.JSONDecodeError:
            continue
        try:
            return schema.model_validate(data), ""
        except ValidationError as e:
            last = "the JSON does not match the schema: " + "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'root'}: {err['msg']}"
                for err in e.errors()[:6]
            )
    return None, last


def _text(msg: Any) -> str:
    content = getattr(msg, "content", msg)
    if isinstance(content, list):  # content blocks (Anthropic)
        return "".join(b.get("text", "") if isinstance(b, dict) else str(b) for b in content)
    return "" if content is None else str(content)


def _short(s: str, n: int) -> str:
    return s if len(s) <= n else s[: n - 3] + "..."
