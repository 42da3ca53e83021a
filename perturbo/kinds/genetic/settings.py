"""The genetic kind's settings, each written once: the model's fields carry the type, default
and help, and the flags are generated from them (:mod:`perturbo.flags`). Light: pydantic and
argparse only, so ``perturbo --help`` stays fast."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator

from perturbo.agents.settings import LLMConfig
from perturbo.flags import Flag, add_flags, defaults

AGENT = "agent"
"""The help group of the LLM agent's own flags."""
LAB = "lab"
"""The help group of the lab-in-the-loop flags."""
RECORD = "record"
"""The help group of what perturbo records at a campaign's start (resume checks it)."""
GROUPS = {
    "": "genetic campaign",
    AGENT: "LLM agent (--planner agent|hybrid)",
    "llm": "LLM backend (--planner agent|hybrid, --text-rerank llm)",
    "lab": "lab in the loop (--lab)",
    RECORD: "recorded at the start (set by perturbo; `perturbo resume` checks them)",
}
"""Help group key -> title, in the order ``--help`` lists them."""


class GeneticConfig(LLMConfig):
    """What a genetic campaign is. Logged to MLflow as the campaign's config (resume rebuilds
    from it), so every field is plain JSON."""

    kind: Literal["genetic"] = "genetic"
    screen: Annotated[
        str,
        Flag(
            metavar="NAME|CSV",
            path="file_or_name",
            more=": IFNG, IL2, Carnevale22_Adenosine, Scharenberg22, or my_screen.csv",
        ),
    ] = Field(
        "IFNG",
        description="a built-in screen name or the path to a Gene,Score CSV (.tsv: tab-separated)",
    )
    hits: Annotated[
        str | None,
        Flag(
            metavar="FILE",
            path="file",
            more="; without it the top 5% of genes by |score| are the hits",
        ),
    ] = Field(None, description="text file with one hit gene per line (own CSV only)")
    task: Annotated[str | None, Flag(metavar="JSON|TEXT", path="file_or_name")] = Field(
        None, description="task.json or the task sentence (own CSV only)"
    )
    modality: Literal["knockout", "crispri", "crispra"] | None = Field(
        None, description="perturbation: knockout, crispri or crispra (None: from the task)"
    )
    hit_tail: Literal["both", "high", "low"] | None = Field(
        None,
        description="which Score tail the default top-5 percent hit rule takes (None: from the task)",
    )
    planner: Annotated[
        Literal["random", "bo", "agent", "hybrid"],
        Flag(
            more=": random (seeded baseline), bo (Bayesian optimisation over gene-set "
            "features), agent (LLM), hybrid (LLM + bo)"
        ),
    ] = Field("bo", description="who proposes")
    rounds: int = Field(5, gt=0, description="rounds of experiments")
    batch: int = Field(128, gt=0, description="genes knocked out per round")
    seed: int = Field(0, ge=0, description="random seed")
    acquisition: Annotated[
        Literal["greedy", "ucb", "thompson", "rwr"],
        Flag(
            more="; rwr ranks the untested genes by a random walk with restart from the "
            "hits found so far over the gene x gene-set graph (network propagation)"
        ),
    ] = Field("greedy", description="bo: how the next batch is picked from the GP")
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
    learn_from_past: Annotated[
        bool, Flag(off="bo: do not use earlier campaigns' results in the transfer prior")
    ] = Field(
        True,
        description="bo: also learn the transfer prior from earlier genetic campaigns in MLflow",
    )
    # agent / hybrid (perturbo.kinds.genetic.agent.genetic_factory.make_genetic_planner reads these and llm* keys)
    critic: Annotated[bool, Flag(group=AGENT)] = Field(
        False, description="agent: a critic reviews each proposal"
    )
    agent_style: Annotated[Literal["sets", "genes"], Flag(group=AGENT)] = Field(
        "sets", description="agent: choose among gene sets (small models) or name genes"
    )
    agent_share: Annotated[float, Flag(group=AGENT)] = Field(
        0.25, ge=0.0, le=1.0, description="hybrid: share of the batch the agent picks"
    )
    # lab in the loop (perturbo.kinds.genetic.lab.outside): the lab runs the experiments
    lab: Annotated[bool, Flag(group=LAB)] = Field(
        False,
        description=(
            "the experiments run in a lab: propose a batch, record it as pending and exit; "
            "`perturbo tell` records the results and proposes the next batch"
        ),
    )
    library: Annotated[str | None, Flag(group=LAB, metavar="CSV", path="file")] = Field(
        None, description="lab: the library, a CSV with a Gene column (one row per gene or guide)"
    )
    hit_rule: Annotated[str | None, Flag(group=LAB, metavar="RULE")] = Field(
        None,
        description='lab: what counts as a hit: column, "score>=T", "score<=T", "abs>=T", "z>=T"',
    )
    exclude: Annotated[str | None, Flag(group=LAB, metavar="FILE", path="file")] = Field(
        None, description="lab: file of genes never to propose"
    )
    controls: Annotated[str | None, Flag(group=LAB, metavar="FILE", path="file")] = Field(
        None, description="lab: file of control genes measured in every batch (never hits)"
    )

    # what the campaign's files were at its start (perturbo.kinds.genetic.checks)
    screen_sha256: Annotated[str | None, Flag(group=RECORD, metavar="HEX")] = Field(
        None,
        description=(
            "sha256 of the screen file's content, recorded at the start (a built-in screen has "
            "none); resume refuses a screen file whose content changed. Give it to pin the file"
        ),
    )
    hits_sha256: Annotated[str | None, Flag(group=RECORD, metavar="HEX")] = Field(
        None, description="sha256 of the --hits file's content, recorded and checked likewise"
    )
    started_in: Annotated[str | None, Flag(group=RECORD, metavar="DIR")] = Field(
        None,
        description="the folder the campaign was started in (named when a file is missing)",
    )

    @field_validator("screen")
    @classmethod
    def _screen_path(cls, v: str) -> str:
        """A user's screen file (any format: .csv, .tsv, .txt, ...) is logged by absolute path,
        so resume finds it from any directory; a built-in name stays a name."""
        p = Path(v).expanduser()
        if v.lower() in _builtin_names() or not p.is_file():
            return v
        return str(p.resolve())

    @field_validator("hits", "task", "library", "exclude", "controls")
    @classmethod
    def _file_path(cls, v: str | None) -> str | None:
        if v is None:
            return v
        p = Path(v).expanduser()
        return str(p.resolve()) if p.is_file() else v


def _builtin_names() -> frozenset[str]:
    """The built-in screens' names, lower case (a glob: no numpy here)."""
    here = Path(__file__).resolve().parent / "data" / "screens"
    return frozenset(p.stem.lower() for p in here.glob("*.csv"))


DEFAULTS = defaults(GeneticConfig)
"""Every setting's default, for code that reads a plain config dict (compose, the planners'
factories): written once, in :class:`GeneticConfig`."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The genetic kind's flags, generated from :class:`GeneticConfig` (defaults SUPPRESSed
    so a TOML file can set them; the defaults shown come from the model)."""
    add_flags(parser, GeneticConfig, GROUPS)


__all__ = ["DEFAULTS", "GROUPS", "GeneticConfig", "add_arguments"]
