"""bo on a finite space whose every config is told or pending repeats a told config (never a
pending one), as sobol and evolution do, and says so in the proposal's note."""

from __future__ import annotations

import warnings

from perturbo.search.bo import EXHAUSTED, BOPlanner
from perturbo.space import Categorical, Int, SearchSpace
from perturbo.types import Observation, Outcome, Status

SIX = SearchSpace([Int("a", 0, 1), Categorical("c", ["x", "y", "z"])])


def test_bo_on_an_exhausted_space_repeats_a_told_config_not_a_pending_one() -> None:
    warnings.simplefilter("ignore")
    p = BOPlanner(SIX, "toy", 0, n_init=2)
    told = set()
    for i in range(4):
        (s,) = p.ask(1, [])
        p.tell([Observation(s.stamped(f"r{i}", i), Outcome(Status.COMPLETED, {"value": i}))])
        told.add(SIX.key(s.params))
    pending = p.ask(2, [])
    keys = {SIX.key(s.params) for s in pending}
    assert len(told | keys) == 6  # every config told or pending
    again = p.ask(2, pending)
    for s in again:
        assert SIX.key(s.params) in told, s
        assert s.note == EXHAUSTED, s.note
