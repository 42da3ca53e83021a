"""``--text-rerank llm`` through the genetic kind's composition (the LLM faked): the flag
reaches bo, what the rerank did is logged in the campaign's params beside the prior's sources,
a second campaign on the same task reads the cache, and misuse is one clear message."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np
import pytest
from langchain_core.messages import AIMessage
from stores import real_genes_csv

from perturbo.kinds.genetic import compose as genetic_compose
from perturbo.kinds.genetic.agent.gene_rerank import LLMSetReranker
from perturbo.kinds.genetic.settings import add_arguments
from perturbo.types import PerturboError

TASK = "identify genes mediating lysosomal choline recycling"


class Chooser:
    """A fake chat model that chooses the last three listed ids, last first: MiniLM's order
    reversed at the top."""

    model_name = "fake-chooser"

    def __init__(self) -> None:
        self.calls = 0
        self.listed: list[str] = []  # the listed sets' prose, in listed order
        self.chosen: list[str] = []

    def invoke(self, messages):  # type: ignore[no-untyped-def]
        self.calls += 1
        lines = re.findall(r"^(\d+): (.*?)(?: \[[^\]]*\])?$", str(messages[-1].content), re.M)
        self.listed = [name for _, name in lines]
        ids = [int(i) for i, _ in lines][::-1][:3]
        self.chosen = [self.listed[i - 1] for i in ids]
        return AIMessage(json.dumps({"ids": ids}))


@pytest.fixture()
def csv(tmp_path: Path) -> Path:
    return real_genes_csv(tmp_path / "lyso.csv")


def test_the_rerank_is_logged_and_a_second_campaign_reads_the_cache(
    csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = Chooser()
    defaults = LLMSetReranker.__init__.__kwdefaults__
    monkeypatch.setitem(defaults, "llm", fake)
    monkeypatch.setitem(defaults, "cache_dir", tmp_path / "cache")
    monkeypatch.setitem(defaults, "shuffle", False)  # listed ids = MiniLM's order
    config = {
        "screen": str(csv),
        "task": TASK,
        "planner": "bo",
        "prior": "text",
        "text_rerank": "llm",
    }
    parts = genetic_compose.build(config)
    logged = json.loads(parts.params["text_rerank"])
    assert logged["status"] == "llm" and logged["model"] == "local:fake-chooser"
    assert fake.calls == 1 and logged["candidates"] >= 20
    assert len(fake.listed) == logged["candidates"] and len(fake.chosen) == 3
    assert logged["before"] == [n[:60] for n in fake.listed[:8]]  # listed in MiniLM's order
    assert logged["after"][:3] == [n[:60] for n in fake.chosen]  # the chosen sets lead, in order
    assert logged["after"][3:] == [n[:60] for n in fake.listed[:5]]  # then MiniLM's order
    assert logged["dropped"] == 0  # relevance 0.25 for the unchosen: a rerank drops nothing
    assert not any("(go:" in name for name in logged["before"])  # prose, no ids
    assert json.loads(parts.params["prior_sources"]) == [{"name": "text", "weight": 1.0}]
    assert len(parts.params["text_rerank"]) < 6000  # an MLflow param

    again = genetic_compose.build({**config, "seed": 3})
    cached = json.loads(again.params["text_rerank"])
    assert cached["status"] == "cached" and fake.calls == 1  # no second LLM call
    assert cached["after"] == logged["after"]

    plain = genetic_compose.build({**config, "text_rerank": "none"})
    assert "text_rerank" not in plain.params and fake.calls == 1
    # the new order reaches the planner: MiniLM's weights handed out again in it move the prior
    assert not np.allclose(parts.planner.prior, plain.planner.prior)
    assert np.allclose(again.planner.prior, parts.planner.prior)  # the cached order, same prior


def test_misuse_is_one_message_naming_the_fix(csv: Path) -> None:
    with pytest.raises(PerturboError, match="--planner bo"):
        genetic_compose.build({"screen": str(csv), "planner": "hybrid", "text_rerank": "llm"})
    with pytest.raises(PerturboError, match="--prior text"):
        genetic_compose.build(
            {"screen": str(csv), "planner": "bo", "prior": "transfer", "text_rerank": "llm"}
        )


def test_help_documents_the_flag() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    text = " ".join(parser.format_help().split())
    assert "--text-rerank none|llm" in text and "cached per task" in text
    assert "--text-rerank llm)" in text  # the LLM backend group says it serves the rerank too
