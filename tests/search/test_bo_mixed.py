"""``bo`` on spaces with a one-value categorical or integer column (search/bo_mixed.py): the
model proposes, the column keeps its value. Before, BoTorch's mixed optimiser failed on such a
column and every ask fell back to Sobol points."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from perturbo.search.bo import BOPlanner  # noqa: E402
from perturbo.space import Categorical, Float, Int, SearchSpace  # noqa: E402
from perturbo.types import ExperimentSpec, Observation, Outcome, Status  # noqa: E402


@pytest.mark.parametrize(
    "other",
    [None, Categorical("act", ["relu", "tanh"]), Int("layers", 2, 2)],
    ids=["alone", "with-categorical", "with-one-value-int"],
)
def test_one_value_columns_are_fixed_and_the_model_proposes(other: object) -> None:
    params = [
        Float("lr", 1e-4, 1e-1, log=True),
        Float("wd", 0.0, 0.1),
        Categorical("opt", ["adam"]),
    ]
    space = SearchSpace(params + ([other] if other is not None else []))
    rng = np.random.default_rng(0)
    pl = BOPlanner(space, "toy", 0)
    told = [
        Observation(ExperimentSpec(c, "toy", id=f"t{i}"),
                    Outcome(Status.COMPLETED, {"value": -abs(np.log10(c["lr"]) + 2.5)}))
        for i, c in enumerate(space.sample(rng, 10, set()))
    ]  # fmt: skip
    pl.tell(told)
    specs = pl.ask(3, [])
    assert all(s.note.startswith("qLogNEI") for s in specs), specs[0].note
    assert {s.params["opt"] for s in specs} == {"adam"}
    assert {s.params.get("layers", 2) for s in specs} == {2}
