"""The LLM reranker of the text prior with fake chat models: its answer is untrusted (bad JSON,
out-of-range or unknown ids end in a repair or MiniLM's order), and answers are cached per
task so a second campaign calls no LLM."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage

from perturbo.agents.llm import LLMSettings
from perturbo.kinds.genetic.agent.gene_rerank import LLMSetReranker, validate_ids
from perturbo.types import PerturboError

TASK = "Task: identify genes that regulate the production of interferon gamma."
NAMES = [
    "GO_Biological_Process_2023: Regulation Of Interferon-Alpha Production (GO:0032647)",
    "MSigDB_C2_CP: REACTOME_INTERFERON_GAMMA_SIGNALING",
    "GO_Biological_Process_2023: mRNA Splicing, Via Spliceosome (GO:0000398)",
    "WikiPathway_2023_Human: T Cell Receptor Signaling Pathway WP69",
]


class FakeLLM:
    """A chat model answering from a list; counts its calls. No ``with_structured_output``:
    the raw text is parsed leniently, as for a remote model without tool calls."""

    model_name = "fake-1"

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.prompts: list[str] = []

    def invoke(self, messages):  # type: ignore[no-untyped-def]
        self.prompts.append(str(messages[-1].content))
        if not self.answers:
            raise AssertionError("the LLM was called once more than expected")
        return AIMessage(self.answers.pop(0))


def _ids(*ids: object) -> str:
    return json.dumps({"ids": list(ids)})


def _reranker(llm: FakeLLM, tmp_path: Path | None, **kw: object) -> LLMSetReranker:
    kw.setdefault("shuffle", False)  # ids = MiniLM's order, so answers can be written here
    return LLMSetReranker(LLMSettings(), llm=llm, cache_dir=tmp_path, **kw)  # type: ignore[arg-type]


def test_the_sets_are_listed_in_an_order_of_their_own_and_ids_map_back(tmp_path: Path) -> None:
    many = [f"MSigDB_C2_CP: REACTOME_SET_{chr(65 + i)}" for i in range(12)]
    llm = FakeLLM(_ids(1, 2))
    rel = _reranker(llm, tmp_path, shuffle=True)(TASK, many)
    listed = re.findall(r"^(\d+): set (\w) \[MSigDB\]$", llm.prompts[0], re.M)
    assert [int(i) for i, _ in listed] == list(range(1, 13))
    order = [f"MSigDB_C2_CP: REACTOME_SET_{c.upper()}" for _, c in listed]
    assert sorted(order) == many and order != many  # every set, not in MiniLM's order
    assert rel.scores is not None and rel.scores[order[0]] == 1.0 > rel.scores[order[1]] > 0.5
    assert all(rel.scores[n] == 0.25 for n in order[2:])
    again = FakeLLM(_ids(1, 2))
    _reranker(again, None, shuffle=True)(TASK, many)
    assert again.prompts == llm.prompts  # seeded by the task and the sets: reproducible


def test_chosen_ids_rerank_and_the_prompt_lists_every_set(tmp_path: Path) -> None:
    llm = FakeLLM(_ids(2, 4))
    rel = _reranker(llm, tmp_path)(TASK, NAMES)
    assert rel.status == "llm" and rel.model == "local:fake-1"
    assert rel.scores is not None
    assert rel.scores[NAMES[1]] == 1.0 > rel.scores[NAMES[3]] > 0.5  # chosen, in order
    assert rel.scores[NAMES[0]] == rel.scores[NAMES[2]] == 0.25  # not chosen: below, kept
    prompt = llm.prompts[0]
    assert "1: regulation of interferon-alpha production [GO]\n" in prompt
    assert "2: interferon gamma signaling [MSigDB]" in prompt
    assert "4: t cell receptor signaling pathway [WikiPathway]" in prompt


def test_bad_json_is_repaired_once_then_falls_back_to_minilm(tmp_path: Path) -> None:
    llm = FakeLLM("I would rank the interferon ones first.", "{ids: broken")
    rel = _reranker(llm, tmp_path, max_repairs=1)(TASK, NAMES)
    assert rel.scores is None and rel.status.startswith("fallback:")
    assert "not JSON" in rel.status and len(llm.prompts) == 2 and not llm.answers
    assert "problems" in llm.prompts[1]  # the repair turn names what was wrong
    assert not (tmp_path / "rerank").exists()  # a failure is never cached

    fixed = FakeLLM("no idea", _ids(2))
    rel = _reranker(fixed, tmp_path, max_repairs=1)(TASK, NAMES)
    assert rel.status == "llm" and rel.scores is not None and rel.scores[NAMES[1]] == 1.0


def test_out_of_range_and_unknown_ids_fall_back(tmp_path: Path) -> None:
    wild = _ids(0, 99, -1, "REACTOME_INTERFERON_GAMMA_SIGNALING", None)  # none in 1..4
    rel = _reranker(FakeLLM(wild, wild), tmp_path, max_repairs=1)(TASK, NAMES)
    assert rel.scores is None and "no valid id" in rel.status
    assert "id 0 is not in the list" in rel.status
    assert not (tmp_path / "rerank").exists()
    wrong_shape = json.dumps({"ids": {"2": 9}})
    rel = _reranker(FakeLLM(wrong_shape, wrong_shape), tmp_path, max_repairs=1)(TASK, NAMES)
    assert rel.scores is None and rel.status.startswith("fallback:")


def test_the_valid_part_of_a_partly_wrong_answer_is_kept(tmp_path: Path) -> None:
    partial = _ids(3, 99, 3, "x", 1)  # 99 unknown, 3 repeated, "x" not an id
    rel = _reranker(FakeLLM(partial), tmp_path, max_repairs=0)(TASK, NAMES)
    assert rel.status == "llm" and rel.scores is not None
    assert rel.scores[NAMES[2]] == 1.0 > rel.scores[NAMES[0]] > 0.25
    assert rel.scores[NAMES[1]] == rel.scores[NAMES[3]] == 0.25


def test_validate_ids_names_each_problem() -> None:
    chosen, problems = validate_ids([2, 2, 9, "a", True, 3.0, 1, 4], 4, 3)
    assert chosen == [2, 3, 1]
    text = "\n".join(problems)
    for bit in ("id 2 is repeated", "id 9 is not in the list", "'a' is not", "True", "more than 3"):
        assert bit in text
    assert validate_ids({"1": 3}, 2, 2)[0] == []
    assert validate_ids([], 2, 2) == ([], ["choose at least one id (1..2)"])
    assert validate_ids(["2", 1], 2, 2) == ([2, 1], [])


def test_a_second_campaign_on_the_same_task_reads_the_cache(tmp_path: Path) -> None:
    first = FakeLLM(_ids(2, 4))
    a = _reranker(first, tmp_path)(TASK, NAMES)
    again = _reranker(FakeLLM(), tmp_path)(TASK, NAMES)  # FakeLLM() raises if called
    assert again.status == "cached" and again.scores == a.scores
    (entry,) = (tmp_path / "rerank").glob("*.json")
    stored = json.loads(entry.read_text())
    assert stored["task"] == TASK and stored["names"] == NAMES and stored["model"] == "local:fake-1"

    other_task = FakeLLM(_ids(1))  # the key holds the task ...
    assert _reranker(other_task, tmp_path)("Task: find lysosome genes.", NAMES).status == "llm"
    other_sets = FakeLLM(_ids(1))  # ... the candidate sets ...
    assert _reranker(other_sets, tmp_path)(TASK, NAMES[:3]).status == "llm"
    other_model = FakeLLM(_ids(1))  # ... and the model
    other_model.model_name = "fake-2"
    assert _reranker(other_model, tmp_path)(TASK, NAMES).status == "llm"
    assert not (first.answers or other_task.answers or other_sets.answers or other_model.answers)


def test_a_backend_failure_falls_back_and_is_not_cached(tmp_path: Path) -> None:
    class Down(FakeLLM):
        def invoke(self, messages):  # type: ignore[no-untyped-def]
            raise ConnectionError("connection refused by 127.0.0.1:9")

    rel = _reranker(Down(), tmp_path)(TASK, NAMES)
    assert rel.scores is None and "connection refused" in rel.status
    assert not (tmp_path / "rerank").exists()


def test_a_model_the_user_named_wrong_is_one_message_only_on_a_cache_miss(tmp_path: Path) -> None:
    wrong = LLMSetReranker(LLMSettings(model="no-such-model"), cache_dir=tmp_path)
    with pytest.raises(PerturboError, match="no-such-model"):
        wrong(TASK, NAMES)
    no_key = LLMSetReranker(LLMSettings(backend="openai"), cache_dir=tmp_path)
    with pytest.raises(PerturboError, match="OPENAI_API_KEY"):
        no_key(TASK, NAMES)
    llm = FakeLLM(_ids(1))
    llm.model_name = "gpt-4o-mini"  # the openai default: what the cache is keyed on
    filled = LLMSetReranker(LLMSettings(backend="openai"), llm=llm, cache_dir=tmp_path)
    assert filled(TASK, NAMES).status == "llm"
    assert no_key(TASK, NAMES).status == "cached"  # no key needed for a cached task


def test_ids_one_two_three_of_a_shuffled_list_are_position_bias_and_cached_as_such(
    tmp_path: Path,
) -> None:
    many = [f"MSigDB_C2_CP: REACTOME_SET_{chr(65 + i)}" for i in range(12)]
    lazy = FakeLLM(_ids(1, 2, 3, 4))
    rel = _reranker(lazy, tmp_path, shuffle=True)(TASK, many)
    assert rel.scores is None and "position bias" in rel.status
    again = _reranker(FakeLLM(), tmp_path, shuffle=True)(TASK, many)  # no second call
    assert again.scores is None and again.status.startswith("cached fallback:")
    picky = FakeLLM(_ids(1, 2, 5))  # not the listed order: a real choice
    assert _reranker(picky, None, shuffle=True)(TASK, many).status == "llm"
