"""Priors over a screen's genes that need no network: what a planner believes before (and
beside) the labels it observes.

- **Transfer** ("learn from what this lab already measured"): one L2 logistic regression on
  gene-set membership *per label source* (a shipped screen, or the earlier campaigns on one
  screen), so the planner can weigh each source by how well it explains this campaign's own
  labels (:mod:`perturbo.kinds.genetic.planners.gene_gp`) and an unrelated screen fades after round 1.
- **Leak-proofing**: :func:`training_sources` never lets a screen learn from itself. A source
  is left out by *name/study* (the screen, its study siblings) and by *content*: a source whose
  scores correlate with the screen's (|Spearman| >= ``SAME_SCORE_RHO`` on shared genes) or
  whose hits coincide with the screen's on the shared genes (Jaccard >= ``SAME_HIT_JACCARD``)
  is the same measurement under another name (a renamed copy, a subset, a re-analysis), and a
  warning says so. Only the executor side (which holds the labelled screen) can run this
  check; planners receive the surviving sources and a label-free :class:`ScreenView`.
- :func:`text_prior` (in :mod:`perturbo.kinds.genetic.planners.gene_text`): task text vs gene-set names.

:func:`source_priors` returns one P(hit) vector per source (aligned with ``view.genes``),
cached on disk (``~/.cache/perturbo/priors``) keyed by its inputs.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from perturbo.kinds.genetic.genesets import (
    DEFAULT_CACHE,
    GeneKnowledge,
    LibrarySource,
    library_sources,
)
from perturbo.kinds.genetic.planners.gene_text import (  # one on-disk cache for both priors
    TEXT_TOP_FRACTION,
    _key,
    _load,
    _save,
    humanize,
    ship_embeddings,
    text_prior,
)
from perturbo.kinds.genetic.screens import (
    Screen,
    ScreenView,
    builtin_screens,
    load_screen,
    normalize_gene,
)

__all__ = [
    "SAME_HIT_JACCARD",
    "MIN_SHARED",
    "SAME_SCORE_RHO",
    "TEXT_TOP_FRACTION",
    "TRANSFER_C",
    "LabelSource",
    "builtin_sources",
    "humanize",
    "logit",
    "min_known",
    "same_content",
    "ship_embeddings",
    "sigmoid",
    "source_priors",
    "text_prior",
    "training_sources",
    "transfer_prior",
    "view_sources",
    "warm_cache",
]

log = logging.getLogger(__name__)

TRANSFER_C = 1.0
"""Inverse L2 strength of the transfer logistic regression (one global value, not per screen)."""
SAME_SCORE_RHO = 0.8
SAME_HIT_JACCARD = 0.5
"""Content thresholds for "this source is the screen itself". Justified by the one pair of
distinct screens from one study we have (IFNG vs IL2: hit Jaccard 0.17 and score Spearman 0.11 on shared genes, the
most alike two *different* screens get), while a copy, a subset or a re-scoring of one screen
shares its hits far above 0.5 and its scores at |rho| near 1."""
MIN_SHARED = 20
"""Fewer shared genes than this: too little to call two sources the same."""


@dataclass(frozen=True)
class LabelSource:
    """Observed gene -> hit labels from one screen (or the campaigns on one screen), tagged
    with its study; ``scores`` (gene -> measured score) where known, for the content check."""

    name: str
    study: str
    labels: Mapping[str, bool]
    scores: Mapping[str, float] = field(default_factory=dict)

    @property
    def n_hits(self) -> int:
        return int(sum(bool(v) for v in self.labels.values()))


def builtin_sources() -> list[LabelSource]:
    """Every shipped screen as a label source (with its scores)."""
    out = []
    for name in builtin_screens():
        s = _builtin(name)
        out.append(
            LabelSource(
                s.name,
                s.study,
                {g: g in s.hits for g in s.genes},
                dict(zip(s.genes, s.scores.tolist(), strict=True)),
            )
        )
    return out


def same_content(screen: Screen, src: LabelSource) -> str | None:
    """Why ``src`` holds ``screen``'s own measurements (a copy, subset or re-analysis), or
    ``None``. Compares scores (|Spearman|) and hits (Jaccard) on the genes they share."""
    shared = [g for g in src.labels if g in screen]
    if len(shared) < MIN_SHARED:
        return None
    if src.scores:
        both = [g for g in shared if g in src.scores]
        if len(both) >= MIN_SHARED:
            from scipy.stats import spearmanr  # noqa: PLC0415

            a = np.array([screen.score(g) for g in both])
            b = np.array([src.scores[g] for g in both])
            if a.std() > 0 and b.std() > 0:
                rho = float(spearmanr(a, b).statistic)
                if abs(rho) >= SAME_SCORE_RHO:
                    return (
                        f"its scores match this screen's (Spearman {rho:+.2f} on {len(both)} genes)"
                    )
    mine = {g for g in shared if g in screen.hits}
    theirs = {g for g in shared if src.labels[g]}
    union = mine | theirs
    if len(union) >= 3:
        jac = len(mine & theirs) / len(union)
        if jac >= SAME_HIT_JACCARD:
            return (
                f"its hits are this screen's hits (Jaccard {jac:.2f} on {len(shared)} shared genes)"
            )
    return None


def view_sources(
    view: ScreenView, extra: Sequence[LabelSource | Mapping[str, bool]] = ()
) -> list[LabelSource]:
    """The sources a planner holding only ``view`` may use: the shipped screens and ``extra``
    (earlier campaigns), minus the screen itself and its study siblings *by name*. Without the
    labelled screen no content check is possible: callers that hold it use
    :func:`training_sources`."""
    out: list[LabelSource] = []
    for other in builtin_sources():
        if other.name == view.name or other.study == view.study:
            continue
        out.append(other)
    for i, src in enumerate(extra):
        if not isinstance(src, LabelSource):
            clean = {normalize_gene(str(g)): bool(h) for g, h in src.items()}
            src = LabelSource(f"campaign{i}", f"campaign{i}", clean)
        if src.labels and src.study != view.study and src.name != view.name:
            out.append(src)
    return out


def min_known(src: LabelSource) -> int:
    """Fewest of a transfer source's labelled genes the gene-set libraries must know for it to
    be kept: :data:`MIN_SHARED`, or half its genes where it has fewer than twice that (at
    least one): a short earlier campaign may have few genes, all of them known."""
    return max(1, min(MIN_SHARED, len(src.labels) // 2))


def training_sources(
    screen: Screen,
    extra: Sequence[LabelSource | Mapping[str, bool]] = (),
    left_out: list[str] | None = None,
) -> list[LabelSource]:
    """The label sources a transfer prior for ``screen`` may learn from: :func:`view_sources`
    minus any source holding ``screen``'s own data (by content, with a warning) and minus any
    whose labelled genes the gene-set libraries hardly know (fewer than :func:`min_known`:
    Ensembl IDs, another organism's symbols). The prior learns from a source's genes' gene-set
    features, not from genes it shares with ``screen`` (an earlier campaign on other genes
    still teaches it), so a source with no known genes would be reported as used while it
    teaches nothing. Those are named, one ``"NAME (N of its M genes known)"`` each, in
    ``left_out`` and one warning."""
    from perturbo.kinds.genetic.genesets import known_symbols

    known = known_symbols()
    kept = []
    few: list[str] = []
    for src in view_sources(screen.view(), extra):
        n_known = sum(g in known for g in src.labels)
        if n_known < min_known(src):
            few.append(f"transfer:{src.name} ({n_known} of its {len(src.labels)} genes known)")
            continue
        why = same_content(screen, src)
        if why is None:
            kept.append(src)
            continue
        msg = (
            f"transfer prior: source {src.name!r} left out for screen {screen.name!r}: {why}, so "
            "it is this screen under another name; give the screen its true name/study, or "
            "use --prior text to silence this"
        )
        warnings.warn(msg, stacklevel=2)
        log.warning(msg)
    if few:
        if left_out is not None:
            left_out.extend(few)
        msg = (
            f"transfer prior: {len(few)} source(s) left out for screen {screen.name!r}: the "
            f"gene-set libraries know too few of their genes: {', '.join(few)}; they would "
            "teach the prior nothing (other gene IDs or species?)"
        )
        log.warning(msg)
    return kept


@lru_cache(maxsize=8)
def _builtin(name: str) -> Screen:
    return load_screen(name)


def source_priors(
    view: ScreenView,
    sources: Sequence[LabelSource],
    cache_dir: Path | None = DEFAULT_CACHE,
    libraries: Sequence[LibrarySource] | None = None,
) -> list[tuple[str, np.ndarray]]:
    """``[(source name, P(hit) per gene of view)]``: one logistic regression on gene-set
    membership per source with at least one hit. ``libraries`` overrides the gene-set
    libraries (tests, custom knowledge)."""
    srcs = [s for s in sources if s.n_hits > 0]
    if not srcs:
        return []
    libs = list(libraries or library_sources())
    union = tuple(dict.fromkeys([*view.genes, *(g for s in srcs for g in s.labels)]))
    know: GeneKnowledge | None = None
    out = []
    for s in srcs:
        key = _key(
            "transfer1",
            TRANSFER_C,
            view.genes,
            sorted(s.labels.items()),
            [x.fingerprint() for x in libs],
        )
        prior = _load(cache_dir, "priors", key)
        if prior is None:
            if know is None:
                know = GeneKnowledge.for_genes(union, sources=libs, cache_dir=cache_dir)
            prior = _fit_one(know, s, len(view.genes))
            _save(cache_dir, "priors", key, prior)
        out.append((s.name, prior))
    return out


def _fit_one(know: GeneKnowledge, src: LabelSource, n_target: int) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415

    genes = [g for g in src.labels if g in know]
    x = know.membership[np.asarray([know.index(g) for g in genes])]
    y = np.asarray([bool(src.labels[g]) for g in genes])
    model = LogisticRegression(C=TRANSFER_C, solver="liblinear", max_iter=200)
    model.fit(x, y)
    target = know.membership[np.arange(n_target)]  # the view's genes come first in the union
    return model.predict_proba(target)[:, 1]


def transfer_prior(
    view: ScreenView,
    sources: Sequence[LabelSource],
    cache_dir: Path | None = DEFAULT_CACHE,
    libraries: Sequence[LibrarySource] | None = None,
) -> np.ndarray | None:
    """One P(hit) per gene: the sources' priors averaged on the logit scale (each source
    weighted equally; what round 1 uses). ``None`` without any source with a hit."""
    per = source_priors(view, sources, cache_dir, libraries)
    if not per:
        return None
    return sigmoid(np.mean([logit(p) for _, p in per], axis=0))


def logit(p: np.ndarray) -> np.ndarray:
    """log(p / (1 - p)), ``p`` clipped to [1e-6, 1 - 1e-6] (priors are never certain)."""
    q = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(q / (1 - q))


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def warm_cache(cache_dir: Path | None = DEFAULT_CACHE) -> None:
    """Build every on-disk cache a ``bo`` campaign on a built-in screen reads: gene knowledge,
    per-source transfer priors and the MiniLM embeddings of all gene-set names (slow once per
    install; ``python -m perturbo.kinds.genetic.planners.gene_priors``)."""
    for name in builtin_screens():
        screen = _builtin(name)
        know = GeneKnowledge.for_genes(screen.genes, cache_dir=cache_dir)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            source_priors(screen.view(), training_sources(screen), cache_dir=cache_dir)
        text_prior(screen.view(), know, cache_dir=cache_dir)


if __name__ == "__main__":
    import sys

    if "--ship" in sys.argv:
        print(f"wrote {ship_embeddings()}")
    else:
        warm_cache()
