"""Names of the session store's campaigns, and fake chat models for the chat's tests (langchain_core's ``GenericFakeChatModel``), one
that also calls tools (it records what it was sent, to check errors went back to it)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk

__all__ = ["GEN", "HPO", "ToolCallingFake", "call", "prose"]

HPO = "chat-branin-random"
GEN = "chat-genetic-random"


def prose(*texts: str) -> GenericFakeChatModel:
    """A model that answers ``texts`` in turn (streamed word by word)."""
    return GenericFakeChatModel(messages=iter(list(texts)))


def call(name: str, args: dict[str, Any], id: str = "c1") -> AIMessage:
    return AIMessage(
        content="", tool_calls=[{"name": name, "args": args, "id": id, "type": "tool_call"}]
    )


class ToolCallingFake(GenericFakeChatModel):
    """Answers its scripted messages in turn, tool calls included; ``seen`` keeps every
    message list it was sent; an Exception in the script is raised (a failing backend)."""

    seen: list[list[BaseMessage]] = []

    def bind_tools(self, tools: Any, **kw: Any) -> ToolCallingFake:
        return self

    def _stream(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> Iterator[ChatGenerationChunk]:
        self.seen.append(list(messages))
        msg = next(self.messages)
        if isinstance(msg, Exception):
            raise msg
        if isinstance(msg, str):
            msg = AIMessage(content=msg)
        chunks = [
            {
                "name": c["name"],
                "args": __import__("json").dumps(c["args"]),
                "id": c["id"],
                "index": i,
                "type": "tool_call_chunk",
            }
            for i, c in enumerate(msg.tool_calls)
        ]
        yield ChatGenerationChunk(
            message=AIMessageChunk(content=msg.content, tool_call_chunks=chunks)
        )
