"""`benchmarks/mf_async.py`: the asynchronous schedule the multi-fidelity benchmark simulates
(4 workers, time in epochs), checked on a scripted planner and a fake trainer."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.append(str(Path(__file__).resolve().parents[2] / "benchmarks"))  # after the packages
import mf_async  # noqa: E402
from mf_trainer import Spend  # noqa: E402

from perturbo.space import SearchSpace  # noqa: E402
from perturbo.types import ExperimentSpec  # noqa: E402

SPACE = SearchSpace.from_dict({"x": {"type": "float", "low": 0.0, "high": 1.0}})


class _Trainer:
    space = SPACE

    def curve(self, cfg: dict[str, Any], e: int) -> list[float]:
        return [cfg["x"] + 1.0 / (k + 1) for k in range(e)]


class _Planner:
    """Proposes x = 0.1, 0.2, ... with the epochs of ``EPOCHS`` in turn; records each ask."""

    EPOCHS = [9, 1, 3, 1, 1, 1, 1, 1]

    def __init__(self) -> None:
        self.asks: list[tuple[int, int]] = []  # (n asked, n pending)
        self.told: list[float] = []
        self.i = 0

    def ask(self, n: int, pending: list[ExperimentSpec]) -> list[ExperimentSpec]:
        self.asks.append((n, len(pending)))
        out = []
        for _ in range(n):
            e = self.EPOCHS[self.i % len(self.EPOCHS)]
            self.i += 1
            out.append(ExperimentSpec({"x": round(0.1 * self.i, 1), "epochs": e}, "hp"))
        return out

    def tell(self, obs: list[Any]) -> None:
        self.told += [o.spec.params["x"] for o in obs]


def test_one_proposal_per_freed_worker_in_the_order_runs_finish() -> None:
    pl = _Planner()
    trace = mf_async.run_mfbo_async(_Trainer(), pl, budget=16, spend=Spend(warm=True))
    assert pl.asks[0] == (4, 0)  # four workers start
    assert all(a == (1, 3) for a in pl.asks[1:])  # then one per freed worker, 3 running
    # the 9-epoch run (x=0.1) launched first finishes after the 1- and 3-epoch ones
    assert pl.told.index(0.1) > pl.told.index(0.2) and pl.told.index(0.1) > pl.told.index(0.3)
    assert len(pl.told) == len(trace)  # every run launched is told, the last in flight too
    assert trace[-1][0] >= 16 and all(t[0] < 16 for t in trace[:-1])  # launched until paid
