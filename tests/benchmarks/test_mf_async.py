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


class _RungTrainer(_Trainer):
    """Epochs 1..9 on the ladder 1, 3, 9; val_loss = x + 1/(epoch+1) (smaller x is better)."""

    max_e = 9
    rungs = (1, 3, 9)


class _ConfigPlanner:
    """Proposes x = 0.9, 0.1, 0.8, 0.2, ... (configs only: ASHA owns the epochs)."""

    XS = [0.9, 0.1, 0.8, 0.2, 0.7, 0.3, 0.6, 0.4, 0.5]

    def __init__(self) -> None:
        self.asks: list[tuple[int, int]] = []
        self.told: list[tuple[float, str, int]] = []  # (x, status, epochs reached)
        self.i = 0

    def ask(self, n: int, pending: list[ExperimentSpec]) -> list[ExperimentSpec]:
        self.asks.append((n, len(pending)))
        x = self.XS[self.i % len(self.XS)] + 0.001 * (self.i // len(self.XS))
        self.i += 1
        return [ExperimentSpec({"x": x}, "hp")]

    def tell(self, obs: list[Any]) -> None:
        self.told += [(o.spec.params["x"], o.outcome.status.value, len(o.outcome.intermediate))
                      for o in obs]  # fmt: skip


def test_async_asha_cuts_at_rungs_and_pays_each_stretch_once() -> None:
    pl = _ConfigPlanner()
    spend = Spend(warm=True)
    trace = mf_async.run_asha_async(_RungTrainer(), pl, budget=40, spend=spend)
    assert pl.asks[0] == (1, 0) and all(p <= 3 for _, p in pl.asks)  # one at a time, <=3 running
    # every trial is told once, at the epochs it reached: pruned below 9, completed at 9
    assert all((s == "completed") == (e == 9) for _, s, e in pl.told)
    assert all(e in (1, 3, 9) for _, _, e in pl.told)
    # the worst of the first four at rung 1 (x = 0.9 reached it first and went on, as the
    # first at a rung does; x = 0.8 arrives behind 0.1 and is cut there)
    assert (0.8, "pruned", 1) in pl.told
    # the trace: one entry per stretch (1, 3 -> 9), costs rising by the new epochs only
    costs = [t[0] for t in trace]
    assert costs == sorted(costs) and trace[-1][0] >= 40 > trace[-2][0]
    assert {t[1] for t in trace} <= {1, 3, 9}
    assert any(t[1] == 9 for t in trace)
    # a trial continued pays only its new epochs: in all, the epochs each trial reached
    assert spend.total == costs[-1] == sum(e for _, _, e in pl.told)
