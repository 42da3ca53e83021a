"""The embedded model itself: a llama-cpp-python ``Llama`` behind a two-method engine.

An *engine* is what :class:`perturbo.agents.local_chat.LocalChatModel` talks to: ``chat``
returns one OpenAI-style chat-completion dict, ``stream`` yields its chunks. This module
runs the model in the calling process; :mod:`perturbo.actors.model_host` runs the same
:class:`LlamaEngine` inside a Ray actor and hands back a client with the same two methods,
so one loaded model serves every agent of a campaign.

No LangChain and no Ray here (the Ray actor imports this module).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from perturbo.types import PerturboError


class ChatEngine(Protocol):
    """Something that completes chat messages (OpenAI dicts) the way ``Llama`` does."""

    def chat(self, messages: Sequence[Mapping[str, Any]], **kw: Any) -> dict[str, Any]: ...

    def stream(
        self, messages: Sequence[Mapping[str, Any]], **kw: Any
    ) -> Iterator[dict[str, Any]]: ...


@dataclass(frozen=True)
class EngineSettings:
    """How to load a local model. ``model``: a short name (``qwen2.5-coder-1.5b``,
    ``smollm2-135m``) or a ``.gguf`` path. ``n_threads``: CPU threads (None: half the cores,
    at least 1). ``n_gpu_layers``: -1 offloads every layer (set where a GPU exists)."""

    model: str = "qwen2.5-coder-1.5b"
    n_threads: int | None = None
    n_ctx: int | None = None
    n_gpu_layers: int = 0
    seed: int = 0
    cache_dir: str | None = None
    wheel_dir: str | None = None


def default_threads() -> int:
    return max(1, (os.cpu_count() or 2) // 2)


class LlamaEngine:
    """Loads the GGUF once; ``chat``/``stream`` are serialised by a lock (llama.cpp contexts are
    not re-entrant)."""

    def __init__(self, settings: EngineSettings = EngineSettings()) -> None:
        from perturbo.agents.weights import resolve_local_model

        try:
            from llama_cpp import Llama
        except ImportError as e:  # pragma: no cover - depends on the install
            raise PerturboError(
                "the local LLM backend needs llama-cpp-python: pip install llama-cpp-python==0.3.36 "
                "(or use --llm openai|anthropic|ollama)"
            ) from e
        local = resolve_local_model(settings.model, settings.cache_dir, settings.wheel_dir)
        self.model_name = local.name
        self.settings = settings
        self._lock = threading.Lock()
        self._llm = Llama(
            model_path=str(local.path),
            n_ctx=settings.n_ctx or local.n_ctx,
            n_threads=settings.n_threads or default_threads(),
            n_threads_batch=settings.n_threads or default_threads(),
            n_gpu_layers=settings.n_gpu_layers,
            seed=settings.seed,
            verbose=False,
        )

    def chat(self, messages: Sequence[Mapping[str, Any]], **kw: Any) -> dict[str, Any]:
        with self._lock:
            return dict(
                self._llm.create_chat_completion(messages=list(messages), stream=False, **kw)
            )

    def stream(self, messages: Sequence[Mapping[str, Any]], **kw: Any) -> Iterator[dict[str, Any]]:
        with self._lock:
            yield from self._llm.create_chat_completion(messages=list(messages), stream=True, **kw)

    def count_tokens(self, text: str) -> int:
        return len(self._llm.tokenize(text.encode(), add_bos=False))


_SHARED: dict[EngineSettings, LlamaEngine] = {}
_SHARED_LOCK = threading.Lock()


def shared_engine(settings: EngineSettings) -> LlamaEngine:
    """One loaded model per settings in this process (the in-process analogue of ModelHost)."""
    with _SHARED_LOCK:
        if settings not in _SHARED:
            _SHARED[settings] = LlamaEngine(settings)
        return _SHARED[settings]
