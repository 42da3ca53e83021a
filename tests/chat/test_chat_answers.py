"""The chat's answers on a real sqlite MLflow store read back: names resolved to the store's
campaigns (an unknown one is said to be unknown and never answered with another campaign's
numbers), settings and per-round figures in the results, comparisons with the arithmetic
done by the tool, and a launch request that keeps every setting it states. No model: the
router's fixed routes and the tools."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from chat_helpers import GEN, HPO

pytestmark = pytest.mark.slow  # the session store: two real campaigns (~1 min once)

GEN2 = "chat-genetic-bo"


@pytest.fixture(scope="module")
def three(chat_store: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The session store plus a second genetic campaign (bo, seed 3, 2 rounds of 8), in a
    copy (the session store's campaign count is asserted elsewhere)."""
    from perturbo.cli import main

    folder = tmp_path_factory.mktemp("chat-three")
    shutil.copy(chat_store.removeprefix("sqlite:///"), folder / "mlflow.db")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    assert main(["run", "genetic", "--screen", "Scharenberg22", "--planner", "bo", "--rounds", "2",
                 "--batch", "8", "--seed", "3", "--name", GEN2, "--local", "--no-progress",
                 "--tracking-uri", uri]) == 0  # fmt: skip
    return uri


def _tools(uri: str, workdir: Path) -> Any:
    from perturbo.chat.build import make_tools

    return make_tools(uri, local=True, workdir=workdir)


def _ask(uri: str, workdir: Path, text: str, last: str | None = None) -> tuple[str, list[Any]]:
    """The chat's answer without a model (fixed routes only): its text and events."""
    from perturbo.agents.chat.agent import ChatAgent, Facts, Step

    agent = ChatAgent(None, _tools(uri, workdir))
    agent.last_campaign = last
    events = list(agent.respond(text))
    assert any(isinstance(e, Step) for e in events), f"no tool was called for {text!r}"
    return "\n".join(e.text for e in events if isinstance(e, Facts)), events


def _numbers(text: str) -> set[str]:
    return set(re.findall(r"(?<![\w.-])\d+(?:\.\d+)?(?![\w-])", text))


def test_names_are_matched_by_part_or_description(three: str) -> None:
    from perturbo.agents.chat.facts import resolve
    from perturbo.tracking import open_store

    store = open_store(three)
    assert resolve(store, "branin") == HPO  # a unique part
    assert resolve(store, "the bo screen campaign") == GEN2  # planner + kind words
    assert resolve(store, "the random screen") == GEN
    assert resolve(store, "the hyperparameter search") == HPO
    with pytest.raises(Exception, match="ambiguous: it could be"):
        resolve(store, "the genetic campaign")  # two: never one picked at random


@pytest.mark.parametrize(
    "question",
    [
        "how many hits did bench-nope-xyz find?",
        "what seed did the optuna screen campaign use?",  # a planner no campaign used
        "summarise the IFNG screen",  # a screen no campaign ran
        "what is the best value of the campaign called zebra?",
        "how did campaign xyz do?",
        "compare chat-genetic-bo with chat-no-such-thing",
    ],
)
def test_an_unknown_name_is_said_unknown_never_another_campaigns_numbers(
    three: str, tmp_path: Path, question: str
) -> None:
    from perturbo import kinds
    from perturbo.agents.chat.facts import campaign_facts
    from perturbo.tracking import open_store

    store = open_store(three)
    text, _ = _ask(three, tmp_path, question)
    assert "no campaign named" in text and "I do not know it" in text
    for name in (HPO, GEN, GEN2):
        assert name in text  # the campaigns it does know are listed
        f = campaign_facts(store, name, kinds=kinds)
        theirs = {str(f.n_experiments), *(str(len(f.hits)) for _ in [0] if f.hits)}
        theirs |= {x for x in _numbers(f.text()) if len(x) > 1}
        leaked = (_numbers(text) - _numbers(question)) & theirs
        assert not leaked, f"{question!r} answered with {name}'s numbers {leaked}: {text}"


def test_settings_and_per_round_figures_are_in_the_summary(three: str, tmp_path: Path) -> None:
    from perturbo.agents.chat.facts import fmt
    from perturbo.tracking import open_store

    store = open_store(three)
    text, _ = _ask(three, tmp_path, "what seed and batch size did the bo screen campaign use?")
    for said in ("planner bo", "seed 3", "batch 8", "rounds 2", "screen Scharenberg22",
                 "status FINISHED", "started 20"):  # fmt: skip
        assert said in text
    rounds = store.round_metrics(GEN2)
    per_round = [int(rounds[k]["hits_round"]) for k in sorted(rounds)]
    total = int(store.summary(GEN2).metrics["hits_total"])
    for i, hits in enumerate(per_round, 1):
        assert f"round {i}: 8 experiments, {hits} hits" in text
    assert f"(cumulative {total})" in text
    top = max(range(len(per_round)), key=lambda i: (per_round[i], -i))
    assert f"Most hits in one round: round {top + 1} ({per_round[top]} hits)" in text
    genes = [str(o.spec.params["gene"]) for o in store.history(GEN2) if o.outcome.metrics["hit"]]
    assert all(g in text for g in genes)
    assert f"hit ratio {fmt(store.summary(GEN2).metrics['hit_ratio'])}" in text


def test_comparison_does_the_arithmetic(three: str, tmp_path: Path) -> None:
    from perturbo.tracking import open_store

    store = open_store(three)
    hits = {n: sum(int(o.outcome.metrics["hit"]) for o in store.history(n)) for n in (GEN, GEN2)}
    text, events = _ask(
        three, tmp_path, "how many hits did the two screen campaigns find together?"
    )
    a, b = hits[GEN], hits[GEN2]
    assert f"together {a + b} hits" in text
    if a != b:
        hi, lo = (GEN, GEN2) if a > b else (GEN2, GEN)
        assert f"{hi} is higher than {lo} by {abs(a - b)} hits" in text
    assert "Experiments: " in text and f"together {32 + 16}" in text
    ranked, _ = _ask(three, tmp_path, "which campaign found the most hits?")
    best = max(hits, key=lambda n: hits[n])
    assert f"Most hits: {best} ({hits[best]} hits)" in ranked


def test_a_follow_up_is_about_the_campaign_before(three: str, tmp_path: Path) -> None:
    text, _ = _ask(three, tmp_path, "and what seed did it use?", last=GEN2)
    assert text.startswith(f"{GEN2} (genetic") and "seed 3" in text


def test_a_launch_request_keeps_every_setting(three: str, tmp_path: Path) -> None:
    from perturbo.agents.chat.agent import Pending
    from perturbo.tracking import open_store

    n_before = len(open_store(three).list_campaigns())
    _, events = _ask(
        three, tmp_path, "start a new bo screen on the IL2 screen with 3 rounds of 8 genes, seed 5"
    )
    [pending] = [e for e in events if isinstance(e, Pending)]
    for said in ("planner=bo", "screen=IL2", "rounds=3", "batch=8", "seed=5"):
        assert said in pending.description
    assert len(open_store(three).list_campaigns()) == n_before  # nothing launched


def test_a_gene_is_looked_up_in_the_campaigns_experiments(three: str, tmp_path: Path) -> None:
    from perturbo.tracking import open_store

    history = list(open_store(three).history(GEN2))
    hit = next(o for o in history if o.outcome.metrics["hit"] == 1.0)
    miss = next(o for o in history if o.outcome.metrics["hit"] == 0.0)
    gene, other = str(hit.spec.params["gene"]), str(miss.spec.params["gene"])
    text, _ = _ask(three, tmp_path, f"was {gene} a hit in {GEN2}?")
    assert text.startswith(f"{gene} was a hit in {GEN2} (round {hit.spec.round + 1}, hit = 1)")
    text, _ = _ask(three, tmp_path, f"was {other} a hit in {GEN2}?")
    assert text.startswith(f"{other} was tested but is not a hit in {GEN2}")


def test_a_planner_is_named_by_what_it_is(three: str, tmp_path: Path) -> None:
    text, _ = _ask(three, tmp_path, "how many hits per round did the bayesian screen find?")
    assert text.startswith(f"{GEN2} (genetic") and "round 2: 8 experiments" in text


def test_a_rerun_starts_from_the_campaigns_settings(three: str, tmp_path: Path) -> None:
    from perturbo.agents.chat.agent import Pending

    _, events = _ask(three, tmp_path, f"rerun {GEN2} but on IL2 with 4 genes per round")
    [pending] = [e for e in events if isinstance(e, Pending)]
    for said in ("screen=IL2", "planner=bo", "rounds=2", "batch=4", "seed=3"):
        assert said in pending.description


@pytest.mark.parametrize(
    "question",
    [
        "how many experiments were run in the random screen campaign altogether?",
        "which genes did the random screen campaign try?",
    ],
)
def test_a_word_after_a_described_campaign_is_not_a_name(
    three: str, tmp_path: Path, question: str
) -> None:
    """'the random screen campaign altogether?': the campaign is described already, so the
    word after 'campaign' is part of the sentence (the lead's unseen set found this)."""
    text, _ = _ask(three, tmp_path, question)
    assert "no campaign named" not in text and GEN in text, text
