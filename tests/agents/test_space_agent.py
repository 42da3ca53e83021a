"""The generic structured-proposal agent over a SearchSpace, with a fake chat model."""

from __future__ import annotations

import json

from langchain_core.language_models import FakeListChatModel

from perturbo.agents.space_agent import SpaceAgentPlanner
from perturbo.space import Categorical, Float, Int, SearchSpace
from perturbo.types import ExperimentSpec, Observation, Outcome, Status


def _space() -> SearchSpace:
    return SearchSpace(
        [
            Float("lr", 1e-4, 1e-1, log=True),
            Int("width", 16, 256),
            Categorical("opt", ["adam", "sgd"]),
        ]
    )


def test_invalid_configs_are_repaired_and_the_rest_is_marked_fallback() -> None:
    first = {
        "configs": [
            {"lr": 0.01, "width": 64, "opt": "adam"},
            {"lr": 5.0, "width": 64, "opt": "adam"},
            {"lr": 0.01, "width": 32, "opt": "rmsprop"},
        ],
        "rationale": "try mid lr",
    }
    second = {"configs": [{"lr": 0.001, "width": 128, "opt": "sgd"}], "rationale": "fix"}
    llm = FakeListChatModel(responses=[json.dumps(first), json.dumps(second), "junk"])
    p = SpaceAgentPlanner(_space(), "hyperparameter", llm, objective="acc", max_repairs=2, seed=1)
    p.tell(
        [
            Observation(
                ExperimentSpec({"lr": 0.05, "width": 16, "opt": "sgd"}, "hyperparameter"),
                Outcome(Status.COMPLETED, {"acc": 0.7}),
            )
        ]
    )
    specs = p.ask(3, [])
    assert len(specs) == 3
    assert [s.planner for s in specs] == ["agent", "agent", "fallback"]
    assert all(_space().validate(s.params) == dict(s.params) for s in specs)
    call = p.last_trace.calls[0]
    assert any("lr" in e for e in call.errors[0]) and any("rmsprop" in e for e in call.errors[0])
    assert "acc=0.7" in call.prompt and "lr: float in [0.0001, 0.1] (log scale)" in call.prompt
    assert p.last_trace.validity_first == 1 / 3 and p.last_trace.repairs == 2


def test_make_space_planner_reads_llm_keys_and_never_logs_the_key(monkeypatch) -> None:
    from perturbo.agents.llm import llm_settings
    from perturbo.agents.space_agent import make_space_planner

    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    cfg = {"llm": "openai", "llm_model": "m", "llm_base_url": "http://127.0.0.1:1/v1", "seed": 3}
    s = llm_settings(cfg)
    assert s.api_key == "sk-from-env" and "sk-from-env" not in str(s.public())
    p = make_space_planner(
        _space(), "hyperparameter", cfg, "acc", llm=FakeListChatModel(responses=["x"])
    )
    assert p.name == "agent" and p.fallback is not None
