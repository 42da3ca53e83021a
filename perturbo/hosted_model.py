"""The campaign's local LLM hosted once in a Ray actor, for the composition root
(:mod:`perturbo.launch`) to start before the pool and close after the campaign."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from perturbo.config import RunOptions
    from perturbo.kindspec import KindSpec

__all__ = ["HostedModel", "start_model_host"]


@dataclass
class HostedModel:
    """The campaign's local LLM, loaded once in a Ray actor and shared by its agents."""

    engine: Any
    runtime: Any

    def close(self) -> None:
        try:
            self.engine.shutdown()
        finally:
            self.runtime.shutdown()


def start_model_host(
    spec: KindSpec, config: Mapping[str, Any], options: RunOptions, address: str | None
) -> HostedModel | None:
    """Host the embedded model in a Ray actor where the kind's planner uses it and the campaign
    runs on Ray (with ``local`` the agent loads it in this process)."""
    if options.local or not spec.uses_local_llm(config):
        return None
    from perturbo.actors import connect
    from perturbo.actors.model_host import ModelHost
    from perturbo.agents.llm import engine_settings, llm_settings

    runtime = connect(address)  # the pool's connect() later joins this same Ray
    try:
        print(
            "loading the local LLM into a Ray actor (once per campaign) ...",
            file=sys.stderr,
            flush=True,
        )
        es = engine_settings(llm_settings(config), gpu=runtime.has_gpu())
        return HostedModel(ModelHost.start(es, runtime), runtime)
    except BaseException:
        runtime.shutdown()
        raise
