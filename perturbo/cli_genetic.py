"""``perturbo run genetic``: the genetic kind's flags, settings and parts.

``build(config)`` turns a plain config dict (from flags, a TOML file, or the config logged to
MLflow on resume) into :class:`~perturbo.parts.CampaignParts`. Heavy modules (the screen's
numpy data, BoTorch, LangChain) are imported inside the functions, so ``--help`` is fast.
"""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from perturbo.types import PerturboError

if TYPE_CHECKING:
    from perturbo.kinds.genetic import Screen
    from perturbo.parts import CampaignParts
    from perturbo.protocols import Planner

PLANNERS = ("random", "bo", "agent", "hybrid")
Labels = Sequence[Mapping[str, bool]]
PastLabels = Callable[["Screen"], Labels]
"""Given the screen being run, earlier campaigns' gene -> hit (from the tracking store)."""


class GeneticConfig(BaseModel):
    """What a genetic campaign is. Logged to MLflow as the campaign's config (resume rebuilds
    from it), so every field is plain JSON."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["genetic"] = "genetic"
    screen: str = Field(
        "IFNG", description="a built-in screen name or the path to a Gene,Score CSV"
    )
    hits: str | None = Field(
        None, description="text file with one hit gene per line (own CSV only)"
    )
    task: str | None = Field(None, description="task.json or the task sentence (own CSV only)")
    planner: Literal["random", "bo", "agent", "hybrid"] = Field("bo", description="who proposes")
    rounds: int = Field(5, gt=0, description="rounds of experiments")
    batch: int = Field(128, gt=0, description="genes knocked out per round")
    seed: int = Field(0, description="random seed")
    acquisition: Literal["greedy", "ucb", "thompson"] = Field(
        "greedy", description="bo: how the next batch is picked from the GP"
    )
    prior: Literal["transfer+text", "transfer", "text", "none"] = Field(
        "transfer+text", description="bo: knowledge used before any hit is seen"
    )
    learn_from_past: bool = Field(
        True,
        description="bo: also learn the transfer prior from earlier genetic campaigns in MLflow",
    )
    # agent / hybrid (perturbo.agents.genetic.make_genetic_planner reads these keys)
    llm: Literal["local", "openai", "anthropic", "ollama"] = Field(
        "local", description="agent: LLM backend (API keys come from the environment, never logged)"
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
    critic: bool = Field(False, description="agent: a critic reviews each proposal")
    agent_style: Literal["sets", "genes"] = Field(
        "sets", description="agent: choose among gene sets (small models) or name genes"
    )
    agent_share: float = Field(
        0.25, ge=0.0, le=1.0, description="hybrid: share of the batch the agent picks"
    )
    max_repairs: int = Field(2, ge=0, description="agent: repair turns for invalid proposals")

    @field_validator("screen")
    @classmethod
    def _screen_path(cls, v: str) -> str:
        """A user's CSV is logged by absolute path, so resume finds it from any directory."""
        p = Path(v).expanduser()
        return str(p.resolve()) if p.suffix.lower() == ".csv" and p.is_file() else v

    @field_validator("hits", "task")
    @classmethod
    def _file_path(cls, v: str | None) -> str | None:
        if v is None:
            return v
        p = Path(v).expanduser()
        return str(p.resolve()) if p.is_file() else v


def _help(field: str, extra: str = "") -> str:
    info = GeneticConfig.model_fields[field]
    return f"{info.description}{extra} (default: {info.default})"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The genetic kind's flags. Defaults are SUPPRESSed so a TOML file can set them; the
    defaults shown come from :class:`GeneticConfig`."""
    s = argparse.SUPPRESS
    g = parser.add_argument_group("genetic campaign")
    g.add_argument(
        "--screen",
        default=s,
        metavar="NAME|CSV",
        help=_help("screen", ": IFNG, IL2, Carnevale22_Adenosine, Scharenberg22, or my_screen.csv"),
    )
    g.add_argument(
        "--hits",
        default=s,
        metavar="FILE",
        help=_help("hits", "; without it the top 5%% of genes by |score| are the hits"),
    )
    g.add_argument("--task", default=s, metavar="JSON|TEXT", help=_help("task"))
    g.add_argument(
        "--planner",
        default=s,
        metavar="|".join(PLANNERS),
        help=_help(
            "planner",
            ": random (seeded baseline), bo (Bayesian optimisation over gene-set "
            "features), agent (LLM), hybrid (LLM + bo)",
        ),
    )
    g.add_argument("--rounds", type=int, default=s, help=_help("rounds"))
    g.add_argument("--batch", type=int, default=s, help=_help("batch"))
    g.add_argument("--seed", type=int, default=s, help=_help("seed"))
    g.add_argument(
        "--acquisition", default=s, metavar="greedy|ucb|thompson", help=_help("acquisition")
    )
    g.add_argument(
        "--prior", default=s, metavar="transfer+text|transfer|text|none", help=_help("prior")
    )
    g.add_argument(
        "--no-learn-from-past",
        dest="learn_from_past",
        action="store_false",
        default=s,
        help="bo: do not use earlier campaigns' results in the transfer prior",
    )
    a = parser.add_argument_group("LLM agent (--planner agent|hybrid)")
    a.add_argument("--llm", default=s, metavar="local|openai|anthropic|ollama", help=_help("llm"))
    a.add_argument("--llm-model", default=s, metavar="NAME", help=_help("llm_model"))
    a.add_argument("--llm-base-url", default=s, metavar="URL", help=_help("llm_base_url"))
    a.add_argument("--llm-threads", type=int, default=s, help=_help("llm_threads"))
    a.add_argument("--llm-max-tokens", type=int, default=s, help=_help("llm_max_tokens"))
    a.add_argument("--critic", action="store_true", default=s, help=_help("critic"))
    a.add_argument("--agent-style", default=s, metavar="sets|genes", help=_help("agent_style"))
    a.add_argument("--agent-share", type=float, default=s, help=_help("agent_share"))
    a.add_argument("--max-repairs", type=int, default=s, help=_help("max_repairs"))


def default_name(config: Mapping[str, Any]) -> str:
    screen = Path(str(config.get("screen", "screen"))).stem
    return f"genetic-{screen}-{config.get('planner', 'bo')}-s{config.get('seed', 0)}"


def make_planner(
    name: str,
    screen: Screen,
    config: Mapping[str, Any],
    extra_labels: Labels = (),
    engine: Any = None,
) -> Planner:
    """The planner ``name`` for ``screen``. ``extra_labels``: earlier campaigns' gene -> hit.
    ``engine``: the campaign's shared local model (a ModelHost client) for agent/hybrid."""
    seed = int(config.get("seed", 0))
    if name == "random":
        from perturbo.kinds.genetic import GenePool
        from perturbo.search.random import RandomPlanner

        return RandomPlanner(GenePool(screen.genes), "genetic", seed=seed)
    if name == "bo":
        try:
            from perturbo.search.gene_bo import GeneBOPlanner
        except ImportError as e:
            raise PerturboError(
                f"planner 'bo' is not available in this install ({e}): reinstall perturbo "
                "(`make install`) or use --planner random"
            ) from None
        return GeneBOPlanner(
            screen,
            seed=seed,
            acquisition=str(config.get("acquisition", "greedy")),
            prior=str(config.get("prior", "transfer+text")),
            extra_labels=tuple(extra_labels),
        )
    if name in ("agent", "hybrid"):
        try:
            from perturbo.agents.genetic import make_genetic_planner  # helper L's entry point
        except ImportError as e:
            raise PerturboError(
                f"planner {name!r} needs the LLM agents (perturbo.agents.genetic), which are "
                f"not available in this install ({e}): use --planner bo or --planner random"
            ) from None
        from perturbo.config import llm_api_key

        return make_genetic_planner(
            name,
            screen,
            config,
            extra_labels=tuple(extra_labels),
            engine=engine,
            api_key=llm_api_key(str(config.get("llm", "local"))),
        )
    raise PerturboError(f"--planner {name!r} is unknown: use one of {', '.join(PLANNERS)}")


def _uses_transfer(cfg: GeneticConfig) -> bool:
    return cfg.learn_from_past and cfg.planner in ("bo", "hybrid") and "transfer" in cfg.prior


def uses_local_llm(config: Mapping[str, Any]) -> bool:
    """Whether this campaign's planner runs the embedded model (worth hosting once in Ray)."""
    return config.get("planner") in ("agent", "hybrid") and config.get("llm", "local") == "local"


def build(
    config: Mapping[str, Any], past_labels: PastLabels | None = None, engine: Any = None
) -> CampaignParts:
    """The parts of one genetic campaign. ``past_labels`` (from the composition root, which
    owns the tracking store) feeds the transfer prior of ``bo``/``hybrid``; ``engine`` is the
    shared local model for ``agent``/``hybrid`` (``None``: loaded in this process)."""
    from perturbo.campaign import StopRule
    from perturbo.config import build_model
    from perturbo.kinds.genetic import GenePool, GeneticExecutor, GeneticMetrics, load_screen
    from perturbo.parts import CampaignParts

    cfg = (
        config
        if isinstance(config, GeneticConfig)
        else build_model(GeneticConfig, {}, config, "config")
    )
    screen = load_screen(cfg.screen, cfg.hits, cfg.task)
    space = GenePool(screen.genes)
    if cfg.batch > len(space):
        raise PerturboError(
            f"--batch {cfg.batch} is larger than the {len(space)} genes of screen {screen.name}: "
            f"use --batch {len(space)} or less"
        )
    labels: Labels = (
        past_labels(screen) if (past_labels is not None and _uses_transfer(cfg)) else ()
    )
    planner = make_planner(
        cfg.planner, screen, cfg.model_dump(), extra_labels=labels, engine=engine
    )
    params = {
        "planner": cfg.planner,
        "seed": cfg.seed,
        "batch": cfg.batch,
        "rounds": cfg.rounds,
        "screen": screen.name,
        "study": screen.study,
    }
    if cfg.planner in ("bo", "hybrid"):
        params.update(acquisition=cfg.acquisition, prior=cfg.prior, past_campaigns=len(labels))
    if cfg.planner in ("agent", "hybrid"):
        params.update(llm=cfg.llm, llm_model=cfg.llm_model or "default", critic=cfg.critic)
    return CampaignParts(
        kind="genetic",
        planner=planner,
        space=space,
        executor_factory=functools.partial(GeneticExecutor, screen),
        batch=cfg.batch,
        stop=StopRule(rounds=cfg.rounds),
        config=cfg.model_dump(),
        params=params,
        metrics=GeneticMetrics(screen),
        objective="hit",
        direction="max",
    )
