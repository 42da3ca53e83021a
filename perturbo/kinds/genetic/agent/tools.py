"""The genetic agent's tools: plain typed functions over what is known offline (gene sets,
:class:`~perturbo.kinds.genetic.genesets.GeneKnowledge`) and what the campaign measured.

Small local models cannot recall relevant genes (measured: ~2 of 20 real, no better than
chance), so the planner calls these tools itself and puts their answers in the prompt: the
model's judgement goes to *choosing* among numbered hypotheses (gene sets) the tools surface,
and the genes are then drawn from the chosen sets. The same functions are the tools a chat
agent or a strong remote model may call by name (:data:`TOOLS`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel, Field, create_model

from perturbo.kinds.genetic.genesets import Enrichment, GeneKnowledge
from perturbo.kinds.genetic.screens import normalize_gene
from perturbo.types import counted


@dataclass(frozen=True)
class Measured:
    """What the campaign measured so far: each tested gene's score and hit label."""

    scores: Mapping[str, float]
    hits: Mapping[str, bool]
    rounds: int

    @property
    def hit_genes(self) -> list[str]:
        return [g for g, h in self.hits.items() if h]


@dataclass(frozen=True)
class CampaignStats:
    """A compact summary for a prompt (sizes bounded whatever the campaign's length)."""

    rounds: int
    n_tested: int
    n_hits: int
    hit_rate: float
    top: tuple[tuple[str, float], ...]
    bottom: tuple[tuple[str, float], ...]
    recent_hits: tuple[str, ...]

    def text(self) -> str:
        if self.n_tested == 0:
            return "Nothing tested yet (first round)."
        top = ", ".join(f"{g} {s:+.2f}" for g, s in self.top)
        bottom = ", ".join(f"{g} {s:+.2f}" for g, s in self.bottom)
        hits = ", ".join(self.recent_hits) or "none"
        return (
            f"{self.n_tested} genes tested in {self.rounds} round(s), {counted(self.n_hits, 'hits')} "
            f"({100 * self.hit_rate:.1f}%). Hits: {hits}. Highest: {top}. Lowest: {bottom}."
        )


@dataclass(frozen=True)
class Hypothesis:
    """A numbered gene set offered to the model: its record so far and what is left to test."""

    id: int
    name: str
    size: int
    n_tested: int
    n_hits: int
    untested: tuple[str, ...]
    support: int
    source: str

    def line(self, width: int = 56) -> str:
        """One short line: prompt tokens are most of a round's cost on a CPU (prefill of ~700
        tokens measured 35 s on the shared 2-core box)."""
        name = self.name.split(": ", 1)[-1]  # the library prefix costs tokens, says little
        name = name if len(name) <= width else name[: width - 3] + "..."
        return f"{self.id}. {name} | hits {self.n_hits}/{self.n_tested} tested | {len(self.untested)} left | bo {self.support}"


def campaign_stats(measured: Measured, top: int = 3, max_hits: int = 12) -> CampaignStats:
    """Tested/hit counts, the highest and lowest scores, and the hits (highest |score| first)."""
    items = sorted(measured.scores.items(), key=lambda kv: kv[1])
    hits = sorted(measured.hit_genes, key=lambda g: -abs(measured.scores.get(g, 0.0)))
    n = len(measured.scores)
    return CampaignStats(
        rounds=measured.rounds,
        n_tested=n,
        n_hits=len(hits),
        hit_rate=len(hits) / n if n else 0.0,
        top=tuple(reversed(items[-top:])),
        bottom=tuple(items[:top]),
        recent_hits=tuple(hits[:max_hits]),
    )


def gene_sets_of(knowledge: GeneKnowledge, gene: str, k: int = 10) -> list[str]:
    """Tool: the (most specific) gene sets containing ``gene``."""
    return knowledge.sets_containing(gene)[:k]


def enriched_among_hits(
    knowledge: GeneKnowledge, measured: Measured, top: int = 20
) -> list[Enrichment]:
    """Tool: gene sets over-represented among the hits so far (hypergeometric, tested universe)."""
    return knowledge.enriched_sets(measured.hit_genes, measured.scores.keys(), top=top)


def similar_genes(knowledge: GeneKnowledge, gene: str, k: int = 10) -> list[tuple[str, float]]:
    """Tool: genes closest to ``gene`` in bo's gene-feature space (TF-IDF set membership)."""
    return knowledge.similar_genes(gene, k)


def candidate_hypotheses(
    knowledge: GeneKnowledge,
    measured: Measured,
    exclude: Iterable[str],
    favoured: Sequence[str] = (),
    k: int = 12,
    min_untested: int = 3,
    max_size: int = 500,
    rng: np.random.Generator | None = None,
) -> list[Hypothesis]:
    """Up to ``k`` numbered gene sets worth testing next.

    Half come from sets enriched among the hits (where there are hits), the rest from sets
    holding many of ``favoured`` — the genes the model-based ranker (bo) rates highest — so
    the list is informative in round 1 too. Without a ranker and without hits (a first round
    with no model), a seeded random draw of mid-sized sets: the model then chooses by how the
    set names relate to the task. Sets with fewer than ``min_untested`` untested genes or more
    than ``max_size`` genes are skipped (a huge set is no hypothesis).
    """
    excluded = {normalize_gene(g) for g in exclude}
    chosen: list[tuple[str, str]] = []
    seen: set[str] = set()
    for e in enriched_among_hits(knowledge, measured, top=3 * k):
        if len(chosen) >= (k + 1) // 2:
            break
        if e.size <= max_size and _n_untested(knowledge, e.name, excluded) >= min_untested:
            chosen.append((e.name, "enriched"))
            seen.add(e.name)
    support = _support(knowledge, favoured)
    if support is not None:
        sizes = np.maximum(knowledge.set_sizes, 1)
        score = support / np.sqrt(sizes)
        score[(sizes > max_size) | (support < 2)] = -np.inf
        for j in np.argsort(-score):
            if len(chosen) >= k or not np.isfinite(score[j]):
                break
            name = knowledge.set_names[j]
            if name not in seen and _n_untested(knowledge, name, excluded) >= min_untested:
                chosen.append((name, "favoured"))
                seen.add(name)
    if not chosen and rng is not None:
        sizes = knowledge.set_sizes
        mid = np.flatnonzero((sizes >= 10) & (sizes <= min(max_size, 300)))
        for j in rng.permutation(mid):
            if len(chosen) >= k:
                break
            name = knowledge.set_names[j]
            if _n_untested(knowledge, name, excluded) >= min_untested:
                chosen.append((name, "random"))
    out = []
    for i, (name, source) in enumerate(chosen, start=1):
        members = knowledge.genes_in_set(name)
        tested = [g for g in members if g in measured.scores]
        untested = tuple(g for g in members if g not in excluded)
        out.append(
            Hypothesis(
                id=i,
                name=name,
                size=len(members),
                n_tested=len(tested),
                n_hits=sum(bool(measured.hits.get(g)) for g in tested),
                untested=untested,
                support=_count(favoured, members),
                source=source,
            )
        )
    return out


def _n_untested(knowledge: GeneKnowledge, name: str, excluded: set[str]) -> int:
    return sum(g not in excluded for g in knowledge.genes_in_set(name))


def _support(knowledge: GeneKnowledge, favoured: Sequence[str]) -> np.ndarray | None:
    idx = [knowledge.index(g) for g in favoured if g in knowledge]
    if not idx:
        return None
    return np.asarray(knowledge.binary[np.asarray(idx)].sum(axis=0)).ravel()


def _count(favoured: Sequence[str], members: Sequence[str]) -> int:
    m = set(members)
    return sum(g in m for g in favoured)


# -- prompt and answer schemas of the genetic agent (pure data; kept here so the planner
# module stays short) ----------------------------------------------------------------------


def _limit(n: int) -> Any:
    """A string field whose length bound is advertised in the JSON schema (the local model's
    grammar enforces it: short outputs keep a round fast) but not validated: a remote model's
    long reason is kept, never a reason to reject an answer."""
    return Field("", json_schema_extra={"maxLength": n})


class _Verdict(BaseModel):
    approve: bool
    ids: list[int] = Field(default_factory=list, json_schema_extra={"maxItems": 5})
    comment: str = _limit(80)


class GeneList(BaseModel):
    """Style ``genes``: the model names genes directly."""

    genes: list[str]
    rationale: str = _limit(200)


def _set_schema(ids: Sequence[int], max_choices: int) -> type[BaseModel]:
    """The answer schema for one round: ``ids`` constrained (by grammar on the local model) to
    the listed hypotheses, and one short rationale. No per-id reasons: output tokens cost
    ~0.1-0.3 s each on a CPU, and a small model mostly copies the set name into them. Values
    are validated in ``check`` (not by pydantic) so partial validity is measurable and fed back."""
    return create_model(
        "SetChoices",
        ids=(
            list[int],
            Field(
                json_schema_extra={
                    "items": {"type": "integer", "enum": list(ids)},
                    "minItems": 1,
                    "maxItems": max_choices,
                }
            ),
        ),
        rationale=(str, _limit(100)),
    )


SYSTEM = (
    "You design CRISPR {modality} screens. {task} A gene is a hit when {perturbing} it changes "
    "the measurement strongly{tail}. Think like a biologist; reply with JSON only."
)
_MODALITY = {
    "knockout": ("knockout", "knocking out"),
    "crispri": ("interference (CRISPRi)", "repressing"),
    "crispra": ("activation (CRISPRa)", "activating"),
}
_TAIL = {"both": "", "high": " (raises the score)", "low": " (lowers the score)"}


def _id_problems(ids: Sequence[int], by_id: Mapping[int, Hypothesis], k: int) -> list[str]:
    """Problems worth a repair turn: unknown ids, none at all, too many. A repeated id is
    dropped without one (harmless; small models repeat), but counts against validity."""
    problems = []
    distinct = list(dict.fromkeys(ids))
    if not distinct:
        problems.append("choose at least one id")
    for i in distinct:
        if i not in by_id:
            problems.append(f"id {i} is not in the list (choose from {min(by_id)} to {max(by_id)})")
    if len(distinct) > k:
        problems.append(f"choose at most {k} ids")
    return problems


def _sentence(text: str) -> str:
    t = " ".join(str(text).split())
    return t if t.endswith(".") else t + "."


TOOLS = (gene_sets_of, enriched_among_hits, similar_genes, campaign_stats)
"""The plain typed tools, for a chat agent (``langchain_core.tools.tool`` wraps each)."""
