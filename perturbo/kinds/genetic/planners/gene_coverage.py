"""How much of a screen ``bo``'s gene-set knowledge covers, and a warning saying why where it
covers little: gene IDs no library knows (Ensembl IDs, old aliases: map them to symbols), or
a screen too small for its gene sets (a set counts once it holds :data:`~.genesets.MIN_SET`
of the screen's genes)."""

from __future__ import annotations

import numpy as np

from perturbo.kinds.genetic.genesets import MIN_SET, GeneKnowledge, known_symbols
from perturbo.kinds.genetic.screens import ScreenView

__all__ = ["COVERAGE_WARN", "coverage_warning"]

COVERAGE_WARN = 0.5
"""Warn when fewer than this share of the screen's genes are in any gene set."""


def coverage_warning(view: ScreenView, knowledge: GeneKnowledge) -> str | None:
    """A warning when most genes match no gene set: the planner then has no knowledge to go
    on for them. Where most of those genes are symbols the libraries know, the screen is too
    small for the sets (and renaming would not help): the warning says that instead."""
    if len(view) == 0:
        return None
    rows = np.diff(knowledge.membership.indptr) > 0
    share = float(rows.mean())
    if share >= COVERAGE_WARN:
        return None
    unmatched = [g for g, r in zip(view.genes, rows, strict=True) if not r]
    known = known_symbols()
    if sum(g in known for g in unmatched) >= COVERAGE_WARN * len(unmatched):
        return (
            f"screen {view.name}: only {share:.0%} of its {len(view)} genes are in a gene set "
            f"holding at least {MIN_SET} of the screen's genes, though its symbols are known "
            "ones: the screen is too small for gene-set knowledge, so bo behaves close to "
            f"random on it; test its genes in full (--batch {len(view)}) or use --planner random"
        )
    return (
        f"screen {view.name}: only {share:.0%} of its {len(view)} genes match a gene set "
        f"(unmatched e.g. {', '.join(unmatched[:3])}), so bo has little knowledge to learn from "
        "and behaves close to random for them; map the Gene column to current HGNC symbols "
        "(e.g. Ensembl IDs -> symbols with biomart/mygene) and rerun"
    )
