"""A proposal that repeats an experiment is rejected naming it as written: a gene's ``Cd247``,
not its upper-case matching key (perturbo/schedule.py ``Steps.validate``)."""

from __future__ import annotations

from types import SimpleNamespace

from perturbo.history import History
from perturbo.kinds.genetic.experiment import GenePool
from perturbo.schedule import Steps
from perturbo.types import ExperimentSpec


def test_a_repeated_gene_is_named_in_the_screens_spelling() -> None:
    pool = GenePool(["Cd247", "Ifng", "Stat1"], spelling={"CD247": "Cd247", "IFNG": "Ifng"})
    steps = Steps(
        planner=SimpleNamespace(), pool=SimpleNamespace(in_flight=lambda: []), space=pool,
        history=History(), seen={"CD247"},
    )  # fmt: skip
    valid, bad = steps.validate(
        [ExperimentSpec({"gene": "cd247"}, "genetic"), ExperimentSpec({"gene": "IFNG"}, "genetic"),
         ExperimentSpec({"gene": "ifng"}, "genetic")]
    )  # fmt: skip
    assert [s.params["gene"] for s in valid] == ["Ifng"]
    errors = [o.outcome.error for o in bad]
    assert errors == [
        "Cd247 was already tested in an earlier round",
        "Ifng appears twice in this batch",
    ], errors
