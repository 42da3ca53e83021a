"""The embedded model as a LangChain chat model: ``invoke``, streaming, ``with_structured_output``.

:class:`LocalChatModel` wraps a :class:`~perturbo.agents.llama_engine.ChatEngine` (the model
in this process, or a client of the :class:`~perturbo.actors.model_host.ModelHost` Ray
actor). ``with_structured_output`` constrains decoding to the schema's JSON (llama.cpp
compiles the JSON schema into a GBNF grammar), so even a 135M-parameter model returns
parseable JSON; the values may still be wrong, which the agents' validation catches.

Written here rather than taken from langchain-community's ``ChatLlamaCpp`` because that
package is not among perturbo's pinned dependencies and it loads the model in-process
(no way to share one model through a Ray actor).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    convert_to_openai_messages,
)
from langchain_core.messages.ai import UsageMetadata
from langchain_core.output_parsers import JsonOutputParser, PydanticOutputParser
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableLambda, RunnableParallel
from pydantic import BaseModel, ConfigDict, Field

from perturbo.agents.llama_engine import ChatEngine


class LocalChatModel(BaseChatModel):
    """LangChain chat model over a local llama.cpp engine.

    ``temperature`` 0 by default (greedy: reproducible proposals); ``max_tokens`` bounds each
    answer (small outputs keep a round fast on a CPU).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    engine: Any = Field(exclude=True)
    model_name: str = "local"
    temperature: float = 0.0
    max_tokens: int = 512
    seed: int | None = 0

    @property
    def _llm_type(self) -> str:
        return "perturbo-llama-cpp"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name, "temperature": self.temperature}

    def _params(self, stop: list[str] | None, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        p: dict[str, Any] = {
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
        }
        if self.seed is not None:
            p["seed"] = self.seed
        if stop:
            p["stop"] = stop
        for k in ("response_format", "max_tokens", "temperature", "seed"):
            if k in kwargs:
                p[k] = kwargs[k]
        return p

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        eng: ChatEngine = self.engine
        out = eng.chat(convert_to_openai_messages(messages), **self._params(stop, kwargs))
        choice = out["choices"][0]
        content = choice["message"].get("content") or ""
        usage = out.get("usage") or {}
        msg = AIMessage(
            content=content,
            usage_metadata=_usage(usage),
            response_metadata={
                "finish_reason": choice.get("finish_reason"),
                "model_name": self.model_name,
            },
        )
        return ChatResult(generations=[ChatGeneration(message=msg)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        eng: ChatEngine = self.engine
        for part in eng.stream(convert_to_openai_messages(messages), **self._params(stop, kwargs)):
            choice = (part.get("choices") or [{}])[0]
            text = (choice.get("delta") or {}).get("content") or ""
            meta = {"finish_reason": choice["finish_reason"]} if choice.get("finish_reason") else {}
            if not text and not meta:
                continue
            chunk = ChatGenerationChunk(
                message=AIMessageChunk(content=text, response_metadata=meta)
            )
            if run_manager and text:
                run_manager.on_llm_new_token(text, chunk=chunk)
            yield chunk

    def with_structured_output(  # type: ignore[override]
        self,
        schema: type[BaseModel] | Mapping[str, Any],
        *,
        include_raw: bool = False,
        method: str = "json_schema",
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, Any]:
        """Constrain the answer to ``schema`` (a pydantic class or a JSON-schema dict) by
        grammar; parse into the pydantic class (or a dict). ``include_raw`` returns
        ``{"raw": AIMessage, "parsed": ..., "parsing_error": ...}`` as LangChain's own models do."""
        is_model = isinstance(schema, type) and issubclass(schema, BaseModel)
        json_schema = schema.model_json_schema() if is_model else dict(schema)  # type: ignore[union-attr]
        # Always grammar-constrained to the schema: ``method`` (json_mode / function_calling /
        # json_schema for remote models) is accepted for call compatibility only.
        llm = self.bind(response_format={"type": "json_object", "schema": json_schema})
        parser: Runnable = (
            PydanticOutputParser(pydantic_object=schema) if is_model else JsonOutputParser()  # type: ignore[arg-type]
        )
        if not include_raw:
            return llm | parser

        def _parse(x: dict[str, Any]) -> dict[str, Any]:
            try:
                return {"raw": x["raw"], "parsed": parser.invoke(x["raw"]), "parsing_error": None}
            except Exception as e:  # the caller decides: repair turn or fallback
                return {"raw": x["raw"], "parsed": None, "parsing_error": e}

        return RunnableParallel(raw=llm) | RunnableLambda(_parse)


def _usage(u: Mapping[str, Any]) -> UsageMetadata:
    i, o = int(u.get("prompt_tokens", 0) or 0), int(u.get("completion_tokens", 0) or 0)
    return UsageMetadata(input_tokens=i, output_tokens=o, total_tokens=i + o)


def dumps_schema(schema: type[BaseModel]) -> str:
    """A compact JSON schema for prompts (small models follow a short schema better)."""
    return json.dumps(schema.model_json_schema(), separators=(",", ":"))


__all__ = ["LocalChatModel", "dumps_schema"]
