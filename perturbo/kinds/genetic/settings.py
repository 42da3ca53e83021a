"""The genetic kind's settings and flags (light: pydantic and argparse only, so
``perturbo --help`` stays fast)."""

from __future__ import annotations

import argparse
from functools import partial
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from perturbo.agents.settings import LLMConfig, add_llm_arguments
from perturbo.config import field_help

PLANNERS = ("random", "bo", "agent", "hybrid")


class GeneticConfig(LLMConfig):
    """What a genetic campaign is. Logged to MLflow as the campaign's config (resume rebuilds
    from it), so every field is plain JSON."""

    kind: Literal["genetic"] = "genetic"
    screen: str = Field(
        "IFNG", description="a built-in screen name or the path to a Gene,Score CSV"
    )
    hits: str | None = Field(
        None, description="text file with one hit gene per line (own CSV only)"
    )
    task: str | None = Field(None, description="task.json or the task sentence (own CSV only)")
    modality: Literal["knockout", "crispri", "crispra"] | None = Field(
        None, description="perturbation: knockout, crispri or crispra (None: from the task)"
    )
    hit_tail: Literal["both", "high", "low"] | None = Field(
        None,
        description="which Score tail the default top-5 percent hit rule takes (None: from the task)",
    )
    planner: Literal["random", "bo", "agent", "hybrid"] = Field("bo", description="who proposes")
    rounds: int = Field(5, gt=0, description="rounds of experiments")
    batch: int = Field(128, gt=0, description="genes knocked out per round")
    seed: int = Field(0, ge=0, description="random seed")
    acquisition: Literal["greedy", "ucb", "thompson"] = Field(
        "greedy", description="bo: how the next batch is picked from the GP"
    )
    prior: Literal["transfer+text", "transfer", "text", "none"] = Field(
        "transfer+text", description="bo: knowledge used before any hit is seen"
    )
    text_rerank: Literal["none", "llm"] = Field(
        "none",
        description=(
            "bo: llm = the LLM backend (--llm*, the embedded model by default) picks the gene "
            "sets most relevant to the task among the text prior's 40 top sets, which are "
            "reranked (MiniLM's order kept on an unusable answer); cached per task, so a later "
            "campaign on the same task calls no LLM"
        ),
    )
    first_round: Literal["prior", "hedge"] = Field(
        "hedge",
        description=(
            "bo: round 1 by the prior alone, or hedge (half by the prior, half uniformly at "
            "random: seeds matter, and round 2 judges the prior on an unbiased sample)"
        ),
    )
    target: Literal["auto", "hits", "scores"] = Field(
        "auto",
        description=(
            "bo: what the GP learns from each tested gene: hits (its 0/1 hit label), scores "
            "(its measured Score, in the hit tail), or auto (a blend chosen each round by how "
            "well it ranks the hits found so far, left out one at a time)"
        ),
    )
    learn_from_past: bool = Field(
        True,
        description="bo: also learn the transfer prior from earlier genetic campaigns in MLflow",
    )
    # agent / hybrid (perturbo.kinds.genetic.agent.genetic_factory.make_genetic_planner reads these and llm* keys)
    critic: bool = Field(False, description="agent: a critic reviews each proposal")
    agent_style: Literal["sets", "genes"] = Field(
        "sets", description="agent: choose among gene sets (small models) or name genes"
    )
    agent_share: float = Field(
        0.25, ge=0.0, le=1.0, description="hybrid: share of the batch the agent picks"
    )

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


_help = partial(field_help, GeneticConfig)


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
        "--modality", default=s, metavar="knockout|crispri|crispra", help=_help("modality")
    )
    g.add_argument(
        "--hit-tail", dest="hit_tail", default=s, metavar="both|high|low", help=_help("hit_tail")
    )
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
        "--text-rerank",
        dest="text_rerank",
        default=s,
        metavar="none|llm",
        help=_help("text_rerank"),
    )
    g.add_argument(
        "--first-round",
        dest="first_round",
        default=s,
        metavar="prior|hedge",
        help=_help("first_round"),
    )
    g.add_argument("--target", default=s, metavar="auto|hits|scores", help=_help("target"))
    g.add_argument(
        "--no-learn-from-past",
        dest="learn_from_past",
        action="store_false",
        default=s,
        help="bo: do not use earlier campaigns' results in the transfer prior",
    )
    a = parser.add_argument_group("LLM agent (--planner agent|hybrid)")
    a.add_argument("--critic", action="store_true", default=s, help=_help("critic"))
    a.add_argument("--agent-style", default=s, metavar="sets|genes", help=_help("agent_style"))
    a.add_argument("--agent-share", type=float, default=s, help=_help("agent_share"))
    add_llm_arguments(parser, "LLM backend (--planner agent|hybrid, --text-rerank llm)")
