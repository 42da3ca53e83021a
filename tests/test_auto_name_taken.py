"""A name perturbo drew for a campaign (the user gave no --name) found taken in the store: it
draws another, and never tells the user to resume someone else's campaign. A name the user
chose keeps its message (``already exists: continue it with perturbo resume ...``)."""

from __future__ import annotations

from typing import Any

import pytest
from stores import *  # noqa: F403
from stores import run_toy

from perturbo import launch, names
from perturbo.config import RunOptions
from perturbo.launch_checks import claim_as_new, fresh_auto_name
from perturbo.types import PerturboError


class _Built(Exception):
    """Raised by the fake kind's build: the campaign got this far, under this name."""


class _Spec:
    name = "toy"
    nesting = "round"

    def default_name(self, config: Any) -> str:
        return "toy-x"

    def build(self, config: Any, context: Any) -> Any:
        raise _Built(context.campaign)


def _taken_then_free(monkeypatch: pytest.MonkeyPatch, taken: str) -> list[str]:
    """auto_name draws ``taken`` first, then ``toy-x-free``; returns what was drawn."""
    seq = iter([taken, "toy-x-free"])
    drawn: list[str] = []

    def draw(prefix: str) -> str:
        drawn.append(next(seq))
        return drawn[-1]

    monkeypatch.setattr(names, "auto_name", draw)
    monkeypatch.setattr(launch, "start_model_host", lambda *a: None)
    return drawn


def test_a_drawn_name_found_taken_is_drawn_again(
    store: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run_toy(store, "toy-x-clash", rounds=1)  # someone's campaign, started the same second
    drawn = _taken_then_free(monkeypatch, "toy-x-clash")
    with pytest.raises(_Built) as got:
        launch.launched(_Spec(), {}, RunOptions(tracking_uri=store, local=True))  # type: ignore[arg-type]
    assert got.value.args == ("toy-x-free",)
    assert drawn == ["toy-x-clash", "toy-x-free"]
    err = capsys.readouterr().err
    assert "'toy-x-clash' is taken in the store: this campaign is 'toy-x-free'" in err
    assert "resume" not in err


def test_a_chosen_name_found_taken_keeps_its_message(
    store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_toy(store, "mine", rounds=1)
    _taken_then_free(monkeypatch, "unused")
    with pytest.raises(_Built) as got:  # the build runs; the claim (later) says it exists
        launch.launched(_Spec(), {}, RunOptions(tracking_uri=store, name="mine", local=True))  # type: ignore[arg-type]
    assert got.value.args == ("mine",)
    with pytest.raises(PerturboError, match="already exists.*perturbo resume mine"):
        claim_as_new(store, "mine")


def test_a_drawn_name_taken_at_the_claim_does_not_invite_a_resume(store: str) -> None:
    # taken between fresh_auto_name's look and the claim (two starts in one moment)
    run_toy(store, "toy-x-race", rounds=1)
    with pytest.raises(PerturboError) as got:
        claim_as_new(store, "toy-x-race", drawn=True)
    msg = str(got.value)
    assert "resume" not in msg and "run the same command again" in msg


def test_fresh_auto_name_gives_up_naming_the_flag(store: str) -> None:
    run_toy(store, "t", rounds=1)
    with pytest.raises(PerturboError, match="pick one with --name"):
        fresh_auto_name(store, "t", lambda: "t", print, tries=3)
    assert fresh_auto_name(store, "u", lambda: "t", print) == "u"
