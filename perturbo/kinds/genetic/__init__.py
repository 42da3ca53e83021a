"""The genetic kind: which genes to knock out in a CRISPR screen, round by round.

- :mod:`.screens`: the shipped screens and a user's ``Gene,Score`` CSV;
- :mod:`.experiment`: the gene pool (the space), the executor and the round metrics;
- :mod:`.genesets`: gene-set libraries (MSigDB, Enrichr) as a gene x set matrix;
- :mod:`.settings` / :mod:`.compose`: flags, settings and ``build(config, context)``;
- :mod:`.plots`: the hit-ratio curve.

Its planners live here too: :mod:`.planners` (gene-set BO, priors, text, gene pairs) and
:mod:`.agent` (the LLM agent, its tools and the set reranker).
Importing this package loads only :data:`KIND` (light); the rest is imported on use.
"""

from __future__ import annotations

import importlib
from typing import Any

from perturbo.kinds.genetic.spec import KIND

_LAZY = {
    "GeneticConfig": "settings",
    "GenePool": "experiment",
    "GeneticExecutor": "experiment",
    "GeneticMetrics": "experiment",
    "hit_ratio_curve": "experiment",
    "tested_labels": "experiment",
    "HIT_FRACTION": "screens",
    "Screen": "screens",
    "builtin_screens": "screens",
    "load_screen": "screens",
    "normalize_gene": "screens",
    "build": "compose",
    "make_planner": "compose",
    "earlier_labels": "compose",
    "GeneBOPlanner": "planners.gene_bo",
    "PairBOPlanner": "planners.gene_pairs",
    "GeneticAgentPlanner": "agent.genetic",
    "make_genetic_planner": "agent.genetic_factory",
    "LLMSetReranker": "agent.gene_rerank",
}

__all__ = ["KIND", *sorted(_LAZY)]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
