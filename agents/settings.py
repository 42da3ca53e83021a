"""The LLM settings every agent planner shares: one pydantic model, its flags generated.

Light on purpose (pydantic and argparse only): kinds' settings models inherit
:class:`LLMConfig`, whose fields sit in the ``"llm"`` help group; a kind titles that group
when it generates its flags (:func:`perturbo.flags.add_flags`), so every kind offers the same
``--llm*`` flags with the same defaults. :func:`perturbo.agents.llm.llm_settings` turns these
keys into the backend's :class:`~perturbo.agents.llm.LLMSettings`, its defaults read from
:data:`LLM_DEFAULTS`.
"""

from __future__ import annotations

import argparse
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from perturbo.flags import Flag, add_flags, defaults

LLM = Flag(group="llm")
"""The help group of the LLM backend's flags (each kind titles it)."""


class LLMConfig(BaseModel):
    """The ``llm*`` settings of a campaign whose planner may be an LLM agent."""

    model_config = ConfigDict(extra="forbid")

    llm: Annotated[Literal["local", "openai", "anthropic", "ollama"], LLM] = Field(
        "local",
        description="agent: LLM backend (local = the embedded model, offline; API keys come "
        "from the environment, never logged)",
    )
    llm_model: Annotated[str | None, Flag(group="llm", metavar="NAME")] = Field(
        None, description="agent: model name (backend default if unset)"
    )
    llm_base_url: Annotated[str | None, Flag(group="llm", metavar="URL")] = Field(
        None, description="agent: base URL of an OpenAI-compatible or ollama server"
    )
    llm_threads: Annotated[int | None, LLM] = Field(
        None, gt=0, description="agent: CPU threads of the local model"
    )
    llm_max_tokens: Annotated[int, LLM] = Field(
        400, gt=0, description="agent: max tokens per answer"
    )
    llm_structured_method: Annotated[
        Literal["function_calling", "json_mode", "json_schema"], LLM
    ] = Field(
        "function_calling",
        description="agent: how structured output is requested from a remote model "
        "(function_calling: measured to parse against llama_cpp.server; json_mode did not)",
    )
    max_repairs: Annotated[int, LLM] = Field(
        2, ge=0, description="agent: repair turns for invalid proposals"
    )


LLM_DEFAULTS = defaults(LLMConfig)
"""The ``llm*`` defaults, for code that reads a plain config dict."""


def add_llm_arguments(
    parser: argparse.ArgumentParser, title: str = "LLM agent (--planner agent)"
) -> None:
    """The ``--llm*`` flags of :class:`LLMConfig` alone, under ``title`` (a kind whose model
    inherits :class:`LLMConfig` gets them from :func:`~perturbo.flags.add_flags`)."""
    add_flags(parser, LLMConfig, {"llm": title})


__all__ = ["LLM", "LLM_DEFAULTS", "LLMConfig", "add_llm_arguments"]
