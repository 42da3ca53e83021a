"""The bounded repair loop with fake chat models: every bad answer ends in a repair or a
clean ``None`` (the caller's fallback), never an exception."""

from __future__ import annotations

from langchain_core.language_models import FakeListChatModel, GenericFakeChatModel
from langchain_core.messages import AIMessage
from pydantic import BaseModel

from perturbo.agents.structured import ask_structured, parse_lenient


class Pick(BaseModel):
    ids: list[int]
    why: str = ""


def _even(p: Pick) -> list[str]:
    return [f"id {i} is odd" for i in p.ids if i % 2]


def test_garbage_then_valid_is_repaired_and_traced() -> None:
    llm = FakeListChatModel(responses=["I think maybe 4?", '{"ids": [2, 4], "why": "even"}'])
    out, call = ask_structured(llm, "sys", "pick", Pick, _even, max_repairs=2)
    assert out == Pick(ids=[2, 4], why="even")
    assert call.ok and call.repairs == 1
    assert "not JSON" in call.errors[0][0]


def test_invalid_values_are_fed_back_then_fixed() -> None:
    llm = FakeListChatModel(responses=['{"ids": [1, 2]}', '```json\n{"ids": [2]}\n```'])
    out, call = ask_structured(llm, "sys", "pick", Pick, _even, max_repairs=1)
    assert out is not None and out.ids == [2]
    assert call.errors[0] == ("id 1 is odd",)


def test_empty_and_wrong_types_end_in_none_after_bounded_turns() -> None:
    llm = FakeListChatModel(responses=["", '{"ids": "lots"}', '{"ids": [null]}'])
    out, call = ask_structured(llm, "sys", "pick", Pick, _even, max_repairs=2)
    assert out is None and not call.ok
    assert len(call.answers) == 3  # 1 + max_repairs, no more
    assert "empty" in call.errors[0][0] and "schema" in call.errors[1][0]


def test_last_parsed_answer_is_returned_with_its_problems() -> None:
    llm = FakeListChatModel(responses=['{"ids": [1, 2]}'] * 3)
    out, call = ask_structured(llm, "sys", "pick", Pick, _even, max_repairs=1)
    assert out is not None and out.ids == [1, 2] and not call.ok


def test_backend_exception_is_a_failure_not_a_crash() -> None:
    class Down(GenericFakeChatModel):
        def _generate(self, *a, **k):  # type: ignore[no-untyped-def]
            raise ConnectionError("connection refused by 127.0.0.1:9")

    out, call = ask_structured(Down(messages=iter([AIMessage("x")])), "s", "u", Pick, max_repairs=3)
    assert out is None and "connection refused" in call.failure and call.answers == ()


def test_parse_lenient_finds_json_in_prose() -> None:
    obj, err = parse_lenient('Sure! Here it is: {"ids": [6], "why": "x"} Hope it helps.', Pick)
    assert obj == Pick(ids=[6], why="x") and err == ""
