"""Which mechanism chose each gene of a ``bo`` batch, in words for the batch sheet's ``Why``.

The round's note (the spec's ``note``) says how the round was planned and counts the genes
set-level Thompson drew; :func:`label` names, per pick, which mechanism chose it, so the sheet
(:func:`perturbo.kinds.genetic.lab.sheet.gene_reasons`) can say it of each gene. The words are
kept on the planner (``pick_reasons``), never in the specs: proposals stay as they were.
"""

from __future__ import annotations

from collections.abc import Sequence

from perturbo.kinds.genetic.screens import normalize_gene

__all__ = [
    "MEAN",
    "MEAN_LIAR",
    "PRIOR",
    "PRIOR_THOMPSON",
    "RWR",
    "SET_THOMPSON",
    "THOMPSON",
    "UCB",
    "UNIFORM",
    "label",
]

MEAN = "highest posterior mean P(hit)"
UCB = "highest upper confidence bound (posterior mean + beta x sd)"
THOMPSON = "a posterior Thompson draw"
SET_THOMPSON = "a set-level Thompson draw (rare hits: exploring a gene set)"
MEAN_LIAR = "highest posterior mean P(hit), constant-liar batch"
PRIOR = "a top prior score"
PRIOR_THOMPSON = "a Thompson draw from the prior (round 1)"
RWR = "random walk from the hits found"
UNIFORM = "uniform random (the stopping estimate's sample)"


def label(picked: Sequence[tuple[str, float]], *reasons: tuple[int, str]) -> dict[str, str]:
    """Each picked gene (normalised) -> its mechanism: ``reasons`` are ``(count, words)`` runs
    over ``picked`` in order; the last run's words cover whatever is left."""
    out: dict[str, str] = {}
    i = 0
    for k, (count, words) in enumerate(reasons):
        end = len(picked) if k == len(reasons) - 1 else i + count
        for g, _ in picked[i:end]:
            out[normalize_gene(g)] = words
        i = end
    return out
