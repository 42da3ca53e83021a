"""The chat's answers about attack campaigns, on a fake store holding them as the attack kind
records them (tests/chat/attack_store.py): the recorded direction (robust accuracy is
minimised), rounds explained without "hits", methods and planners ranked by the samples they
broke first (a trial's own robust accuracy is over the samples still standing), why a
campaign failed, its certified accuracy, threat models kept apart, a launch keeping its name.
Fast: no MLflow, no model."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
from attack_store import TIMEOUT, attack_store


@pytest.fixture
def tools(tmp_path: Path) -> Any:
    from perturbo.agents.chat.actions import Launcher
    from perturbo.agents.chat.tools import ChatTools

    store = attack_store()
    kinds = importlib.import_module("perturbo.kinds")
    return ChatTools(store, Launcher(store.uri, local=True, workdir=tmp_path), kinds=kinds)


def _ok(res: Any) -> str:
    assert res.ok, res.text
    return str(res.text)


def test_the_recorded_direction_is_used_not_guessed(tools: Any) -> None:
    """Robust accuracy is minimised (run tag perturbo.direction=min); the worst case over the
    trials (0.3) is below every trial's own figure, which made the old guess say max."""
    from perturbo.agents.chat.facts import campaign_facts
    from perturbo.agents.chat.figures import objectives_of

    store = tools.store
    objs, dirs = objectives_of(store.summary("atk-casc"), store.history("atk-casc"))
    assert (objs, dirs) == (["robust_accuracy"], ["min"])
    f = campaign_facts(store, "atk-casc", kinds=tools.kinds)
    assert f.direction == "min"
    assert "(max)" not in f.list_line() and "(max)" not in f.text()
    listed = _ok(tools.call("list_campaigns"))
    assert "(max)" not in listed
    assert "atk-casc" in listed and "robust accuracy = 0.3" in listed


def test_a_best_config_is_never_the_attack_that_broke_nothing(tools: Any) -> None:
    text = _ok(tools.call("summarize_campaign", {"name": "atk-casc"}))
    # fgsm broke none of the samples it attacked (robust accuracy 1 on them): not "best"
    best = text.split("broke the most samples first", 1)[1].split("\n")[1]
    assert "apgd-ce" in best and "fgsm" not in best, text
    assert "robust_accuracy = 1 with method=fgsm" not in text


def test_why_round_on_an_attack_campaign_speaks_of_samples_not_hits(tools: Any) -> None:
    text = _ok(tools.call("explain_round", {"name": "atk-casc", "round": 3}))
    assert "hit" not in text.lower(), text
    assert "broke 0 of the 4 samples still standing" in text  # fgsm
    assert "broke 1 of the 4 samples still standing" in text  # square
    text = _ok(tools.call("explain_round", {"name": "atk-casc", "round": 1}))
    assert "hit" not in text.lower(), text


def test_methods_and_planners_ranked_by_samples_broken_first(tools: Any) -> None:
    text = _ok(tools.call("summarize_campaign", {"name": "atk-casc"}))
    methods = text.split("Attack methods tried", 1)[1]
    assert "not comparable" in methods.split("\n")[0] or "not compared" in methods.split("\n")[0]
    rows = [ln.strip() for ln in methods.split("\n")[1:6]]
    assert rows[0].startswith("apgd-ce: 1 trials, broke 3 samples first"), rows
    assert any(r.startswith("fgsm: 1 trials, broke 0 samples first") for r in rows), rows
    assert "best robust_accuracy 1" not in text and "best robust_accuracy 0.8" not in text
    planners = text.split("Planners compared", 1)[1]
    assert "opening: 2 experiments, 2 completed, broke 4 samples first" in planners, planners
    assert "bo: 2 experiments, 2 completed, broke 1 samples first" in planners, planners
    assert "best robust_accuracy = 1" not in planners


def test_why_a_campaign_failed_and_its_certified_accuracy(tools: Any) -> None:
    text = _ok(tools.call("summarize_campaign", {"name": "atk-fail"}))
    assert TIMEOUT in text and "2 failed" in text, text
    assert "n_still_robust = 0" not in text  # nothing was attacked: no worst case to state
    why = _ok(tools.call("explain_round", {"name": "atk-fail"}))
    assert TIMEOUT in why, why
    text = _ok(tools.call("summarize_campaign", {"name": "atk-casc"}))
    assert "certified_accuracy = 0.1" in text, text


def test_attack_campaigns_are_compared_only_under_one_threat_model(tools: Any) -> None:
    text = _ok(tools.call("compare_campaigns", {"first": "atk-casc", "second": "atk-l2"}))
    assert "threat model" in text and "not compared" in text, text
    assert "atk-l2 has the better" not in text and "neither is better" not in text
    text = _ok(tools.call("compare_campaigns", {"first": "atk-casc", "second": "atk-lin2"}))
    assert "atk-casc has the better" in text and "(0.3, min)" in text, text
    ranked = _ok(tools.call("rank_campaigns", {"by": "best"}))
    assert "linf" in ranked and "l2" in ranked
    line = next(ln for ln in ranked.splitlines() if "linf" in ln and "Ranked" in ln)
    assert "atk-l2" not in line, ranked


def test_a_launch_keeps_the_name_it_was_given(tools: Any) -> None:
    from perturbo.agents.chat.router import parse_slash

    route = parse_slash("/launch attack model=wine-mlp eps=0.05 trials=3 name=chat-atk")
    assert route.args.get("name") == "chat-atk" and "name" not in route.args["settings"]
    res = tools.call(route.tool, route.args)
    assert res.ok, res.text
    assert res.data["campaign"] == "chat-atk" and "--name chat-atk" in res.data["command"]
    # a name given among the settings (a model's tool call) is kept too
    res = tools.call("launch_campaign", {"kind": "attack", "settings": {"model": "wine-mlp",
                                                                        "name": "chat-atk2"}})  # fmt: skip
    assert res.ok and res.data["campaign"] == "chat-atk2", res.text


def test_a_trials_sample_mask_is_not_shown_as_part_of_its_config(tools: Any) -> None:
    """The attack kind's internal params (KindSpec.internal_params: the cascade's sample mask)
    stay out of the configs the chat shows ("Chosen", "Tried")."""
    masks = {str(o.spec.params["samples"]) for o in tools.store.history("atk-casc")}
    masks.discard("")
    assert masks  # the store's later trials carry a mask
    for r in (2, 3):
        text = _ok(tools.call("explain_round", {"name": "atk-casc", "round": r}))
        assert not any(m in text for m in masks), text
    text = _ok(tools.call("summarize_campaign", {"name": "atk-casc"}))
    tried = next(line for line in text.splitlines() if line.startswith("Tried"))
    assert "samples" not in tried, tried
