"""The chat agent: data (instructions + tools) and one bounded loop, as in openai/swarm.

:meth:`ChatAgent.respond` turns one user message into a stream of events the front ends
render: :class:`Step` (a tool call: name, arguments, seconds), :class:`Facts` (the tool's
own text: the numbers, by template), :class:`Token` (model prose, streamed a sentence at a
time through the :class:`~perturbo.agents.chat.guard.SentenceGuard`), :class:`Pending` (an
action waiting for the user's yes), :class:`Image` (a plot) and :class:`Done`.

Two ways to pick tools: ``grammar`` (the embedded model: one JSON choice under a grammar, see
:mod:`perturbo.agents.chat.router`; the model then writes only connecting prose) and
``tools`` (remote models: ``bind_tools``, several steps). Slash commands call a tool
directly. Tool errors go back to the model as messages; nothing here raises for what a
model or a user can get wrong.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from perturbo.agents.chat.guard import NumberGuard, SentenceGuard
from perturbo.agents.chat.lab_tools import LAB_ACTIONS, LAB_READS
from perturbo.agents.chat.lazy import LazyModel, ModelUnavailable
from perturbo.agents.chat.router import SLASH_HELP, Route, choice_schema, hints, parse_slash
from perturbo.agents.chat.tools import ChatTools, ToolResult

__all__ = ["ChatAgent", "Done", "Event", "Facts", "Image", "Pending", "Step", "Token"]

SYSTEM = (
    "You are perturbo's assistant. perturbo runs experiment campaigns (planners propose "
    "experiments, MLflow records them). Answer with the tools; every number you state must "
    "come from a tool result. Launching, resuming, stopping or pinning only proposes: the "
    "user confirms."
)


@dataclass(frozen=True)
class Step:
    name: str
    args: dict[str, Any]
    seconds: float
    ok: bool
    how: str = ""


@dataclass(frozen=True)
class Facts:
    text: str
    ok: bool = True


@dataclass(frozen=True)
class Token:
    text: str


@dataclass(frozen=True)
class Pending:
    token: str
    description: str
    command: str


@dataclass(frozen=True)
class Image:
    path: str


@dataclass(frozen=True)
class Done:
    text: str
    seconds: float
    dropped: tuple[str, ...] = ()
    results: tuple[ToolResult, ...] = field(default=(), repr=False)


Event = Step | Facts | Token | Pending | Image | Done


class ChatAgent:
    """``llm``: a LangChain chat model, a :class:`~perturbo.agents.chat.lazy.LazyModel` (made
    on the first question that needs it: slash commands and routes the words settle never
    do), or None (slash commands and fixed routes only); ``mode``: ``grammar`` (local) or
    ``tools`` (remote, ``bind_tools``)."""

    def __init__(
        self,
        llm: Any,
        tools: ChatTools,
        mode: Literal["grammar", "tools"] = "grammar",
        *,
        allow_actions: bool = True,
        prose_tokens: int = 48,
        max_steps: int = 4,
        history_turns: int = 6,
    ) -> None:
        self._llm = llm
        self.tools = tools
        self.mode = mode
        self.allow_actions = allow_actions
        self.prose_tokens = prose_tokens
        self.max_steps = max_steps
        self.history_turns = history_turns
        self.history: list[BaseMessage] = []
        self.last_campaign: str | None = None

    # ------------------------------------------------------------------ the model
    @property
    def llm(self) -> Any:
        """The chat model, made now if it is a :class:`LazyModel` not made yet (raises
        :class:`ModelUnavailable` saying why it cannot be)."""
        return self._llm.get() if isinstance(self._llm, LazyModel) else self._llm

    @llm.setter
    def llm(self, value: Any) -> None:
        self._llm = value

    @property
    def has_model(self) -> bool:
        """Whether a model was handed in (made or not yet): no question loads it to find out."""
        return self._llm is not None

    @property
    def model_name(self) -> str:
        """The model's name, without making it."""
        m = self._llm
        if isinstance(m, LazyModel):
            return m.model_name
        return str(getattr(m, "model_name", None) or getattr(m, "model", None) or "none")

    # ------------------------------------------------------------------ public
    def respond(self, text: str) -> Iterator[Event]:
        t0 = time.perf_counter()
        text = text.strip()
        if text.startswith("/"):
            yield from self._slash(text, t0)
            return
        try:
            if self.mode == "tools" and self.has_model:
                yield from self._tool_loop(text, t0)
            else:
                yield from self._grammar(text, t0)
        except ModelUnavailable as e:  # the model this question needs cannot be made: say so
            msg = f"This question needs the chat model, which could not be loaded: {e}"
            yield Facts(msg, ok=False)
            self._remember(text, msg)
            yield Done(msg, time.perf_counter() - t0)

    # ------------------------------------------------------------------ tool calls
    def _run(self, route: Route) -> Iterator[Event]:
        t = time.perf_counter()
        if route.tool not in self.tools.names(self.allow_actions):
            res = ToolResult(
                f"unknown tool {route.tool!r}: use one of {', '.join(self.tools.names(self.allow_actions))}",
                ok=False,
            )
        else:
            res = self.tools.call(route.tool, route.args)
        yield Step(route.tool, dict(route.args), time.perf_counter() - t, res.ok, route.how)
        name = res.data.get("name") or res.data.get("campaign")
        if res.ok and isinstance(name, str):
            self.last_campaign = name
        self._last_result = res

    def _emit_result(self, res: ToolResult) -> Iterator[Event]:
        yield Facts(res.text, res.ok)
        if res.image:
            yield Image(res.image)
        if res.pending is not None:
            yield Pending(res.pending.token, res.pending.description, res.pending.command())

    def _slash(self, text: str, t0: float) -> Iterator[Event]:
        if text.split()[0].lower() in ("/help", "/?"):
            yield Facts(SLASH_HELP)
            yield Done(SLASH_HELP, time.perf_counter() - t0)
            return
        try:
            route = parse_slash(text)
        except ValueError as e:
            yield Facts(str(e), ok=False)
            yield Done(str(e), time.perf_counter() - t0)
            return
        yield from self._run(route)
        res = self._last_result
        yield from self._emit_result(res)
        self._remember(text, res.text)
        yield Done(res.text, time.perf_counter() - t0, results=(res,))

    # ------------------------------------------------------------------ grammar (local)
    def _campaigns(self) -> list[str]:
        return [c.name for c in self._summaries()]

    def _summaries(self) -> list[Any]:
        try:
            return list(self.tools.store.list_campaigns())
        except Exception:  # an unreachable store: the tool says so when called
            return []

    def _system(self, campaigns: list[str]) -> str:
        listed = ", ".join(campaigns[:40]) or "none yet"
        tools = "; ".join(
            f"{s['name']}: {s['description'].split('.')[0][:90]}"
            for s in self.tools.schemas(self.allow_actions)
            if s["name"] not in LAB_READS + LAB_ACTIONS  # reached by their words (router)
        )
        return f"{SYSTEM}\nTools: {tools}\nCampaigns: {listed}"

    def _pick(self, system: str, text: str, options: list[str]) -> str | None:
        """One choice among ``options`` by the model, under a grammar of a few tokens."""
        if len(options) == 1:
            return options[0]
        messages = [SystemMessage(system), HumanMessage(text)]  # short: a choice, no history
        llm = self.llm  # made here, where a question first needs it (ModelUnavailable: said)
        try:
            raw = llm.invoke(
                messages,
                response_format={"type": "json_object", "schema": choice_schema(options)},
                max_tokens=48,
            )
            choice = json.loads(_text(raw)).get("choice")
        except Exception:  # nonsense or a backend failure: no choice; the caller says so
            return None
        return choice if choice in options else None

    def _choose(self, text: str, campaigns: list[Any], system: str) -> Route | None:
        """The route: fixed by the message's words where they leave one; else the model picks
        the tool (then a campaign, a kind) among the few the words leave, each a tiny choice."""
        kind_names = list(self.tools.kinds.names())
        h = hints(text, campaigns, kind_names, self.last_campaign)
        allowed = self.tools.names(self.allow_actions)
        h = replace(h, tools=tuple(t for t in h.tools if t in allowed))
        fixed = h.fixed()
        if fixed is not None or not self.has_model:
            return fixed
        options = list(h.tools) or [t for t in self.tools.names(False) if t not in LAB_READS]
        described = {s["name"]: s["description"] for s in self.tools.schemas(self.allow_actions)}
        menu = "\n".join(f"- {t}: {' '.join(described.get(t, '').split())[:70]}" for t in options)
        tool = self._pick(
            f"{SYSTEM}\nPick the tool that answers the user's message:\n{menu}\n- answer: a "
            "greeting, or a question none of these answers.",
            text,
            [*options, "answer"],
        )
        if tool is None or tool == "answer":
            return None if tool is None else Route("answer", {}, "grammar")
        need = h.missing(tool)
        if need == "kind":
            kind = self._pick(f"{SYSTEM}\nWhich kind of campaign?", text, kind_names)
            h = replace(h, kind=kind) if kind else h
        elif need in ("name", "second") and self.last_campaign not in (None, *h.names):
            h = replace(h, names=(*h.names, str(self.last_campaign)))  # the one talked about
        # still no campaign: the list (every campaign with its figures) answers, no guess
        return h.route(tool, (), "grammar") or Route("list_campaigns", {}, "grammar")

    def _grammar(self, text: str, t0: float) -> Iterator[Event]:
        campaigns = self._summaries()
        system = self._system([c.name for c in campaigns])
        route = self._choose(text, campaigns, system)
        if route is None:
            msg = "I could not tell which tool answers that. Try naming a campaign, or /help for the commands."
            yield Facts(msg, ok=False)
            self._remember(text, msg)
            yield Done(msg, time.perf_counter() - t0)
            return
        if route.tool == "answer":
            reply, dropped = yield from self._prose(
                [SystemMessage(system), *self._recent(2), HumanMessage(text)], [text]
            )
            if not reply:
                reply = "I answer questions about the campaigns in the store: /help lists what I can do."
                yield Facts(reply)
            self._remember(text, reply)
            yield Done(reply, time.perf_counter() - t0, tuple(dropped))
            return
        yield from self._run(route)
        res = self._last_result
        yield from self._emit_result(res)
        ask = (
            f"Result of {route.tool}:\n{res.for_model()[:700]}\n\nIn one short sentence, tell the user what "
            "this means. Do not repeat the numbers."
        )
        prose, dropped = "", []
        if (
            res.ok and res.pending is None
        ):  # a proposal speaks for itself: no prose that could claim it ran
            messages = [
                SystemMessage(SYSTEM),
                HumanMessage(text),
                AIMessage(json.dumps({"tool": route.tool})),
                HumanMessage(ask),
            ]
            prose, dropped = yield from self._prose(
                messages, [res.text, json.dumps(res.data, default=str), text]
            )
        reply = res.text + (f"\n{prose}" if prose else "")
        self._remember(text, reply)
        yield Done(reply, time.perf_counter() - t0, tuple(dropped), (res,))

    def _prose(self, messages: list[BaseMessage], sources: list[str]) -> Iterator[Event]:
        """Stream the model's prose through the number guard; returns (kept text, dropped)."""
        if not self.has_model or self.prose_tokens <= 0:
            return "", []
        guard = SentenceGuard(NumberGuard(sources))
        try:
            llm = self.llm
        except ModelUnavailable as e:  # the facts were shown; the prose cannot be written
            yield Facts(f"(no prose: the chat model could not be loaded: {e})", ok=False)
            return "", []
        try:
            for chunk in llm.stream(messages, max_tokens=self.prose_tokens):
                for s in guard.feed(_text(chunk)):
                    yield Token(s + " ")
        except Exception:  # the facts were shown; prose is optional
            return guard.text, guard.dropped
        for s in guard.flush():
            yield Token(s + " ")
        return guard.text, guard.dropped

    # ------------------------------------------------------------------ tools (remote)
    def _tool_loop(self, text: str, t0: float) -> Iterator[Event]:
        schemas = [
            {"type": "function", "function": s} for s in self.tools.schemas(self.allow_actions)
        ]
        model = self.llm  # made here (ModelUnavailable: said by respond)
        try:
            llm = model.bind_tools(schemas)
        except Exception:  # a model without tool calling: the grammar path
            yield from self._grammar(text, t0)
            return
        campaigns = self._campaigns()
        messages: list[BaseMessage] = [
            SystemMessage(self._system(campaigns)),
            *self._recent(self.history_turns),
            HumanMessage(text),
        ]
        guard = SentenceGuard(NumberGuard([text]))
        results: list[ToolResult] = []
        for _ in range(self.max_steps):
            full: Any = None
            try:
                for chunk in llm.stream(messages):
                    full = chunk if full is None else full + chunk
                    for s in guard.feed(_text(chunk)):
                        yield Token(s + " ")
            except Exception as e:  # a backend failure: say it, keep the conversation
                yield Facts(f"the model failed ({type(e).__name__}: {str(e)[:200]})", ok=False)
                break
            calls = list(getattr(full, "tool_calls", None) or [])
            if not calls:
                break
            messages.append(AIMessage(content=_text(full), tool_calls=calls))
            for call in calls:
                route = Route(str(call.get("name")), dict(call.get("args") or {}), "tools")
                yield from self._run(route)
                res = self._last_result
                results.append(res)
                guard.guard.add(res.text)
                guard.guard.add(json.dumps(res.data, default=str))
                if res.image:
                    yield Image(res.image)
                if res.pending is not None:
                    yield Pending(res.pending.token, res.pending.description, res.pending.command())
                messages.append(
                    ToolMessage(res.for_model(), tool_call_id=str(call.get("id") or route.tool))
                )
        for s in guard.flush():
            yield Token(s + " ")
        reply = guard.text
        if guard.dropped or not reply:
            shown = "\n".join(r.text for r in results)
            if shown:
                yield Facts(shown, all(r.ok for r in results))  # the tools' own words
            reply = (reply + "\n" + shown).strip()
        self._remember(text, reply)
        yield Done(reply, time.perf_counter() - t0, tuple(guard.dropped), tuple(results))

    # ------------------------------------------------------------------ history
    def _remember(self, user: str, reply: str) -> None:
        self.history += [HumanMessage(user), AIMessage(reply[:1500])]
        self.history = self.history[-2 * self.history_turns :]

    def _recent(self, turns: int) -> list[BaseMessage]:
        return self.history[-2 * turns :] if turns else []


def _text(msg: Any) -> str:
    content = getattr(msg, "content", msg)
    if isinstance(content, list):
        return "".join(b.get("text", "") if isinstance(b, dict) else str(b) for b in content)
    return "" if content is None else str(content)
