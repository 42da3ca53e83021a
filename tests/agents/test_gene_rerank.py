"""The LLM reranker of the text prior with fake chat models: its answer is untrusted (bad JSON,
out-of-range scores, unknown ids end in a repair or MiniLM's order), and answers are cached
per task so a second campaign calls no LLM."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage

from perturbo.agents.gene_rerank import LLMSetReranker, validate_scores
from perturbo.agents.llm import LLMSettings
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


def _scores(*values: object) -> str:
    return json.dumps({"scores": {str(i): v for i, v in enumerate(values, 1)}})


def _reranker(llm: FakeLLM, tmp_path: Path | None, **kw: object) -> LLMSetReranker:
    return LLMSetReranker(LLMSettings(), llm=llm, cache_dir=tmp_path, **kw)  # type: ignore[arg-type]


def test_valid_scores_rerank_and_the_prompt_lists_every_set(tmp_path: Path) -> None:
    llm = FakeLLM(_scores(2, 10, 0, 7))
    rel = _reranker(llm, tmp_path)(TASK, NAMES)
    assert rel.status == "llm" and rel.model == "local:fake-1"
    assert rel.scores == {NAMES[0]: 0.2, NAMES[1]: 1.0, NAMES[2]: 0.0, NAMES[3]: 0.7}
    prompt = llm.prompts[0]
    assert "1: regulation of interferon-alpha production [GO]\n" in prompt
    assert "2: interferon gamma signaling [MSigDB]" in prompt
    assert "4: t cell receptor signaling pathway [WikiPathway]" in prompt


def test_bad_json_is_repaired_once_then_falls_back_to_minilm(tmp_path: Path) -> None:
    llm = FakeLLM("I would rank the interferon ones first.", "{scores: broken")
    rel = _reranker(llm, tmp_path, max_repairs=1)(TASK, NAMES)
    assert rel.scores is None and rel.status.startswith("fallback:")
    assert "not JSON" in rel.status and len(llm.prompts) == 2 and not llm.answers
    assert "problems" in llm.prompts[1]  # the repair turn names what was wrong
    assert not (tmp_path / "rerank").exists()  # a failure is never cached

    fixed = FakeLLM("no idea", _scores(1, 9, 0, 6))
    rel = _reranker(fixed, tmp_path, max_repairs=1)(TASK, NAMES)
    assert rel.status == "llm" and rel.scores is not None and rel.scores[NAMES[1]] == 0.9


def test_out_of_range_scores_and_unknown_ids_fall_back(tmp_path: Path) -> None:
    wild = _scores(15, 99, -1, 4)  # one valid score of four: not enough to rerank by
    rel = _reranker(FakeLLM(wild, wild), tmp_path, max_repairs=1)(TASK, NAMES)
    assert rel.scores is None and "1 of 4 sets validly scored" in rel.status
    assert "outside 0-10" in rel.status

    unknown = json.dumps({"scores": {"7": 5, "REACTOME_INTERFERON_GAMMA_SIGNALING": 9, "1": 3}})
    rel = _reranker(FakeLLM(unknown, unknown), tmp_path, max_repairs=1)(TASK, NAMES)
    assert rel.scores is None and "1 of 4" in rel.status and "not in the list" in rel.status
    assert not (tmp_path / "rerank").exists()


def test_a_mostly_valid_answer_keeps_its_valid_part_unscored_sets_neutral(
    tmp_path: Path,
) -> None:
    partial = json.dumps({"scores": {"1": 2, "2": 10, "3": "high", "99": 1}})  # 4 missing
    rel = _reranker(FakeLLM(partial), tmp_path, max_repairs=0)(TASK, NAMES)
    assert rel.status == "llm" and rel.scores is not None
    assert rel.scores[NAMES[0]] == 0.2 and rel.scores[NAMES[1]] == 1.0
    assert rel.scores[NAMES[2]] == rel.scores[NAMES[3]] == 0.6  # the mean of the valid ones


def test_validate_scores_names_each_problem() -> None:
    valid, problems = validate_scores({"1": 15, "2": "x", "3": True, "9": 1, "a": 2}, 4)
    assert valid == {}
    text = "\n".join(problems)
    for bit in ("score 15 is outside", "'x'", "'True'", "id 9 is not in the list", "'a' is not"):
        assert bit in text
    assert problems[-1] == "ids 4 have no score"
    assert validate_scores(["not", "a", "map"], 2)[0] == {}
    assert validate_scores({"1": 3, "2": 7.5}, 2) == ({1: 3.0, 2: 7.5}, [])


def test_a_second_campaign_on_the_same_task_reads_the_cache(tmp_path: Path) -> None:
    first = FakeLLM(_scores(2, 10, 0, 7))
    a = _reranker(first, tmp_path)(TASK, NAMES)
    again = _reranker(FakeLLM(), tmp_path)(TASK, NAMES)  # FakeLLM() raises if called
    assert again.status == "cached" and again.scores == a.scores
    (entry,) = (tmp_path / "rerank").glob("*.json")
    stored = json.loads(entry.read_text())
    assert stored["task"] == TASK and stored["names"] == NAMES and stored["model"] == "local:fake-1"

    other_task = FakeLLM(_scores(5, 5, 5, 5))  # the key holds the task ...
    assert _reranker(other_task, tmp_path)("Task: find lysosome genes.", NAMES).status == "llm"
    other_sets = FakeLLM(_scores(5, 5, 5))  # ... the candidate sets ...
    assert _reranker(other_sets, tmp_path)(TASK, NAMES[:3]).status == "llm"
    other_model = FakeLLM(_scores(5, 5, 5, 5))  # ... and the model
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
    llm = FakeLLM(_scores(1, 2, 3, 4))
    llm.model_name = "gpt-4o-mini"  # the openai default: what the cache is keyed on
    filled = LLMSetReranker(LLMSettings(backend="openai"), llm=llm, cache_dir=tmp_path)
    assert filled(TASK, NAMES).status == "llm"
    assert no_key(TASK, NAMES).status == "cached"  # no key needed for a cached task
