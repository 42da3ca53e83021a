"""The chat's look-up of an experiment by name (``summarize_campaign``'s ``about``) meets the
recorded values ignoring case and answers in the recorded spelling: a mouse screen records
``Cd247`` as its file spells it, and a person asks about ``CD247`` or ``cd247``."""

from __future__ import annotations

from perturbo.types import ExperimentSpec, Observation, Outcome, Status


def _obs(gene: str, hit: float, rnd: int = 0) -> Observation:
    spec = ExperimentSpec({"gene": gene}, "genetic", id=f"e-{gene}", round=rnd)
    return Observation(spec, Outcome(Status.COMPLETED, {"hit": hit, "score": 1.0}))


HISTORY = [_obs("Cd247", 1.0), _obs("Ifng", 0.0, 1)]


def test_a_gene_is_found_in_any_case_and_said_as_recorded() -> None:
    from perturbo.agents.chat.figures import lookup

    for asked in ("CD247", "cd247", "Cd247", " cd247 "):
        assert lookup(HISTORY, [asked], "hit", "mouse") == [
            "Cd247 was a hit in mouse (round 1, hit = 1)."
        ], asked
    assert lookup(HISTORY, ["IFNG"], "hit", "mouse") == [
        "Ifng was tested but is not a hit in mouse (round 2, hit = 0)."
    ]
    # one answer per gene however often (and in whatever case) it is named
    assert len(lookup(HISTORY, ["CD247", "cd247"], "hit", "mouse")) == 1


def test_a_gene_not_tested_is_said_as_typed() -> None:
    from perturbo.agents.chat.figures import lookup

    assert lookup(HISTORY, ["STAT1"], "hit", "mouse") == ["STAT1 was not tested in mouse."]
    assert lookup(HISTORY, ["Stat1"], "hit", "mouse") == ["Stat1 was not tested in mouse."]
    assert lookup(HISTORY, ["MLflow"], "hit", "mouse") == []  # not a symbol: nothing said


def test_the_router_passes_symbols_as_people_write_them() -> None:
    from perturbo.agents.chat.router import _about

    words = _about("was cd247 or Cd247 or CD274 a hit in gen-x? Which one?", ["gen-x"])
    assert words == ("cd247", "Cd247", "CD274")
