"""The genetic kind's :class:`~perturbo.kindspec.KindSpec` (light to import)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from perturbo.findings import Findings
from perturbo.kinds.genetic.plots import GENETIC_PLOTTERS
from perturbo.kinds.genetic.settings import DEFAULTS, GeneticConfig, add_arguments
from perturbo.kindspec import BuildContext, KindSpec


def _build(config: Mapping[str, Any], context: BuildContext) -> Any:
    from perturbo.kinds.genetic.compose import build

    return build(config, context)


def default_name(config: Mapping[str, Any]) -> str:
    c = {**DEFAULTS, **config}
    return f"genetic-{Path(str(c['screen'])).stem}-{c['planner']}-s{c['seed']}"


def uses_local_llm(config: Mapping[str, Any]) -> bool:
    """Whether this campaign's planner runs the embedded model (worth hosting once in Ray)."""
    planner, llm = config.get("planner"), config.get("llm", DEFAULTS["llm"])
    return planner in ("agent", "hybrid") and llm == "local"


HITS = Findings(
    noun="hits",
    label="hit",
    subjects=("gene", "pair"),
    score="score",
    count="hits_total",
    share="hit_ratio",
    total="screen_hits",
    file="hits.csv",
)
"""A genetic campaign finds a screen's hits: "12 of 45 hits found (27%) in 256 experiments"."""


def _planners() -> Any:
    """The kind's planner table (imported on call: the spec stays light)."""
    from perturbo.kinds.genetic.compose import TABLE

    return TABLE


def _lab() -> Any:
    """What the lab loop (:mod:`perturbo.lab`) asks of this kind (imported on call)."""
    from perturbo.kinds.genetic.lab.outside import LAB

    return LAB


KIND = KindSpec(
    name="genetic",
    description="which genes to knock out in a CRISPR screen, round by round",
    config_model=GeneticConfig,
    add_arguments=add_arguments,
    build=_build,
    planners=_planners,
    default_name=default_name,
    headline=("hits_round", "hits_total", "hit_ratio"),
    subject="screen",
    plotters=GENETIC_PLOTTERS,
    nesting="round",
    uses_local_llm=uses_local_llm,
    budget_keys=("rounds",),
    tag_params=("screen", "study"),
    findings=HITS,
    extras={"lab": _lab},
    examples="""\
  perturbo run genetic                                  # the demo: IFNG screen, bo, 5 x 128 genes
  perturbo run genetic --screen IFNG --planner bo --rounds 5 --batch 128 --seed 0
  perturbo run genetic --screen my_screen.csv --hits my_hits.txt --planner random --local
  perturbo run genetic --planner hybrid --llm local     # LLM agent + bo (after `make llm`)
  perturbo run genetic --config run.toml                # settings from a TOML file (flags win)
""",
)

__all__ = ["HITS", "KIND"]
