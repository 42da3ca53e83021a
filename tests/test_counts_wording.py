"""Counts said the way people say them: "1 hit in 8 experiments" (not "1 hits"), and
``perturbo status`` says the failed experiments apart from those that ran, as the campaign
list does from the ``perturbo.n_failed`` tag (a store recorded before it: as before)."""

from __future__ import annotations

from perturbo.findings import Findings, headline_text
from perturbo.types import CampaignSummary


def test_one_find_is_singular() -> None:
    f = Findings(noun="hits")
    assert headline_text(f, 1, None, 8) == "1 hit in 8 experiments"
    assert headline_text(f, 0, None, 1) == "0 hits in 1 experiment"
    assert headline_text(f, 2, None, 8) == "2 hits in 8 experiments"
    assert headline_text(f, 1, 45, 8) == "1 of 45 hits found (2.2%) in 8 experiments"
    assert headline_text(f, 1, 1, 8) == "1 of 1 hit found (100%) in 8 experiments"
    assert (
        headline_text(Findings(noun="mice", one="mouse"), 1, None, 2) == "1 mouse in 2 experiments"
    )


def _summary(**tags: str) -> CampaignSummary:
    return CampaignSummary("c", "genetic", "RUNNING", 2, 0.0, run_tags=tags)


def test_status_says_the_failed_apart() -> None:
    from perturbo.status import _progress

    rounds = {"perturbo.meta.rounds": "4", "perturbo.n_ran": "16"}
    assert _progress(_summary(**rounds)) == "2/4 rounds (50%), 16 ran"  # an older store
    failed = {**rounds, "perturbo.n_failed": "3"}
    assert _progress(_summary(**failed)) == "2/4 rounds (50%), 13 ran, 3 failed"
    assert _progress(_summary(**rounds, **{"perturbo.n_failed": "0"})) == "2/4 rounds (50%), 16 ran"
    budget = {"perturbo.meta.max_experiments": "32", "perturbo.n_ran": "16"}
    assert _progress(_summary(**budget)) == "16/32 experiments (50%)"  # the budget counts all
    assert (
        _progress(_summary(**budget, **{"perturbo.n_failed": "3"}))
        == "16/32 experiments (50%), 3 failed"
    )


def test_a_lab_outlook_says_one_hit_and_one_gene() -> None:
    from perturbo.kinds.genetic.lab.outlook import outlook
    from perturbo.types import ExperimentSpec, Observation, Outcome, Status

    spec = ExperimentSpec({"gene": "Cd247"}, "genetic", id="r001-0000", round=0)
    obs = Observation(spec, Outcome(Status.COMPLETED, {"hit": 1.0, "score": 3.0}))
    lines, _ = outlook(None, [obs])
    assert lines[0] == "1 hit in 1 gene tested (round 1: 1/1)", lines
