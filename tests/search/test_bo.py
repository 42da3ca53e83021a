"""BoTorch BO: beats random, spreads a batch around pending points, multi-objective front,
and the evolution / Sobol planners' own behaviour."""

from __future__ import annotations

import math

import numpy as np
import pytest

from perturbo.kinds.hyperparameter.tasks import make_task
from perturbo.objective import pareto_mask
from perturbo.search.bo import BOPlanner
from perturbo.search.evolution import DifferentialEvolution, EvolutionPlanner
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


def test_bo_proposal_is_fast_on_a_mixed_space_with_200_observations() -> None:
    """Issue 20 item 5 on the path that missed it: ints and categoricals (mixed GP, BoTorch's
    mixed alternating optimiser), a batch of 4 with 4 pending, as benchmarks/planner_time.py
    measures it (1.9 CPU s per proposal before the fit cap and the mixed optimiser's options)."""
    import time

    from perturbo.space import Int

    space = SearchSpace(
        [
            Float("lr", 1e-4, 1e-1, log=True),
            Float("dropout", 0.0, 0.5),
            Int("layers", 1, 4),
            Int("width", 8, 256, log=True),
            Categorical("activation", ["relu", "tanh", "gelu"]),
            Categorical("optimizer", ["adam", "sgd", "rmsprop"]),
        ]
    )
    rng = np.random.default_rng(0)
    cfgs = space.sample(rng, 204, set())

    def f(c: dict) -> float:
        v = -((math.log10(c["lr"]) + 2.5) ** 2) - (c["dropout"] - 0.2) ** 2
        return (
            v - abs(c["layers"] - 2) / 4 + (c["activation"] == "relu") + (c["optimizer"] == "adam")
        )

    # refit_every=1: the second ask fits again (by default it would keep the first ask's fit
    # of the same 200 observations, search/gp_refit.py, and time no fit)
    pl = BOPlanner(space, K, 0, "value", "max", refit_every=1)
    pl.tell(
        [
            Observation(
                ExperimentSpec(c, K, f"t{i}", 0), Outcome(Status.COMPLETED, {"value": f(c)})
            )
            for i, c in enumerate(cfgs[:200])
        ]
    )
    cpus = []
    for _ in range(2):  # the faster of two asks: CPU time still moves with a loaded box
        c0 = time.process_time()
        specs = pl.ask(4, [ExperimentSpec(c, K) for c in cfgs[200:]])
        cpus.append((time.process_time() - c0) / 4)
        assert all("qLogNEI on 200 points" in s.note for s in specs), [s.note for s in specs]
    # The bar (<= 1 s) is measured by benchmarks/planner_time.py (0.75 CPU s median here). This
    # guard sits between the new settings (~0.75) and the old (1.76 in this test): a CPU a
    # third slower than this box does not turn CI red, the old settings still do.
    assert min(cpus) < 1.2, f"{cpus} CPU s per proposal"


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


def _nas_like(n: int, seed: int):
    """Six 5-way unordered categoricals (NAS-Bench-201's shape) and an objective like its
    accuracies: small additive effects, and a large drop where op0 or op3 is "a" (a cut
    edge). ``n`` noisy observations and 300 unseen configs with their true values."""
    space = SearchSpace([Categorical(f"op{i}", list("abcde")) for i in range(6)])
    rng = np.random.default_rng(seed)
    effect = 0.3 * rng.normal(size=(6, 5))

    def f(c):
        v = float(sum(effect[i, "abcde".index(c[f"op{i}"])] for i in range(6)))
        return v - 5.0 * (c["op0"] == "a" or c["op3"] == "a")

    cfgs = space.sample(rng, n + 300, set())
    seen, unseen = cfgs[:n], cfgs[n:]
    obs = [
        Observation(
            ExperimentSpec(c, K), Outcome(Status.COMPLETED, {"f": f(c) + 0.1 * rng.normal()})
        )
        for c in seen
    ]
    return space, obs, unseen, np.array([f(c) for c in unseen])


@pytest.mark.parametrize("seed", [1, 3])
def test_categorical_model_ranks_configs_it_has_not_seen(seed: int) -> None:
    """The mechanism behind bo's NAS-Bench-201 stall (docs/findings/categorical-bo.md):
    without a prior, MixedSingleTaskGP's categorical lengthscales collapse to their 1e-6 bound
    on some columns, unseen configs that differ there become uncorrelated with the data and the
    posterior mean ranks them poorly (on these seeds: lengthscale 0, Spearman 0.72 and 0.57
    with ``cat_prior=None``). With the prior they stay off the bound and the ranking is good."""
    import torch
    from botorch.models.kernels.categorical import CategoricalKernel
    from scipy.stats import spearmanr

    space, obs, unseen, truth = _nas_like(40, seed)
    pl = BOPlanner(space, K, seed, "f", "max")
    pl.tell(obs)
    X = torch.as_tensor(pl._told.X, dtype=torch.double)
    Y = torch.as_tensor(pl._told.Y, dtype=torch.double)
    model = pl._fit(X, Y)
    ls = [k.lengthscale.min().item() for k in model.modules() if isinstance(k, CategoricalKernel)]
    assert ls and min(ls) > 0.1, ls
    Xu = torch.as_tensor(space.encode_many(unseen), dtype=torch.double).unsqueeze(1)
    with torch.no_grad():
        mu = model.posterior(Xu).mean.reshape(-1).numpy()
    rho = spearmanr(mu, truth)[0]
    assert rho > 0.8, f"Spearman {rho:.2f} of the posterior mean on unseen configs"


def test_categorical_prior_reaches_every_categorical_kernel_of_a_mixed_model() -> None:
    """With numeric columns beside the categoricals MixedSingleTaskGP has two
    CategoricalKernels (sum and product parts); both get the prior, and a conditional mixed
    space still yields valid proposals from the model (not the Sobol fallback)."""
    from botorch.models.kernels.categorical import CategoricalKernel

    space = SearchSpace(
        [
            Categorical("opt", ["adam", "sgd", "rms"]),
            Float("lr", 1e-4, 1e-1, log=True),
            Categorical("act", ["relu", "tanh", "gelu"]),
            Float("momentum", 0.0, 0.99, when={"opt": ["sgd"]}),
        ]
    )
    rng = np.random.default_rng(0)
    pl = BOPlanner(space, K, 0, "f", "max", n_init=4)
    cfgs = space.sample(rng, 12, set())
    pl.tell(
        [
            Observation(ExperimentSpec(c, K), Outcome(Status.COMPLETED, {"f": float(rng.random())}))
            for c in cfgs
        ]
    )
    import torch

    model = pl._fit(
        torch.as_tensor(pl._told.X, dtype=torch.double),
        torch.as_tensor(pl._told.Y, dtype=torch.double),
    )
    kernels = [k for k in model.modules() if isinstance(k, CategoricalKernel)]
    assert len(kernels) == 2
    assert all(any(n == "lengthscale_prior" for n, *_ in k.named_priors()) for k in kernels)
    specs = pl.ask(3, [])
    assert all(s.note.startswith("qLogNEI on 12 points") for s in specs), [s.note for s in specs]
    for s in specs:
        assert space.validate(s.params) == s.params
