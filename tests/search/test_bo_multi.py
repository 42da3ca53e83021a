"""``bo``'s Pareto-mode acquisitions (search/bo_multi.py): ``mo_acq`` checked, that
qLogNParEGO gives every pick of a batch its own weights with the earlier picks pending, that it
runs on continuous and finite spaces with pending points, and that on a four-objective function
it finds a better front than random search (benchmarks/results/pareto_many.md)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from perturbo.search.bo import BOPlanner  # noqa: E402
from perturbo.search.bo_multi import choose  # noqa: E402
from perturbo.search.random import RandomPlanner  # noqa: E402
from perturbo.space import Categorical, Float, Int, SearchSpace  # noqa: E402
from perturbo.types import ExperimentSpec, Observation, Outcome, Status  # noqa: E402

FOUR = ("f1", "f2", "f3", "f4")


def test_nehvi_is_the_default_and_parego_an_option_without_thresholds() -> None:
    space = SearchSpace([Float("x", 0, 1)])
    assert BOPlanner(space, objective=FOUR, direction="min")._mo_acq == "nehvi"
    assert choose("parego", "front") == "parego" and choose("nehvi", {"f1": 1.0}) == "nehvi"
    with pytest.raises(ValueError, match="nehvi, parego"):
        choose("ehvi", "front")
    with pytest.raises(ValueError, match="qLogNParEGO has none"):
        BOPlanner(space, objective=FOUR[:2], direction="min", mo_acq="parego",
                  ref_point={"f1": 1.0})  # fmt: skip


def _dtlz2(x: np.ndarray, m: int = 4) -> np.ndarray:
    """DTLZ2 with ``m`` objectives (minimised), from its definition (Deb et al. 2005), not
    BoTorch's, so the test does not lean on the library it checks."""
    g = float(np.sum((x[m - 1 :] - 0.5) ** 2))
    f = []
    for i in range(m):
        v = 1.0 + g
        for t in x[: m - 1 - i]:
            v *= np.cos(t * np.pi / 2)
        if i:
            v *= np.sin(x[m - 1 - i] * np.pi / 2)
        f.append(v)
    return np.array(f)


def _run(planner, n: int) -> np.ndarray:
    Y = []
    while len(Y) < n:
        specs = planner.ask(4, [])
        obs = []
        for s in specs:
            f = _dtlz2(np.array([s.params[f"x{i}"] for i in range(6)]))
            Y.append(f)
            obs.append(Observation(s, Outcome(Status.COMPLETED, dict(zip(FOUR, f, strict=True)))))
        planner.tell(obs)
    return np.array(Y)


def test_four_objectives_run_parego_with_a_weight_per_pick(monkeypatch) -> None:
    space = SearchSpace([Float(f"x{i}", 0.0, 1.0) for i in range(6)])
    weights: list[tuple[float, ...]] = []
    pending_sizes: list[int] = []
    # parego_batch imports the class when it runs: patch it where BoTorch defines it
    from botorch.acquisition.multi_objective import parego

    cls = parego.qLogNParEGO

    class Spy(cls):  # type: ignore[misc, valid-type]
        def __init__(self, *a, **kw) -> None:
            weights.append(tuple(kw["scalarization_weights"].tolist()))
            xp = kw.get("X_pending")
            pending_sizes.append(0 if xp is None else len(xp))
            super().__init__(*a, **kw)

    monkeypatch.setattr(parego, "qLogNParEGO", Spy)
    pl = BOPlanner(space, "toy", 0, objective=FOUR, direction="min", n_init=8, mo_acq="parego")
    Y = _run(pl, 8)
    pending = [ExperimentSpec({f"x{i}": 0.5 for i in range(6)}, "toy")]
    specs = pl.ask(4, pending)
    assert all("qLogNParEGO on 8 points" in s.note for s in specs)
    assert len(weights) == 4 and len(set(weights)) == 4  # a weight of its own per pick
    assert all(abs(sum(w) - 1) < 1e-9 and min(w) >= 0 for w in weights)
    assert pending_sizes == [1, 2, 3, 4]  # the pending point, then each earlier pick
    assert len({tuple(s.params.values()) for s in specs}) == 4
    assert len(Y) == 8


def test_parego_on_a_finite_space_never_repeats_a_config() -> None:
    space = SearchSpace([Int("a", 0, 3), Int("b", 0, 3), Categorical("c", ["x", "y"])])
    pl = BOPlanner(space, "toy", 0, objective=FOUR, direction="min", mo_acq="parego", n_init=4)
    seen: set[tuple] = set()
    for _ in range(5):
        specs = pl.ask(4, [])
        obs = []
        for s in specs:
            key = tuple(sorted(s.params.items()))
            assert key not in seen
            seen.add(key)
            a, b, c = s.params["a"], s.params["b"], s.params["c"] == "y"
            f = {"f1": a, "f2": 3 - a + b, "f3": b + c, "f4": 3 - b + (1 - c)}
            obs.append(Observation(s, Outcome(Status.COMPLETED, f)))
        pl.tell(obs)
    assert any("qLogNParEGO" in s.note for s in specs)


def test_parego_finds_a_better_four_objective_front_than_random() -> None:
    """BoTorch's CarSideImpact (4 objectives, 7-D), 32 evaluations, seed 1. In
    pareto_many.md's 5 seeds at 32 evaluations every bo-parego run's log10 hypervolume regret
    is <= 2.23 and every random run's >= 2.35 (seed 1: 2.08 against 2.38); asked for here:
    lower by 0.06, half the gap between the two ranges."""
    from botorch.test_functions.multi_objective import CarSideImpact

    fn = CarSideImpact()
    lo, hi = fn.bounds.tolist()
    space = SearchSpace([Float(f"x{i}", lo[i], hi[i]) for i in range(fn.dim)])

    def regret(planner) -> float:
        from botorch.utils.multi_objective.box_decompositions.dominated import (
            DominatedPartitioning,
        )

        Y = []
        while len(Y) < 32:
            obs = []
            for s in planner.ask(4, []):
                x = torch.tensor([[s.params[f"x{i}"] for i in range(fn.dim)]], dtype=torch.double)
                f = fn(x)[0].tolist()
                Y.append(f)
                obs.append(
                    Observation(s, Outcome(Status.COMPLETED, dict(zip(FOUR, f, strict=True))))
                )
            planner.tell(obs)
        part = DominatedPartitioning(
            ref_point=-fn.ref_point, Y=-torch.tensor(Y, dtype=torch.double)
        )
        return float(np.log10(fn.max_hv - part.compute_hypervolume()))

    bo = regret(BOPlanner(space, "toy", 1, objective=FOUR, direction="min", mo_acq="parego"))
    rnd = regret(RandomPlanner(space, "toy", 1))
    assert bo < rnd - 0.06, (bo, rnd)
