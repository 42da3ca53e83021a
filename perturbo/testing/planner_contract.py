"""The contract every :class:`~perturbo.protocols.Planner` meets, on the space it plans over.

Modelled on Optuna's shipped sampler suite (``optuna/testing/pytest_samplers.py``): proposals
inside the space (float, int, categorical, fixed and conditional params), bad outcomes (failed,
rejected, NaN, missing) told without breaking it, pending experiments avoided, ``ask(n)``
returning ``n``, determinism under a seed, resume from a recorded history, and several
objectives for the planners that take them. Use it from a test module::

    from perturbo.testing.planner_contract import CONTRACT, MIXED
    @pytest.mark.parametrize("check", CONTRACT)
    def test_contract(check):
        check(lambda space, seed: MyPlanner(space, seed=seed, objective="value"), MIXED)

``make(space, seed)`` builds a fresh planner for ``bench.space`` (or ``bench.small``) that
maximises ``bench.objectives`` (minimises the second of :data:`TWO_OBJECTIVES`). A planner
over a space of its own (a kind's gene pool) gets a :class:`Bench` for it. Each check raises
``AssertionError`` with the reason when the planner breaks the contract.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

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

MakePlanner = Callable[[Any, int], Planner]


@dataclass(frozen=True)
class Bench:
    """Where a planner is checked. ``measure``: the metrics of a valid config (deterministic).
    ``small``: a space of few configs, where proposals collide unless pending ones are avoided
    (``None``: ``space``). ``conditional``: ``(param, parent, parent values where it is
    active)``. ``seeded``: another seed gives other proposals (``False`` for a planner whose
    proposals follow from its prior alone). ``resume_exact``: a planner rebuilt from the
    recorded history proposes exactly what the original would have."""

    space: Any
    kind: str
    measure: Callable[[Mapping[str, Any]], dict[str, float]]
    objectives: tuple[str, ...] = ("value",)
    small: Any = None
    conditional: tuple[str, str, frozenset[Any]] | None = None
    seeded: bool = True
    resume_exact: bool = False

    def but(self, **changes: Any) -> Bench:
        """This bench with ``changes`` (e.g. ``MIXED.but(resume_exact=True)``)."""
        return replace(self, **changes)


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


def fixed_space() -> SearchSpace:
    """Optuna's partial-fixed / single-distribution case: params with a single value."""
    return SearchSpace(
        [
            Float("x", 0.0, 1.0),
            Float("c", 0.5, 0.5),
            Int("k", 3, 3),
            Categorical("only", ["one"]),
        ]
    )


def value(params: Mapping[str, Any]) -> float:
    """A deterministic toy objective (maximised) over the spaces above."""
    if "lr" in params:
        v = (
            -((params["x"] - 0.5) ** 2)
            - (math.log10(params["lr"]) + 2) ** 2 / 4
            - abs(params["n"] - 5) / 4
        )
        act = {"relu": 0.3 + 0.2 * params.get("slope", 0.0), "tanh": 0.0, "gelu": 0.1}
        return v + act[params["act"]]
    if "a" in params:
        return float(params["a"]) + {"p": 0.0, "q": 0.5, "r": 0.2}[params["b"]]
    return -((params["x"] - 0.3) ** 2)


def _one(params: Mapping[str, Any]) -> dict[str, float]:
    return {"value": value(params)}


def _two(params: Mapping[str, Any]) -> dict[str, float]:
    """``value`` (max) against a ``cost`` (min) that grows with it: a real trade-off."""
    v = value(params)
    return {"value": v, "cost": math.exp(v) + 0.1 * float(params.get("n", params.get("a", 0)))}


MIXED = Bench(
    mixed_space(),
    "toy",
    _one,
    small=small_space(),
    conditional=("slope", "act", frozenset({"relu"})),
)
TWO_OBJECTIVES = MIXED.but(measure=_two, objectives=("value", "cost"))
"""Two objectives: ``value`` maximised, ``cost`` minimised."""


def _run(
    bench: Bench, space: Any, specs: Sequence[ExperimentSpec], round: int
) -> list[Observation]:
    out = []
    for i, s in enumerate(specs):
        s = s.stamped(f"r{round:03d}-{i:04d}", round)
        try:
            p = space.validate(s.params)
        except InvalidSpec as e:
            out.append(Observation(s, rejected(str(e))))
            continue
        out.append(Observation(s, Outcome(Status.COMPLETED, bench.measure(p))))
    return out


def _campaign(
    make: MakePlanner, bench: Bench, seed: int, rounds: int, batch: int = 3, space: Any = None
) -> tuple[Planner, list[Observation], list[list[dict]]]:
    space = bench.space if space is None else space
    planner = make(space, seed)
    history: list[Observation] = []
    asked: list[list[dict]] = []
    for r in range(rounds):
        specs = planner.ask(batch, [])
        asked.append([dict(s.params) for s in specs])
        obs = _run(bench, space, specs, r)
        history.extend(obs)
        planner.tell(obs)
    return planner, history, asked


def _keys(space: Any, specs: Sequence[ExperimentSpec]) -> list[str]:
    return [space.key(space.validate(s.params)) for s in specs]


def _unique(space: Any) -> bool:
    return bool(getattr(space, "unique", False))


def check_ask_valid(make: MakePlanner, bench: Bench = MIXED) -> None:
    """``ask(n)`` returns exactly ``n`` specs, valid in the space, of the bench's kind, named
    by their planner; a conditional param is absent where its parent makes it inactive."""
    space = bench.space
    planner, _, _ = _campaign(make, bench, seed=0, rounds=3)
    for n in (1, 4):
        specs = planner.ask(n, [])
        assert len(specs) == n, f"ask({n}) returned {len(specs)} specs"
        for s in specs:
            assert isinstance(s, ExperimentSpec)
            p = space.validate(s.params)  # raises InvalidSpec on a bad proposal
            assert s.kind == bench.kind, f"kind {s.kind!r}, expected {bench.kind!r}"
            assert s.planner, "spec.planner must name the planner"
            if bench.conditional:
                child, parent, active = bench.conditional
                if p[parent] not in active:
                    assert child not in s.params, (
                        f"proposed {child}={s.params[child]!r} while {parent}={p[parent]!r} "
                        "makes it inactive"
                    )
                else:
                    assert child in p, f"{child} missing while {parent}={p[parent]!r}"


def check_fixed_params(make: MakePlanner, bench: Bench = MIXED) -> None:
    """Params with a single value (Float low == high, Int, one-choice Categorical) are
    proposed at that value, before and after the model has data (Optuna's partial-fixed and
    single-distribution cases). General spaces only."""
    if not isinstance(bench.space, SearchSpace):
        return
    fixed = Bench(fixed_space(), bench.kind, lambda p: {o: value(p) for o in bench.objectives})
    fixed = fixed.but(objectives=bench.objectives)
    planner, history, _ = _campaign(make, fixed, seed=4, rounds=3)
    specs = [o.spec for o in history] + planner.ask(3, [])
    for s in specs:
        p = fixed.space.validate(s.params)
        assert (p["c"], p["k"], p["only"]) == (0.5, 3, "one"), f"fixed params moved: {p}"
        assert 0.0 <= p["x"] <= 1.0


def check_bad_outcomes(make: MakePlanner, bench: Bench = MIXED) -> None:
    """FAILED, REJECTED, NaN/inf and missing metrics are told without breaking the planner."""
    space = bench.space
    planner = make(space, 1)
    specs = planner.ask(6, [])
    assert len(specs) == 6
    nan = {o: math.nan for o in bench.objectives}
    half = {bench.objectives[0]: math.inf, **{o: 0.0 for o in bench.objectives[1:]}}
    good = bench.measure(space.validate(specs[5].params))
    obs = [
        Observation(specs[0].stamped("a", 0), failed("boom")),
        Observation(specs[1].stamped("b", 0), rejected("invalid")),
        Observation(specs[2].stamped("c", 0), Outcome(Status.COMPLETED, nan)),
        Observation(specs[3].stamped("d", 0), Outcome(Status.COMPLETED, half)),
        Observation(specs[4].stamped("e", 0), Outcome(Status.COMPLETED, {})),
        Observation(specs[5].stamped("f", 0), Outcome(Status.PRUNED, good, (-4.0, -3.0))),
        Observation(ExperimentSpec({"x": 99, "bogus": 1}, bench.kind, "g", 0), rejected("?")),
    ]
    planner.tell(obs)
    for r in range(1, 4):  # only bad news so far, then some good: keep proposing valid configs
        specs = planner.ask(3, [])
        assert len(specs) == 3, f"round {r}: ask(3) returned {len(specs)}"
        for s in specs:
            space.validate(s.params)
        planner.tell(_run(bench, space, specs, r))


def check_pending_avoided(make: MakePlanner, bench: Bench = MIXED) -> None:
    """No proposal repeats a pending config, or another proposal of the same batch. The
    pending configs are what a same-seed twin proposes next: what this planner would pick."""
    space = bench.space if bench.small is None else bench.small
    twin, _, _ = _campaign(make, bench, seed=2, rounds=1, batch=2, space=space)
    planner, _, _ = _campaign(make, bench, seed=2, rounds=1, batch=2, space=space)
    pending = [ExperimentSpec(dict(s.params), bench.kind) for s in twin.ask(4, [])]
    specs = planner.ask(4, pending)
    assert len(specs) == 4, f"ask(4) with 4 pending returned {len(specs)}"
    keys = _keys(space, specs)
    pend = set(_keys(space, pending))
    assert not pend & set(keys), f"proposed pending configs {sorted(pend & set(keys))}"
    assert len(set(keys)) == len(keys), f"duplicate proposals in one batch: {keys}"


def check_no_repeats(make: MakePlanner, bench: Bench = MIXED) -> None:
    """In a space whose experiments run once (``space.unique``: genes, pairs) nothing told is
    proposed again, failed and rejected ones included. Other spaces: nothing to check."""
    space = bench.space
    if not _unique(space):
        return
    planner, history, asked = _campaign(make, bench, seed=5, rounds=4)
    keys = [space.key(space.validate(p)) for batch in asked for p in batch]
    assert len(set(keys)) == len(keys), f"a config proposed twice: {keys}"
    specs = planner.ask(4, [])
    again = set(_keys(space, specs)) & set(keys)
    assert not again, f"proposed configs already told: {sorted(again)}"


def check_resume(make: MakePlanner, bench: Bench = MIXED) -> None:
    """A planner rebuilt from the recorded history (``tell(history)`` before its first ask)
    continues the campaign: two rebuilt with the same seed propose the same configs; those
    configs are not the ones a planner with no history proposes first (it uses the history,
    and does not replay the campaign's start); nothing told is proposed again in a unique
    space; pending configs are avoided; where the bench says so, it proposes exactly what the
    original planner would have."""
    space = bench.space
    original, history, asked = _campaign(make, bench, seed=3, rounds=3)
    rebuilt = []
    for _ in range(2):
        p = make(space, 3)
        p.tell(list(history))
        rebuilt.append(p)
    a = [dict(s.params) for s in rebuilt[0].ask(3, [])]
    b = [dict(s.params) for s in rebuilt[1].ask(3, [])]
    assert len(a) == 3, f"ask(3) after resume returned {len(a)}"
    assert a == b, f"two planners rebuilt from one history (seed 3) differ:\n{a}\n{b}"
    for params in a:
        space.validate(params)
    assert a != asked[0], f"the rebuilt planner replays the campaign's first proposals: {a}"
    if _unique(space):
        told = {space.key(o.spec.params) for o in history}
        again = {space.key(p) for p in a} & told
        assert not again, f"a rebuilt planner proposes told configs again: {sorted(again)}"
    if bench.resume_exact:
        nxt = [dict(s.params) for s in original.ask(3, [])]
        assert a == nxt, f"rebuilt planner proposes\n{a}\nthe original\n{nxt}"
    told = _run(bench, space, [ExperimentSpec(c, bench.kind) for c in a], 3)
    for p in rebuilt:
        p.tell(told)
    pending = [ExperimentSpec(dict(s.params), bench.kind) for s in rebuilt[1].ask(2, [])]
    specs = rebuilt[0].ask(2, pending)  # its twin's next proposals are running
    assert len(specs) == 2, f"ask(2) with 2 pending returned {len(specs)}"
    again = set(_keys(space, specs)) & set(_keys(space, pending))
    assert not again, f"after resume, proposed pending configs {sorted(again)}"


def check_seed_reproducible(make: MakePlanner, bench: Bench = MIXED) -> None:
    """Same seed, same history -> same proposals; another seed -> different ones (unless the
    bench says the planner's proposals do not depend on the seed)."""
    _, _, a = _campaign(make, bench, seed=7, rounds=3)
    _, _, b = _campaign(make, bench, seed=7, rounds=3)
    assert a == b, f"seed 7 gave different proposals:\n{a}\n{b}"
    if bench.seeded:
        _, _, c = _campaign(make, bench, seed=8, rounds=3)
        assert a != c, "seeds 7 and 8 gave identical proposals"


def check_tell_empty(make: MakePlanner, bench: Bench = MIXED) -> None:
    """``tell([])`` is a no-op and ``ask(0)`` returns nothing."""
    planner = make(bench.space, 0)
    planner.tell([])
    assert planner.ask(0, []) == []
    assert len(planner.ask(2, [])) == 2


CONTRACT: tuple[Callable[..., None], ...] = (
    check_ask_valid,
    check_fixed_params,
    check_bad_outcomes,
    check_pending_avoided,
    check_no_repeats,
    check_resume,
    check_seed_reproducible,
    check_tell_empty,
)
"""Every check, each called as ``check(make, bench)``."""

MULTI_OBJECTIVE: tuple[Callable[..., None], ...] = (
    check_ask_valid,
    check_bad_outcomes,
    check_resume,
    check_seed_reproducible,
)
"""The checks a multi-objective planner passes on :data:`TWO_OBJECTIVES`."""

__all__ = [
    "CONTRACT",
    "MIXED",
    "MULTI_OBJECTIVE",
    "TWO_OBJECTIVES",
    "Bench",
    "MakePlanner",
    "fixed_space",
    "mixed_space",
    "small_space",
    "value",
]
