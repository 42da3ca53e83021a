"""Where the planner contract (:mod:`perturbo.testing.planner_contract`) checks a planner: the
:class:`Bench` type, the general spaces (mixed with a conditional param, small, fixed), a toy
objective over them, and the helpers that run a planner's proposals and a short campaign."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from perturbo.protocols import Planner
from perturbo.space import Categorical, Float, Int, SearchSpace
from perturbo.types import ExperimentSpec, InvalidSpec, Observation, Outcome, Status, rejected

MakePlanner = Callable[..., Planner]
"""``make(space, seed)`` -> a fresh planner. For :data:`planner_contract.MULTI_OBJECTIVE` it
also takes ``directions=`` (one per objective; default: the bench's)."""


@dataclass(frozen=True)
class Bench:
    """Where a planner is checked. ``measure``: the metrics of a valid config (deterministic).
    ``small``: a space of few configs, where proposals collide unless pending ones are avoided
    (``None``: ``space``). ``conditional``: ``(param, parent, parent values where it is
    active)``. ``seeded``: another seed gives other proposals (``False`` for a planner whose
    proposals follow from its prior alone). ``resume_exact``: a planner rebuilt from the
    recorded history proposes exactly what the original would have. ``learns``: after
    :data:`LEARN_ROUNDS` rounds its proposals depend on the outcomes told, each objective's
    (``False`` for random, Sobol, and a sampler still in its random startup phase then).
    ``directions``: each objective's (``max``/``min``)."""

    space: Any
    kind: str
    measure: Callable[[Mapping[str, Any]], dict[str, float]]
    objectives: tuple[str, ...] = ("value",)
    small: Any = None
    conditional: tuple[str, str, frozenset[Any]] | None = None
    seeded: bool = True
    resume_exact: bool = False
    learns: bool = True
    directions: tuple[str, ...] = ("max",)

    def but(self, **changes: Any) -> Bench:
        """This bench with ``changes`` (e.g. ``MIXED.but(resume_exact=True)``)."""
        return replace(self, **changes)


LEARN_ROUNDS = 2
"""Rounds of 6 (:data:`LEARN_BATCH`) before the outcome checks: 12 told, past Optuna's 10
random startup trials, in few model fits."""
LEARN_BATCH = 6


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
TWO_OBJECTIVES = MIXED.but(measure=_two, objectives=("value", "cost"), directions=("max", "min"))
"""Two objectives: ``value`` maximised, ``cost`` minimised."""


def run_round(
    bench: Bench, space: Any, specs: Sequence[ExperimentSpec], round: int
) -> list[Observation]:
    """Each spec stamped and measured (an invalid one: REJECTED, as the loop records it)."""
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


def campaign(
    make: MakePlanner, bench: Bench, seed: int, rounds: int, batch: int = 3, space: Any = None
) -> tuple[Planner, list[Observation], list[list[dict]]]:
    """``rounds`` rounds of ``batch``: the planner, the history, each round's proposals."""
    space = bench.space if space is None else space
    planner = make(space, seed)
    history: list[Observation] = []
    asked: list[list[dict]] = []
    for r in range(rounds):
        specs = planner.ask(batch, [])
        asked.append([dict(s.params) for s in specs])
        obs = run_round(bench, space, specs, r)
        history.extend(obs)
        planner.tell(obs)
    return planner, history, asked


def negated(history: Sequence[Observation], names: Sequence[str]) -> list[Observation]:
    """``history`` with the metrics ``names`` negated: the same configs, the preference between
    them reversed on those objectives."""
    out = []
    for o in history:
        m = {k: (-v if k in names else v) for k, v in o.outcome.metrics.items()}
        out.append(Observation(o.spec, replace(o.outcome, metrics=m)))
    return out


def keys(space: Any, specs: Sequence[ExperimentSpec]) -> list[str]:
    return [space.key(space.validate(s.params)) for s in specs]


def unique(space: Any) -> bool:
    return bool(getattr(space, "unique", False))


__all__ = [
    "LEARN_BATCH",
    "LEARN_ROUNDS",
    "MIXED",
    "TWO_OBJECTIVES",
    "Bench",
    "MakePlanner",
    "campaign",
    "fixed_space",
    "keys",
    "mixed_space",
    "negated",
    "run_round",
    "small_space",
    "unique",
    "value",
]
