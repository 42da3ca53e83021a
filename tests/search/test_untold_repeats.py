"""Planners keep off configs already told while a finite space has unseen ones (sobol,
evolution, the Optuna adapter, bo's Sobol' stage), say so in the note, and Optuna proposals
say which part of the sampler made them (random start-up, random population, ...)."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

from perturbo.search.bo import BOPlanner
from perturbo.search.evolution import EvolutionPlanner
from perturbo.search.optuna_planner import OptunaPlanner
from perturbo.search.sobol import SobolPlanner
from perturbo.search.unseen import REPLACED
from perturbo.space import Categorical, Float, Int, SearchSpace
from perturbo.types import Observation, Outcome, Status

SIX = SearchSpace([Int("a", 0, 1), Int("b", 0, 2), Categorical("c", ["only"])])  # 6 configs


def _run(planner: Any, space: SearchSpace, n: int) -> list[Any]:
    """``n`` sequential ask(1)/tell rounds; the specs asked."""
    specs = []
    for i in range(n):
        (s,) = planner.ask(1, [])
        specs.append(s)
        v = s.params.get("a", 0) + 0.1 * s.params.get("b", 0)
        planner.tell([Observation(s.stamped(f"r{i}", i), Outcome(Status.COMPLETED, {"value": v}))])
    return specs


def _repeats_while_unseen(space: SearchSpace, specs: list[Any]) -> list[str]:
    size, seen, bad = len(space.grid()), set(), []
    for s in specs:
        k = space.key(s.params)
        if k in seen and len(seen) < size:
            bad.append(k)
        seen.add(k)
    return bad


def _planners() -> dict[str, Any]:
    out: dict[str, Any] = {
        "sobol": lambda: SobolPlanner(SIX, "toy", 0),
        "evolution": lambda: EvolutionPlanner(SIX, "toy", 0),
        "bo-sobol-stage": lambda: BOPlanner(SIX, "toy", 0, n_init=6),
    }
    for s in ("tpe", "gp", "cmaes", "nsga2", "random"):
        out[f"optuna-{s}"] = lambda s=s: OptunaPlanner(SIX, "toy", 0, sampler=s)
    return out


@pytest.mark.parametrize("name", list(_planners()))
def test_no_repeat_of_a_told_config_while_unseen_remain(name: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        specs = _run(_planners()[name](), SIX, 8)
    assert not _repeats_while_unseen(SIX, specs), [(s.params, s.note) for s in specs]
    assert len({SIX.key(s.params) for s in specs[:6]}) == 6
    # once every config ran, a repeat is allowed again (the planner keeps proposing)
    assert len(specs) == 8


def test_a_replaced_repeat_is_noted() -> None:
    specs = _run(SobolPlanner(SIX, "toy", 0), SIX, 6)
    assert any(s.note == REPLACED for s in specs)  # seed 0 repeats without the fix
    bo = _run(BOPlanner(SIX, "toy", 0, n_init=6), SIX, 6)
    assert all(s.note.startswith("sobol initial design") for s in bo)
    assert any(s.note == f"sobol initial design; {REPLACED}" for s in bo)


def test_optuna_keeps_its_study_consistent_when_it_replaces_a_told_config() -> None:
    p = OptunaPlanner(SIX, "toy", 0, sampler="tpe")
    specs = _run(p, SIX, 6)
    assert any("duplicate candidate replaced" in s.note for s in specs)
    trials = p.study.get_trials(deepcopy=False)
    done = [t for t in trials if t.state.name == "COMPLETE"]
    failed = [t for t in trials if t.state.name == "FAIL"]
    assert len(done) == 6 and failed  # every repeat told FAIL, every run told its value
    assert all(t.user_attrs.get("perturbo", "").startswith("duplicate of") for t in failed)
    assert not [t for t in trials if t.state.name == "RUNNING"]


MIXED = SearchSpace([Float("x", 0, 1), Float("y", 0, 1), Int("n", 1, 8)])
CATS = SearchSpace([Categorical("k", [f"v{i}" for i in range(30)]), Categorical("ab", ["a", "b"])])


def _notes(space: SearchSpace, sampler: str, n: int) -> list[str]:
    p = OptunaPlanner(space, "toy", 0, sampler=sampler)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [s.note for s in _run(p, space, n)]


def test_optuna_notes_say_when_the_sampler_is_random() -> None:
    tpe = _notes(MIXED, "tpe", 12)
    assert tpe[0] == "optuna TPE: random start-up (1 of 10)"
    assert tpe[9] == "optuna TPE: random start-up (10 of 10)"
    assert tpe[10] == "optuna TPE on 10 trials"
    nsga = _notes(MIXED, "nsga2", 3)
    assert nsga == [f"optuna NSGA-II: random population ({i} of 50)" for i in (1, 2, 3)]
    cma = _notes(CATS, "cmaes", 3)
    assert cma[0] == "optuna CMA-ES: random start-up (1 of 1)"
    assert all("categorical parameters sampled at random" in n for n in cma[1:])
    assert _notes(MIXED, "random", 1) == ["optuna random: sampled at random"]


def test_optuna_notes_follow_the_samplers_settings() -> None:
    import optuna

    p = OptunaPlanner(MIXED, "toy", 0, sampler="tpe")
    p.study.sampler = optuna.samplers.TPESampler(seed=0, n_startup_trials=3)
    notes = [s.note for s in _run(p, MIXED, 4)]
    assert notes[:3] == [f"optuna TPE: random start-up ({i} of 3)" for i in (1, 2, 3)]
    assert notes[3] == "optuna TPE on 3 trials"
