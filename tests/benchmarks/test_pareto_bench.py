"""`benchmarks/pareto.py`: the hypervolume regret it reports, and a run's curve."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.append(str(Path(__file__).resolve().parents[2] / "benchmarks"))  # after the packages
pytest.importorskip("botorch")
import pareto  # noqa: E402


def test_the_regret_is_the_hypervolume_left_against_botorchs_maximum() -> None:
    fn = pareto.problem("zdt1")
    at_ref = np.array([fn.ref_point.tolist()])  # a point at the reference point adds nothing
    assert math.isclose(pareto.hv_regret(fn, at_ref), math.log10(float(fn.max_hv)))
    # ZDT1's front is f2 = 1 - sqrt(f1): points on it leave less than points behind it
    f1 = np.linspace(0, 1, 50)
    on = np.stack([f1, 1 - np.sqrt(f1)], -1)
    assert pareto.hv_regret(fn, on) < pareto.hv_regret(fn, on + 0.5) < math.log10(fn.max_hv)
    assert pareto.hv_regret(fn, on) < -1  # 50 points on the front: close to the maximum


def test_a_run_records_a_regret_that_never_rises(monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(pareto, "EVALS", 12)
    run = pareto.one_run("branincurrin", "random", 0)
    ns = [n for n, _ in run["curve"]]
    vals = [v for _, v in run["curve"]]
    assert ns == [4, 8, 12]
    assert all(b <= a + 1e-12 for a, b in zip(vals, vals[1:], strict=False))
