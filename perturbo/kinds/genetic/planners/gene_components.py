"""The gene planner's knowledge priors as components of its GP's prior mean: one P(hit) per
transfer source (:mod:`perturbo.kinds.genetic.planners.gene_priors`) and one from the task text
(:mod:`perturbo.kinds.genetic.planners.gene_text`), each with the mean of its weight's prior, plus round 1's
combined P(hit) (the transfer sources' logit average, nudged by the text prior)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from perturbo.kinds.genetic.genesets import GeneKnowledge
from perturbo.kinds.genetic.planners import gene_priors, gene_text
from perturbo.kinds.genetic.planners.gene_priors import LabelSource, logit, sigmoid
from perturbo.kinds.genetic.screens import ScreenView

__all__ = [
    "BASE_RATE",
    "TEXT_CLIP",
    "TEXT_WEIGHT",
    "Components",
    "add_degree",
    "build",
    "given",
]

TEXT_WEIGHT = 0.1
TEXT_CLIP = 3.0
"""The text prior (z-scored, clipped to +-TEXT_CLIP) enters round 1's logit with weight
TEXT_WEIGHT beside a transfer prior (measured weak), with full weight alone."""
BASE_RATE = 0.05
"""Prior hit rate assumed where no transfer prior calibrates it (text-only / none)."""


@dataclass
class Components:
    """``names[c]``, ``comps[c]`` (P(hit) per gene) and ``mus[c]`` (its weight's prior mean)
    of every component; ``prior``: round 1's P(hit) (``None``: no knowledge prior);
    ``text_rerank``: what a text reranker did, if one was given."""

    prior: np.ndarray | None = None
    names: list[str] = field(default_factory=list)
    comps: list[np.ndarray] = field(default_factory=list)
    mus: list[float] = field(default_factory=list)
    text_rerank: gene_text.TextRerank | None = None


def build(
    view: ScreenView,
    knowledge: GeneKnowledge,
    prior_name: str,
    extra_labels: Sequence[Mapping[str, bool] | LabelSource],
    sources: Sequence[LabelSource] | None,
    cache_dir: Path | None,
    reranker: gene_text.SetReranker | None = None,
) -> Components:
    """The components ``prior_name`` (``transfer+text``, ``transfer``, ``text``, ``none``)
    asks for. ``sources``: transfer sources already checked against the screen's content
    (``None``: the shipped screens and ``extra_labels`` minus this screen's name/study)."""
    out = Components()
    if prior_name == "none":
        return out
    per: list[tuple[str, np.ndarray]] = []
    if "transfer" in prior_name:
        srcs = gene_priors.view_sources(view, extra_labels) if sources is None else sources
        per = gene_priors.source_priors(view, srcs, cache_dir=cache_dir)
    text = None
    if "text" in prior_name and reranker is not None:
        text, out.text_rerank = gene_text.reranked_text_prior(
            view, knowledge, reranker, cache_dir=cache_dir
        )
    elif "text" in prior_name:
        text = gene_priors.text_prior(view, knowledge, cache_dir=cache_dir)
    if not per and text is None:
        return out
    for name, p in per:  # equal weights summing to 1: the logit-average's calibration
        out.names.append(f"transfer:{name}")
        out.comps.append(p)
        out.mus.append(1.0 / len(per))
    base = logit(np.array(BASE_RATE))
    combined = (
        np.mean([logit(p) for _, p in per], axis=0) if per else np.full(len(view.genes), base)
    )
    if text is not None:
        z = np.clip(text, -TEXT_CLIP, TEXT_CLIP)
        weight = TEXT_WEIGHT if per else 1.0
        combined = combined + weight * z
        out.names.append("text")
        out.comps.append(sigmoid(base + z))
        out.mus.append(weight)
    out.prior = sigmoid(combined)
    return out


def given(
    prior_scores: Sequence[float] | np.ndarray | Mapping[str, np.ndarray], n: int
) -> Components:
    """Components from explicit P(hit) per gene: one array (named ``given``) or
    ``{name: P(hit)}`` for several, weighed like transfer sources (equal weight means summing
    to 1); round 1's prior is their logit average."""
    named = prior_scores if isinstance(prior_scores, Mapping) else {"given": prior_scores}
    comps = [_checked_prior(v, n) for v in named.values()]
    return Components(
        prior=sigmoid(np.mean([logit(c) for c in comps], axis=0)),
        names=list(named),
        comps=comps,
        mus=[1.0 / len(comps)] * len(comps),
    )


def add_degree(out: Components, knowledge: GeneKnowledge) -> Components:
    """Add the annotation-depth component (log gene-set count, z-scored): its weight's prior
    mean is 0, so it is switched on (w > 0) only if the labels say so."""
    deg = np.log1p(np.diff(knowledge.binary.indptr).astype(float))
    z = np.clip((deg - deg.mean()) / (deg.std() or 1.0), -TEXT_CLIP, TEXT_CLIP)
    out.names.append("degree")
    out.comps.append(sigmoid(logit(np.array(BASE_RATE)) + z))
    out.mus.append(0.0)
    return out


def _checked_prior(values: Sequence[float] | np.ndarray, n: int) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.shape != (n,) or not np.all(np.isfinite(arr)) or arr.min() < 0 or arr.max() > 1:
        raise ValueError(f"prior_scores must be {n} probabilities in [0, 1], one per screen gene")
    return arr
