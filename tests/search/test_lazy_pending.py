"""Deferred pending points (search/lazy_pending.py): ``bo``'s Pareto mode recomputes
qLogNEHVI's box decompositions once less per batch (the pick after the last one is never
evaluated) and proposes exactly what it proposed with BoTorch's eager ``set_X_pending``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from botorch.utils.multi_objective.hypervolume import (  # noqa: E402
    NoisyExpectedHypervolumeMixin,
)

import perturbo.search.bo as bo  # noqa: E402
from perturbo.search.lazy_pending import defer_pending  # noqa: E402
from perturbo.space import Categorical, Float, Int, SearchSpace  # noqa: E402
from perturbo.types import ExperimentSpec, Observation, Outcome, Status  # noqa: E402

NAMES = ("f1", "f2", "f3")


def _f(p: dict[str, Any]) -> dict[str, float]:
    x = np.array([p["a"], p["b"] / 8, 0.7 if p.get("c") == "v" else 0.3])
    return {"f1": float(np.sum((x - 0.2) ** 2)), "f2": float(np.sum((x - 0.8) ** 2)),
            "f3": float(abs(x[0] - x[1]) + x[2])}  # fmt: skip


def _asks(space: SearchSpace) -> list[dict[str, Any]]:
    pl = bo.BOPlanner(space, "toy", 3, objective=NAMES, direction="min")
    rng = np.random.default_rng(0)
    told = [
        Observation(ExperimentSpec(c, "toy", id=f"t{i}"), Outcome(Status.COMPLETED, _f(c)))
        for i, c in enumerate(space.sample(rng, 12, set()))
    ]
    pl.tell(told)
    pending = [ExperimentSpec(c, "toy") for c in space.sample(rng, 2, set())]
    out = []
    for _ in range(2):
        specs = pl.ask(3, pending)
        assert all(s.note.startswith("qLogNEHVI") for s in specs), specs[0].note
        out += [dict(s.params) for s in specs]
    return out


@pytest.mark.parametrize("mixed", [False, True], ids=["continuous", "mixed"])
def test_one_decomposition_less_per_batch_and_the_same_proposals(
    monkeypatch: pytest.MonkeyPatch, mixed: bool
) -> None:
    calls: list[int] = []
    real = NoisyExpectedHypervolumeMixin._set_cell_bounds

    def counted(self: Any, num_new_points: int) -> None:
        calls.append(num_new_points)
        real(self, num_new_points)

    monkeypatch.setattr(NoisyExpectedHypervolumeMixin, "_set_cell_bounds", counted)
    params = [Float("a", 0, 1), Float("b", 0, 8)]
    if mixed:
        params = [Float("a", 0, 1), Int("b", 0, 8), Categorical("c", ["u", "v"])]
    space = SearchSpace(params)

    lazy = _asks(space)
    n_lazy = len(calls)
    monkeypatch.setattr(bo, "defer_pending", lambda acq: acq)
    calls.clear()
    eager = _asks(space)
    assert lazy == eager  # the same points, bit for bit
    # per ask of 3: the construction (baseline + 2 pending) and one after each pick but the
    # last (lazy: 1 + 2), against BoTorch's one after every pick (1 + 3); two asks
    assert (n_lazy, len(calls)) == (6, 8)


def test_the_last_value_given_wins_and_waits_for_a_forward() -> None:
    seen: list[Any] = []

    class Acq(torch.nn.Module):
        X_pending = None

        def set_X_pending(self, X_pending: Any = None) -> None:  # noqa: N802, N803
            seen.append(X_pending)
            self.X_pending = X_pending

        def forward(self, X: Any) -> Any:
            return X.sum()

    acq = defer_pending(Acq())
    acq.set_X_pending(torch.ones(1, 2))
    acq.set_X_pending(torch.zeros(2, 2))
    assert seen == []
    acq(torch.ones(1, 2))
    assert len(seen) == 1 and seen[0].shape == (2, 2)
    acq(torch.ones(1, 2))
    assert len(seen) == 1
