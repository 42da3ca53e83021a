"""LLM backends behind one setting: ``local`` (embedded GGUF, the default), ``openai`` (any
OpenAI-compatible server), ``anthropic``, ``ollama``.

:class:`LLMSettings` is plain data (the CLI/config builds it; the API key arrives as a
value, never read from the environment here: :mod:`perturbo.config` is the one env reader)
and :func:`make_chat_model` turns it into a LangChain ``BaseChatModel``. Integrations other
than the local model and ``langchain-openai`` are optional extras, imported lazily; a missing
package or key is a :class:`~perturbo.types.PerturboError` naming the fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from perturbo.agents.settings import LLM_DEFAULTS
from perturbo.types import PerturboError

Backend = Literal["local", "openai", "anthropic", "ollama"]
BACKENDS: tuple[str, ...] = ("local", "openai", "anthropic", "ollama")

DEFAULT_MODELS = {
    "local": "qwen2.5-coder-1.5b",
    "openai": "gpt-4o-mini",
    "anthropic": "claude-3-5-sonnet-latest",
    "ollama": "qwen2.5-coder:1.5b",
}

OPENAI_URL = "https://api.openai.com/v1"


@dataclass(frozen=True)
class LLMSettings:
    """Which model answers the agents. ``api_key`` is excluded from ``repr`` and from
    :meth:`public` (what may be logged). ``structured_method`` is how remote backends are asked
    for JSON: ``function_calling`` (default: a forced tool call, which llama.cpp's server
    constrains to the schema -- measured to parse where ``json_mode`` did not, with SmolLM2
    on ``llama_cpp.server``), ``json_mode`` or ``json_schema``.
    ``n_threads``/``n_gpu_layers`` apply to ``local``
    (``n_gpu_layers=None``: all layers on a GPU where one exists, else none)."""

    backend: str = "local"
    model: str | None = None
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    temperature: float = 0.0
    max_tokens: int = 400
    timeout_s: float = 120.0
    max_retries: int = 1
    structured_method: str = "function_calling"
    n_threads: int | None = None
    n_ctx: int | None = None
    n_gpu_layers: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise PerturboError(
                f"--llm {self.backend!r} is not a backend: use one of {', '.join(BACKENDS)}"
            )

    @property
    def model_name(self) -> str:
        return self.model or DEFAULT_MODELS[self.backend]

    def public(self) -> dict[str, Any]:
        """The settings as loggable params: never the key (only whether one was given)."""
        d = asdict(self)
        d.pop("api_key")
        d["model"] = self.model_name
        d["api_key_set"] = self.api_key is not None
        return d


def llm_settings(config: Mapping[str, Any], api_key: str | None = None) -> LLMSettings:
    """:class:`LLMSettings` from a campaign config's ``llm*`` keys (``llm``, ``llm_model``,
    ``llm_base_url``, ``llm_threads``, ``llm_max_tokens``, ``llm_structured_method``, ``seed``).
    ``api_key``: given by the composition root; where ``None`` for a remote backend it is taken
    from :func:`perturbo.config.llm_api_key` (the one reader of environment variables)."""
    backend = str(config.get("llm") or LLM_DEFAULTS["llm"])
    if api_key is None and backend in ("openai", "anthropic"):
        from perturbo.config import llm_api_key

        api_key = llm_api_key(backend)
    threads = config.get("llm_threads")
    return LLMSettings(
        backend=backend,
        model=config.get("llm_model") or None,
        base_url=config.get("llm_base_url") or None,
        api_key=api_key,
        n_threads=int(threads) if threads else None,
        max_tokens=int(config.get("llm_max_tokens") or LLM_DEFAULTS["llm_max_tokens"]),
        structured_method=str(
            config.get("llm_structured_method") or LLM_DEFAULTS["llm_structured_method"]
        ),
        seed=int(config.get("seed", 0) or 0),
    )


def make_chat_model(settings: LLMSettings, engine: Any = None) -> Any:
    """A LangChain chat model for ``settings``.

    ``local``: ``engine`` is the model to talk to (a :class:`~perturbo.actors.model_host.ModelHost`
    client shared by the campaign's agents); ``None`` loads it in this process, once.
    """
    b = settings.backend
    if b == "local":
        from perturbo.agents.llama_engine import shared_engine
        from perturbo.agents.local_chat import LocalChatModel

        if engine is None:
            engine = shared_engine(engine_settings(settings, gpu=_gpu_offload()))
        return LocalChatModel(
            engine=engine,
            model_name=getattr(engine, "model_name", settings.model_name),
            temperature=settings.temperature,
            max_tokens=settings.max_tokens,
            seed=settings.seed,
        )
    if b == "openai":
        from langchain_openai import ChatOpenAI

        url = settings.base_url or OPENAI_URL
        key = settings.api_key
        if not key:
            if url.rstrip("/") == OPENAI_URL:
                raise PerturboError(
                    "--llm openai needs an API key: set OPENAI_API_KEY (or pass --llm-base-url "
                    "for a local OpenAI-compatible server that needs none)"
                )
            key = "not-needed"  # local servers (llama.cpp, vLLM) accept any key
        return ChatOpenAI(
            model=settings.model_name,
            base_url=url,
            api_key=key,  # type: ignore[arg-type]
            temperature=settings.temperature,
            max_tokens=settings.max_tokens,  # type: ignore[call-arg]
            timeout=settings.timeout_s,
            max_retries=settings.max_retries,
            seed=settings.seed,
        )
    if b == "anthropic":
        if not settings.api_key:
            raise PerturboError("--llm anthropic needs an API key: set ANTHROPIC_API_KEY")
        try:
            from langchain_anthropic import ChatAnthropic
        except ImportError as e:
            raise PerturboError(
                "--llm anthropic needs langchain-anthropic: pip install 'perturbo[anthropic]' "
                "(or pip install langchain-anthropic)"
            ) from e
        kw: dict[str, Any] = {}
        if settings.base_url:
            kw["base_url"] = settings.base_url
        return ChatAnthropic(  # type: ignore[call-arg]
            model=settings.model_name,
            api_key=settings.api_key,
            temperature=settings.temperature,  # type: ignore[arg-type]
            max_tokens=settings.max_tokens,
            timeout=settings.timeout_s,
            max_retries=settings.max_retries,
            **kw,
        )
    try:
        from langchain_ollama import ChatOllama
    except ImportError as e:
        raise PerturboError(
            "--llm ollama needs langchain-ollama: pip install 'perturbo[ollama]' "
            "(or pip install langchain-ollama)"
        ) from e
    return ChatOllama(
        model=settings.model_name,
        base_url=settings.base_url or "http://127.0.0.1:11434",
        temperature=settings.temperature,
        num_predict=settings.max_tokens,
        seed=settings.seed,
    )


def _gpu_offload() -> bool:
    """True where this llama.cpp build can offload layers to a GPU (a CUDA/Metal build)."""
    try:
        import llama_cpp

        return bool(llama_cpp.llama_supports_gpu_offload())
    except Exception:  # no llama-cpp: the engine raises its own clear error next
        return False


def engine_settings(settings: LLMSettings, gpu: bool) -> Any:
    """The :class:`~perturbo.agents.llama_engine.EngineSettings` for a local backend."""
    from perturbo.agents.llama_engine import EngineSettings

    layers = settings.n_gpu_layers if settings.n_gpu_layers is not None else (-1 if gpu else 0)
    return EngineSettings(
        model=settings.model_name,
        n_threads=settings.n_threads,
        n_ctx=settings.n_ctx,
        n_gpu_layers=layers,
        seed=settings.seed,
    )
