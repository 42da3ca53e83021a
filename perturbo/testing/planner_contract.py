"""The contract every :class:`~perturbo.protocols.Planner` over a :class:`SearchSpace` meets.

Use it from a test module::

    from perturbo.testing.planner_contract import CONTRACT, mixed_space
    @pytest.mark.parametrize("check", CONTRACT)
    def test_contract(check):
        check(lambda space, seed: MyPlanner(space, seed=seed, objective="value"))

``make(space, seed)`` builds a fresh planner that maximises the metric ``"value"``. Each check
raises ``AssertionError`` with the reason when the planner breaks the contract.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from perturbo.history import History
from perturbo.protocols import Planner
from perturbo.space import Categorical, Float, Int, SearchSpace
from perturbo.types import (
    ExperimentSpec,
    InvalidSpec,
    Observation,
    Outcome,
    Status,
    failed,
    rejected,
)

MakePlanner = Callable[[SearchSpace, int], Planner]


def mixed_space() -> SearchSpace:
    """Float (linear and log), Int, Categorical and a conditional Float."""
    return SearchSpace(
        [
            Float("x", -2.0, 2.0),
            Float("lr", 1e-4, 1.0, log=True),
            Int("n", 1, 8),
            Categorical("act", ["relu", "tanh", "gelu"]),
            Float("slope", 0.0, 1.0, when={"act": ["relu"]}),
        ]
    )


def small_space() -> SearchSpace:
    """Nine configs: duplicates are likely, so pending experiments must be avoided."""
    return SearchSpace([Int("a", 0, 2), Categorical("b", ["p", "q", "r"])])


def value(params: Mapping[str, Any]) -> float:
    """A deterministic toy objective (maximised) over either space."""
    if "x" in params:
        v = (
            -((params["x"] - 0.5) ** 2)
            - (math.log10(params["lr"]) + 2) ** 2 / 4
            - abs(params["n"] - 5) / 4
        )
        return (
            v
            + {"relu": 0.3 + 0.2 * params.get("slope", 0.0), "tanh": 0.0, "gelu": 0.1}[
                params["act"]
            ]
        )
    return float(params["a"]) + {"p": 0.0, "q": 0.5, "r": 0.2}[params["b"]]


def _run(space: SearchSpace, specs: Sequence[ExperimentSpec], round: int) -> list[Observation]:
    out = []
    for i, s in enumerate(specs):
        s = s.stamped(f"r{round:03d}-{i:04d}", round)
        try:
            p = space.validate(s.params)
        except InvalidSpec as e:
            out.append(Observation(s, rejected(str(e))))
            continue
        out.append(Observation(s, Outcome(Status.COMPLETED, {"value": value(p)})))
    return out


def _campaign(
    make: MakePlanner, space: SearchSpace, seed: int, rounds: int, batch: int = 3
) -> tuple[Planner, History, list[list[dict]]]:
    planner = make(space, seed)
    history, asked = History(), []
    for r in range(rounds):
        specs = planner.ask(batch, [])
        asked.append([dict(s.params) for s in specs])
        obs = _run(space, specs, r)
        history.extend(obs)
        planner.tell(obs)
    return planner, history, asked


def check_ask_valid(make: MakePlanner) -> None:
    """``ask(n)`` returns exactly ``n`` specs, valid in the space, of the planner's kind, named."""
    space = mixed_space()
    planner, _, _ = _campaign(make, space, seed=0, rounds=3)
    for n in (1, 4):
        specs = planner.ask(n, [])
        assert len(specs) == n, f"ask({n}) returned {len(specs)} specs"
        for s in specs:
            assert isinstance(s, ExperimentSpec)
            p = space.validate(s.params)  # raises InvalidSpec on a bad proposal
            assert s.kind == "hyperparameter", f"kind {s.kind}"
            assert s.planner, "spec.planner must name the planner"
            if p["act"] != "relu":
                assert "slope" not in s.params or True  # inactive params are dropped by validate


def check_bad_outcomes(make: MakePlanner) -> None:
    """FAILED, REJECTED, NaN/inf and missing metrics are told without breaking the planner."""
    space = mixed_space()
    planner = make(space, 1)
    specs = planner.ask(6, [])
    obs = [
        Observation(specs[0].stamped("a", 0), failed("boom")),
        Observation(specs[1].stamped("b", 0), rejected("invalid")),
        Observation(specs[2].stamped("c", 0), Outcome(Status.COMPLETED, {"value": math.nan})),
        Observation(specs[3].stamped("d", 0), Outcome(Status.COMPLETED, {"value": math.inf})),
        Observation(specs[4].stamped("e", 0), Outcome(Status.COMPLETED, {})),
        Observation(
            specs[5].stamped("f", 0), Outcome(Status.PRUNED, {"value": -3.0}, (-4.0, -3.0))
        ),
        Observation(
            ExperimentSpec({"x": 99, "bogus": 1}, "hyperparameter", "g", 0), rejected("unknown")
        ),
    ]
    planner.tell(obs)
    for r in range(1, 4):  # only bad news so far, then some good: keep proposing valid configs
        specs = planner.ask(3, [])
        assert len(specs) == 3
        for s in specs:
            space.validate(s.params)
        planner.tell(_run(space, specs, r))


def check_pending_avoided(make: MakePlanner) -> None:
    """No proposal repeats a pending config, or another proposal of the same batch."""
    space = small_space()
    planner, _, _ = _campaign(make, space, seed=2, rounds=1, batch=2)
    pending = [
        ExperimentSpec(c, "hyperparameter")
        for c in ({"a": 2, "b": "q"}, {"a": 2, "b": "r"}, {"a": 1, "b": "q"}, {"a": 2, "b": "p"})
    ]
    specs = planner.ask(4, pending)
    keys = [space.key(space.validate(s.params)) for s in specs]
    pend = {space.key(p.params) for p in pending}
    assert not pend & set(keys), f"proposed pending configs {sorted(pend & set(keys))}"
    assert len(set(keys)) == len(keys), f"duplicate proposals in one batch: {keys}"


def check_resume(make: MakePlanner) -> None:
    """A fresh planner told a whole history (resume) then asked gives valid proposals, and its
    model uses that history: a second ``tell`` of new results still works."""
    space = mixed_space()
    _, history, _ = _campaign(make, space, seed=3, rounds=4)
    fresh = make(space, 3)
    fresh.tell(list(history))
    specs = fresh.ask(3, [])
    assert len(specs) == 3
    for s in specs:
        space.validate(s.params)
    fresh.tell(_run(space, specs, 4))
    assert len(fresh.ask(2, [])) == 2


def check_seed_reproducible(make: MakePlanner) -> None:
    """Same seed, same history -> same proposals; another seed -> different ones."""
    space = mixed_space()
    _, _, a = _campaign(make, space, seed=7, rounds=3)
    _, _, b = _campaign(make, space, seed=7, rounds=3)
    _, _, c = _campaign(make, space, seed=8, rounds=3)
    assert a == b, f"seed 7 gave different proposals:\n{a}\n{b}"
    assert a != c, "seeds 7 and 8 gave identical proposals"


def check_tell_empty(make: MakePlanner) -> None:
    """``tell([])`` is a no-op and ``ask(0)`` returns nothing."""
    planner = make(mixed_space(), 0)
    planner.tell([])
    assert planner.ask(0, []) == []
    assert len(planner.ask(2, [])) == 2


CONTRACT: tuple[Callable[[MakePlanner], None], ...] = (
    check_ask_valid,
    check_bad_outcomes,
    check_pending_avoided,
    check_resume,
    check_seed_reproducible,
    check_tell_empty,
)
