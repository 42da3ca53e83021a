"""``ModelHost``: one Ray actor holding the local GGUF model, shared by every agent of a campaign.

The model (1.1 GB for the default Qwen2.5-Coder-1.5B) is loaded once, inside a long-lived
actor; agents talk to it through :class:`ModelHost`, a small picklable client with the same
``chat``/``stream`` methods as :class:`perturbo.agents.llama_engine.LlamaEngine`, so
:class:`perturbo.agents.local_chat.LocalChatModel` works with either. Where the cluster has a
GPU the actor asks for one and offloads every layer (``n_gpu_layers=-1``).

Usage::

    runtime = connect()
    host = ModelHost.start(EngineSettings(model="qwen2.5-coder-1.5b", n_threads=2), runtime)
    llm = make_chat_model(LLMSettings(), engine=host)   # every agent gets the same host
    ...
    host.shutdown()
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from perturbo.agents.llama_engine import EngineSettings
from perturbo.types import PerturboError


class _ModelHostActor:
    """The actor body: a :class:`LlamaEngine` and its two methods (plain Python)."""

    def __init__(self, settings: EngineSettings) -> None:
        from perturbo.agents.llama_engine import LlamaEngine

        self.engine = LlamaEngine(settings)

    def info(self) -> dict[str, Any]:
        return {"model": self.engine.model_name, "n_gpu_layers": self.engine.settings.n_gpu_layers}

    def chat(self, messages: list[dict[str, Any]], kw: dict[str, Any]) -> dict[str, Any]:
        return self.engine.chat(messages, **kw)

    def stream(
        self, messages: list[dict[str, Any]], kw: dict[str, Any]
    ) -> Iterator[dict[str, Any]]:
        yield from self.engine.stream(messages, **kw)


class ModelHost:
    """Client of the model actor (picklable: it holds only the actor handle)."""

    def __init__(self, actor: Any, model_name: str, gpu: bool) -> None:
        self._actor = actor
        self.model_name = model_name
        self.gpu = gpu

    @classmethod
    def start(
        cls,
        settings: EngineSettings | None = None,
        runtime: Any = None,
        gpu: bool | None = None,
        name: str | None = None,
        num_cpus: float = 0.0,
        timeout_s: float = 600.0,
    ) -> ModelHost:
        """Start (or, with ``name``, reuse) the actor and wait until the model is loaded.

        ``gpu=None``: use a GPU where ``runtime`` (a :class:`~perturbo.actors.ray_runtime.RayRuntime`)
        reports one. ``num_cpus`` is the Ray resource reserved (0: the model's threads are
        governed by ``settings.n_threads``, and the executor actors keep the CPUs).
        """
        import ray

        settings = settings or EngineSettings()
        if not ray.is_initialized():
            raise PerturboError("ModelHost needs Ray: call perturbo.actors.connect() first")
        if gpu is None:
            gpu = (
                bool(runtime.has_gpu())
                if runtime is not None
                else ray.cluster_resources().get("GPU", 0) > 0
            )
        if gpu and settings.n_gpu_layers == 0:
            settings = dataclasses.replace(settings, n_gpu_layers=-1)
        opts: dict[str, Any] = {
            "num_cpus": num_cpus,
            "num_gpus": 1 if gpu else 0,
            "max_restarts": 1,
        }
        if name:
            opts.update(name=name, get_if_exists=True)
        actor = ray.remote(_ModelHostActor).options(**opts).remote(settings)
        try:
            info = ray.get(actor.info.remote(), timeout=timeout_s)
        except ray.exceptions.RayActorError as e:
            cause = e.__cause__ or e
            raise PerturboError(
                f"the local model could not be loaded in its actor: {cause}"
            ) from None
        except ray.exceptions.GetTimeoutError:
            ray.kill(actor)
            raise PerturboError(
                f"the local model did not load within {timeout_s:g} s: check that the cluster has "
                "room for the ModelHost actor (free a GPU or use a smaller model)"
            ) from None
        except ray.exceptions.RayTaskError as e:
            raise PerturboError(f"the local model could not be loaded: {e.cause}") from None
        return cls(actor, str(info["model"]), gpu)

    def chat(self, messages: Sequence[Mapping[str, Any]], **kw: Any) -> dict[str, Any]:
        import ray

        return ray.get(self._actor.chat.remote([dict(m) for m in messages], kw))

    def stream(self, messages: Sequence[Mapping[str, Any]], **kw: Any) -> Iterator[dict[str, Any]]:
        import ray

        gen = self._actor.stream.options(num_returns="streaming").remote(
            [dict(m) for m in messages], kw
        )
        for ref in gen:
            yield ray.get(ref)

    def shutdown(self) -> None:
        """Stop the actor (frees the model's memory)."""
        import ray

        if self._actor is not None and ray.is_initialized():
            ray.kill(self._actor)
        self._actor = None
