"""What the stopping estimate says (the estimator stays; benchmarks/results/lab_calibration.md):
a uniform sample with no hits never says "about 0 hits left" while later rounds found hits
outside it, and a campaign of ``--planner random`` (every pick uniform) gets the estimate from
all its rounds."""

from __future__ import annotations

import re
from types import SimpleNamespace

from perturbo.kinds.genetic.lab.outlook import outlook
from perturbo.types import ExperimentSpec, Observation, Outcome, Status

GENES = tuple(f"G{i:03d}" for i in range(300))


def _obs(gene: str, round_no: int, hit: bool, planner: str = "bo") -> Observation:
    spec = ExperimentSpec({"gene": gene}, "genetic", f"e-{gene}", round_no, planner)
    return Observation(spec, Outcome(Status.COMPLETED, {"score": float(hit), "hit": float(hit)}))


def test_a_sample_with_no_hits_says_its_upper_end_and_the_hits_found_outside_it() -> None:
    prior, drawn, later = GENES[:8], GENES[8:16], GENES[16:32]
    planner = SimpleNamespace(screen=SimpleNamespace(genes=GENES), uniform_genes=frozenset(drawn))
    history = [_obs(g, 0, False) for g in (*prior, *drawn)]
    history += [_obs(g, 1, i < 4) for i, g in enumerate(later)]  # round 2: 4 hits
    lines, metrics = outlook(planner, history)
    said = lines[-1]
    assert "about 0" not in said, said
    assert "round 1's uniform sample of 8 genes had no hits: up to" in said, said
    assert "later rounds found 4 hits outside it" in said, said
    assert metrics["remaining_hits_hi"] > 0


def test_a_small_sample_with_hits_says_it_is_small() -> None:
    drawn = GENES[8:16]
    planner = SimpleNamespace(screen=SimpleNamespace(genes=GENES), uniform_genes=frozenset(drawn))
    history = [_obs(g, 0, i == 0) for i, g in enumerate((*GENES[:8], *drawn))]
    history[8] = _obs(drawn[0], 0, True)
    said = outlook(planner, history)[0][-1]
    assert re.search(r"about \d+ hits left .*interval \d+-\d+", said), said
    assert "of 8 genes had 1 hit, a small sample: go by the interval" in said, said


def test_the_random_planner_gets_the_estimate_from_all_its_rounds() -> None:
    space = SimpleNamespace(genes=GENES)
    planner = SimpleNamespace(name="random", _space=space)
    history = [_obs(g, r, i % 5 == 0, "random") for r in range(2) for i, g in
               enumerate(GENES[r * 40 : r * 40 + 40])]  # fmt: skip
    lines, metrics = outlook(planner, history)
    said = lines[-1]
    assert said.startswith("Still untested (220 genes): about 44 hits left"), said
    assert "uniform sample" in said and metrics["remaining_hits"] == 44.0, said
