"""benchmarks/mf_diagnosis.py: what a run found, what it looked at, and the drift check, on a
stub trainer whose full-epoch values are known."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[2] / "benchmarks"))  # after the packages
import mf_diagnosis  # noqa: E402


class _Stub:
    max_e = 27

    def __init__(self, full: dict[str, float]) -> None:
        self.full = full

    def curve(self, cfg: dict, epochs: int) -> list[float]:
        return [self.full[json.dumps(cfg, sort_keys=True)]] * epochs


def _k(i: int) -> str:
    return json.dumps({"x": i}, sort_keys=True)


def test_found_is_the_best_run_to_full_and_looked_at_the_best_of_all() -> None:
    # config 0: run to 27 (0.30); config 1: only 1 and 3 epochs, 0.10 at 27 (never promoted);
    # config 2: only 1 epoch, 0.50 at 27; config 3: run to 27, recorded 0.21, retrained 0.20
    stub = _Stub({_k(0): 0.30, _k(1): 0.10, _k(2): 0.50, _k(3): 0.20})
    trace = [
        (1, 1, 0.9, _k(0)),
        (2, 1, 0.8, _k(1)),
        (3, 3, 0.7, _k(1)),
        (4, 1, 0.95, _k(2)),
        (31, 27, 0.30, _k(0)),
        (58, 27, 0.21, _k(3)),
    ]
    d = mf_diagnosis.diagnose_run(stub, trace)
    assert d["found"] == 0.20  # the retrained value, not the recorded 0.21
    assert d["looked_at"] == 0.10
    assert d["configs"] == 4 and d["full"] == 2
    assert sorted(d["unpromoted"]) == [0.10, 0.50]
    assert abs(d["drift"] - 0.01) < 1e-12
