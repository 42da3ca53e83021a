"""BoTorch BO: beats random, spreads a batch around pending points, multi-objective front,
and the evolution / Sobol planners' own behaviour."""

from __future__ import annotations

import math

import numpy as np
import pytest

from perturbo.kinds.hyperparameter.tasks import make_task
from perturbo.search.bo import BOPlanner
from perturbo.search.evolution import DifferentialEvolution, EvolutionPlanner
from perturbo.search.objective import pareto_mask
from perturbo.search.random import RandomPlanner
from perturbo.search.sobol import SobolPlanner
from perturbo.space import Categorical, Float, SearchSpace
from perturbo.types import ExperimentSpec, Observation, Outcome, Status

K = "hyperparameter"


def _optimise(planner, task, evals: int, batch: int = 4) -> list[float]:
    space = task.space()
    vals = []
    r = 0
    while len(vals) < evals:
        specs = planner.ask(batch, [])
        obs = []
        for i, s in enumerate(specs):
            m = task.evaluate(space.validate(s.params))
            vals.append(m[task.objective])
            obs.append(Observation(s.stamped(f"{r}-{i}", r), Outcome(Status.COMPLETED, m)))
        planner.tell(obs)
        r += 1
    return vals


def test_bo_beats_random_on_branin() -> None:
    task = make_task("branin")
    bo = [min(_optimise(BOPlanner(task.space(), K, s, "value", "min"), task, 24)) for s in (0, 1)]
    rnd = [min(_optimise(RandomPlanner(task.space(), K, s), task, 24)) for s in (0, 1)]
    assert max(bo) < 1.0, bo  # optimum 0.398; random search's median best after 24 is ~3
    assert max(bo) < min(rnd), (bo, rnd)


def test_bo_proposal_is_fast_with_200_observations() -> None:
    import time

    task = make_task("hartmann6")
    space = task.space()
    pl = BOPlanner(space, K, 0, "value", "min")
    cfgs = space.sample(np.random.default_rng(0), 200, set())
    pl.tell(
        [
            Observation(ExperimentSpec(c, K), Outcome(Status.COMPLETED, task.evaluate(c)))
            for c in cfgs
        ]
    )
    c0 = time.process_time()
    specs = pl.ask(4, [])
    cpu = (time.process_time() - c0) / 4
    assert "qLogNEI on 200 points" in specs[0].note
    assert cpu < 1.0, f"{cpu:.2f} CPU s per proposal"


def test_bo_spreads_batch_and_avoids_pending() -> None:
    task = make_task("branin")
    space = task.space()
    pl = BOPlanner(space, K, 3, "value", "min", n_init=6)
    _optimise(pl, task, 12)
    first = pl.ask(4, [])
    x = space.encode_many([s.params for s in first])
    d = np.linalg.norm(x[:, None] - x[None], axis=-1)[np.triu_indices(4, 1)]
    assert d.min() > 1e-3, "a q-batch collapsed onto one point"
    again = pl.ask(4, first)  # the same state, but the first batch is now in flight
    y = space.encode_many([s.params for s in again])
    dist = np.linalg.norm(y[:, None] - x[None], axis=-1).min()
    assert dist > 1e-3, "proposed a pending point again"


def test_bo_on_a_finite_grid_never_repeats_and_finds_the_best() -> None:
    space = SearchSpace(
        [
            Categorical("a", list("pqrst")),
            Categorical("b", [1, 2, 4, 8, 16], ordered=True),
            Categorical("c", ["x", "y"]),
        ]
    )
    best = {"a": "r", "b": 8, "c": "y"}

    def f(p):
        return (
            -((["p", "q", "r", "s", "t"].index(p["a"]) - 2) ** 2)
            - (math.log2(p["b"]) - 3) ** 2
            - (p["c"] == "x")
        )

    pl = BOPlanner(space, K, 0, "f", "max")
    seen = []
    for r in range(6):
        specs = pl.ask(4, [])
        seen += [space.key(s.params) for s in specs]
        pl.tell(
            [
                Observation(s.stamped(f"{r}-{i}", r), Outcome(Status.COMPLETED, {"f": f(s.params)}))
                for i, s in enumerate(specs)
            ]
        )
    assert len(set(seen)) == len(seen) == 24
    assert space.key(best) in seen, "did not find the optimum of a 50-config grid in 24 trials"


def test_multi_objective_bo_proposes_and_keeps_a_pareto_front() -> None:
    space = SearchSpace([Float("x", 0.0, 1.0), Float("y", 0.0, 1.0)])
    pl = BOPlanner(space, K, 0, objective=("acc", "cost"), direction=("max", "min"), n_init=6)
    for r in range(4):
        specs = pl.ask(3, [])
        obs = []
        for i, s in enumerate(specs):
            x, y = s.params["x"], s.params["y"]
            m = {"acc": 1 - (x - 0.7) ** 2 - 0.1 * y, "cost": x + 0.5 * y}
            st = Status.FAILED if (r, i) == (1, 0) else Status.COMPLETED
            obs.append(
                Observation(
                    s.stamped(f"{r}-{i}", r), Outcome(st, m if st is Status.COMPLETED else {})
                )
            )
        pl.tell(obs)
    assert "qLogNEHVI" in specs[0].note
    front = pl.pareto_front()
    assert front
    vals = np.array([[v["acc"], -v["cost"]] for _, v in front])
    assert pareto_mask(vals).all()
    all_y = pl._told.Y
    for row in all_y:  # every observation is dominated by or on the front
        assert any(np.all(f >= row) for f in vals)


def test_de_vector_optimiser_converges_on_a_sphere() -> None:
    de = DifferentialEvolution(dim=5, popsize=20, seed=0)
    for _ in range(60):
        x = de.ask(10)
        de.tell(x, -np.sum((x - 0.3) ** 2, axis=1))
    x, f = de.best
    assert f > -1e-3 and np.allclose(x, 0.3, atol=0.03)


def test_evolution_planner_improves_over_its_initial_population() -> None:
    task = make_task("hartmann6")
    vals = _optimise(EvolutionPlanner(task.space(), K, 0, "value", "min", popsize=12), task, 120)
    assert min(vals[60:]) < min(vals[:12]) - 0.3


def test_sobol_continues_its_sequence_on_resume() -> None:
    space = SearchSpace([Float("x", 0, 1), Float("y", 0, 1)])
    a = SobolPlanner(space, K, 5)
    first = a.ask(8, [])
    b = SobolPlanner(space, K, 5)
    b.tell(
        [
            Observation(s.stamped(str(i), 0), Outcome(Status.COMPLETED, {}))
            for i, s in enumerate(first[:4])
        ]
    )
    assert [s.params for s in b.ask(4, [])] == [s.params for s in first[4:]]


@pytest.mark.parametrize("planner", ["bo", "evolution"])
def test_pruned_trials_count_with_their_last_value(planner: str) -> None:
    space = SearchSpace([Float("x", 0, 1)])
    pl = (
        BOPlanner(space, K, 0, "acc")
        if planner == "bo"
        else EvolutionPlanner(space, K, 0, "acc", popsize=4)
    )
    specs = pl.ask(4, [])
    pl.tell(
        [
            Observation(
                s.stamped(str(i), 0), Outcome(Status.PRUNED, {"acc": 0.1 * i}, (0.05, 0.1 * i))
            )
            for i, s in enumerate(specs)
        ]
    )
    assert len(pl._told) == 4
    assert len(pl.ask(2, [])) == 2


def test_bo_models_mixed_spaces_instead_of_falling_back() -> None:
    """Ints, categoricals and a conditional parameter go through the mixed GP and BoTorch's
    mixed optimiser; the Sobol fallback (a model failure) would say so in the note."""
    task = make_task("digits-cnn")
    space = task.space()
    pl = BOPlanner(space, K, 0, "acc", n_init=4, num_restarts=2, raw_samples=32)
    rng = np.random.default_rng(0)
    cfgs = space.sample(rng, 8, set())
    pl.tell(
        [
            Observation(
                ExperimentSpec(c, K, f"i{i}", 0),
                Outcome(Status.COMPLETED, {"acc": float(rng.random())}),
            )
            for i, c in enumerate(cfgs)
        ]
    )
    specs = pl.ask(2, [])
    assert all(s.note.startswith("qLogNEI on 8 points") for s in specs), [s.note for s in specs]
    for s in specs:
        assert space.validate(s.params) == s.params


def test_optuna_adapter_multi_objective_and_resume() -> None:
    from perturbo.search.optuna_planner import OptunaPlanner

    space = SearchSpace([Float("x", 0.0, 1.0), Float("y", 0.0, 1.0)])
    pl = OptunaPlanner(
        space, K, 0, objective=("acc", "cost"), direction=("max", "min"), sampler="nsga2"
    )
    hist = []
    for r in range(3):
        specs = pl.ask(4, [])
        obs = [
            Observation(
                s.stamped(f"{r}-{i}", r),
                Outcome(
                    Status.COMPLETED, {"acc": s.params["x"], "cost": s.params["x"] + s.params["y"]}
                ),
            )
            for i, s in enumerate(specs)
        ]
        pl.tell(obs)
        hist += obs
    # Optuna's best trials must be exactly the non-dominated observations (acc max, cost min)
    vals = np.array([[o.outcome.metrics["acc"], -o.outcome.metrics["cost"]] for o in hist])
    front = {
        (o.spec.params["x"], o.spec.params["y"])
        for o, on in zip(hist, pareto_mask(vals), strict=True)
        if on
    }
    best = {(t.params["x"], t.params["y"]) for t in pl.study.best_trials}
    assert best == front and len(front) < len(hist)
    fresh = OptunaPlanner(
        space, K, 0, objective=("acc", "cost"), direction=("max", "min"), sampler="nsga2"
    )
    fresh.tell(hist)  # resume: trials Optuna never asked for are added to its study
    assert len(fresh.study.trials) == 12 and len(fresh.ask(2, [])) == 2
