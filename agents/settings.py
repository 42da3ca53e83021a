"""The LLM settings every agent planner shares: one pydantic model and one set of flags.

Light on purpose (pydantic and argparse only): kinds' settings models inherit
:class:`LLMConfig`, and their ``add_arguments`` call :func:`add_llm_arguments`, so every kind
offers the same ``--llm*`` flags with the same defaults. :func:`perturbo.agents.llm.llm_settings`
turns these keys into the backend's :class:`~perturbo.agents.llm.LLMSettings`.
"""

from __future__ import annotations

import argparse
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class LLMConfig(BaseModel):
    """The ``llm*`` settings of a campaign whose planner may be an LLM agent."""

    model_config = ConfigDict(extra="forbid")

    llm: Literal["local", "openai", "anthropic", "ollama"] = Field(
        "local",
        description="agent: LLM backend (local = the embedded model, offline; API keys come "
        "from the environment, never logged)",
    )
    llm_model: str | None = Field(None, description="agent: model name (backend default if unset)")
    llm_base_url: str | None = Field(
        None, description="agent: base URL of an OpenAI-compatible or ollama server"
    )
    llm_threads: int | None = Field(None, gt=0, description="agent: CPU threads of the local model")
    llm_max_tokens: int = Field(400, gt=0, description="agent: max tokens per answer")
    llm_structured_method: Literal["json_mode", "function_calling", "json_schema"] = Field(
        "function_calling",
        description="agent: how structured output is requested from a remote model "
        "(function_calling: measured to parse against llama_cpp.server; json_mode did not)",
    )
    max_repairs: int = Field(2, ge=0, description="agent: repair turns for invalid proposals")


_METAVARS = {
    "llm": "local|openai|anthropic|ollama",
    "llm_model": "NAME",
    "llm_base_url": "URL",
    "llm_structured_method": "function_calling|json_mode|json_schema",
}
_TYPES = {"llm_threads": int, "llm_max_tokens": int, "max_repairs": int}


def add_llm_arguments(
    parser: argparse.ArgumentParser, title: str = "LLM agent (--planner agent)"
) -> None:
    """The ``--llm*`` flags of :class:`LLMConfig`, defaults SUPPRESSed (a TOML file may set
    them); the defaults shown come from the model."""
    g = parser.add_argument_group(title)
    for name, info in LLMConfig.model_fields.items():
        kw: dict[str, object] = {"default": argparse.SUPPRESS, "dest": name}
        if name in _METAVARS:
            kw["metavar"] = _METAVARS[name]
        if name in _TYPES:
            kw["type"] = _TYPES[name]
        g.add_argument(
            "--" + name.replace("_", "-"),
            help=f"{info.description} (default: {info.default})",
            **kw,  # type: ignore[arg-type]
        )


__all__ = ["LLMConfig", "add_llm_arguments"]
