"""optuna-gp says nothing a user cannot act on: Optuna's "greenlet is unavailable" line (its
GP optimiser's import-time notice) stays off the terminal."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import numpy as np
    from perturbo.space import Float, SearchSpace
    from perturbo.search.optuna_planner import OptunaPlanner
    from perturbo.types import Observation, Outcome, Status

    space = SearchSpace([Float("x", 0.0, 1.0), Float("y", 0.0, 1.0)])
    p = OptunaPlanner(space, "toy", 0, sampler="gp")
    for i in range(14):  # past the sampler's random start-up: its GP optimiser runs
        (spec,) = p.ask(1, [])
        v = -(spec.params["x"] - 0.3) ** 2 - (spec.params["y"] - 0.6) ** 2
        p.tell([Observation(spec, Outcome(Status.COMPLETED, {"value": v}))])
    import optuna._gp.batched_lbfgsb  # imported by the GP stage (the notice's source)
    print("asked", i + 1)
    """
)


def test_optuna_gp_prints_no_greenlet_notice() -> None:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=240, check=False
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "asked 14" in out.stdout
    assert "greenlet" not in out.stderr + out.stdout, out.stderr
