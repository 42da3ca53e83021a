"""benchmarks/hpo_peers.py and hpo_report.py: the peers' space translation and the report's
ranks and win/tie/loss counts. Optuna is in the product's environment; SMAC3, HEBO and Ax are
not (``make bench-peers``): their cases skip when they do not import."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

sys.path.append(str(Path(__file__).resolve().parents[2] / "benchmarks"))  # after the packages
import hpo_peers  # noqa: E402
import hpo_report  # noqa: E402

from perturbo.space import Categorical, Float, Int, SearchSpace  # noqa: E402

hpo_peers.peer_path()
_MODULES = {
    "smac": "smac",
    "hebo": "hebo",
    "ax": "ax",
    "optuna-tpe": "optuna",
    "optuna-gp": "optuna",
}


class _Task:
    """Mixed space: log float, log int, an ordered grid, an unordered categorical and a
    conditional float; the value is largest at lr=1e-2, width=64, grid=8, act='tanh'."""

    name, objective, direction = "toy", "y", "max"

    def space(self) -> SearchSpace:
        return SearchSpace(
            [
                Float("lr", 1e-4, 1e-1, log=True),
                Int("width", 8, 256, log=True),
                Categorical("grid", [2, 4, 8, 16], ordered=True),
                Categorical("act", ["relu", "tanh", "gelu"]),
                Categorical("opt", ["adam", "sgd"]),
                Float("momentum", 0.0, 0.99, when={"opt": ["sgd"]}),
            ]
        )

    def evaluate(self, p: dict[str, Any]) -> dict[str, float]:
        y = -abs(np.log10(p["lr"]) + 2) - abs(np.log2(p["width"]) - 6) / 3
        return {"y": float(y - abs(p["grid"] - 8) / 8 + (p["act"] == "tanh"))}


@pytest.mark.parametrize("peer", hpo_peers.PEERS)
def test_peer_proposes_valid_configs_in_batches(peer: str) -> None:
    if importlib.util.find_spec(_MODULES[peer]) is None:
        pytest.skip(f"{peer} not installed (make bench-peers)")
    task, seen = _Task(), []
    space = task.space()

    def true_value(t: Any, params: dict[str, Any], y: float) -> float:
        assert space.validate(params) == params  # every value is in its domain, its type
        assert ("momentum" in params) == (params["opt"] == "sgd")  # inactive params dropped
        seen.append(params)
        return y

    vals, times = hpo_peers.drive(peer, task, 0, 8, 4, true_value)
    assert len(vals) == 8 and len(seen) == 8
    assert all(n % 4 == 0 or peer == "ax" for n, _, _ in times)  # 4 asks, then their tells
    assert {type(p["grid"]) for p in seen} == {int} and {p["grid"] for p in seen} <= {2, 4, 8, 16}


def _run(planner: str, task: str, seed: int, values: list[float]) -> dict[str, Any]:
    return {
        "planner": planner,
        "task": task,
        "seed": seed,
        "values": values,
        "planner_s": [[0, 0.1, 0.1]],
        "wall_s": 1.0,
    }


class _Max:
    direction = "max"
    optimum, reference = 1.0, 0.0

    def true_value(self, p: Any) -> float:  # marks a task with known references
        return 0.0


def _report(runs: list[dict[str, Any]], planners: list[str], tmp_path: Path) -> str:
    """The report on tasks t1, t2 (maximised, optimum 1, reference 0), written under tmp_path."""
    return hpo_report.report(
        runs,
        tasks=["t1", "t2"],
        planners=planners,
        make_task=lambda t: _Max(),
        reference=lambda t: (t.optimum, t.reference),
        out=tmp_path / "h.md",
        header=["# h", ""],
        timing={},
    )


def test_report_ranks_and_win_tie_loss(tmp_path: Path) -> None:
    runs = []
    for s in range(3):  # regret at 50 = 1 - best value: bo 0.1, random 0.5, optuna-tpe 0.1
        runs += [_run("bo", "t1", s, [0.9] * 50), _run("random", "t1", s, [0.5] * 50)]
        runs += [_run("optuna-tpe", "t1", s, [0.9] * 50)]
        runs += [_run("bo", "t2", s, [0.2] * 50), _run("random", "t2", s, [0.4] * 50)]
        runs += [_run("optuna-tpe", "t2", s, [0.6] * 50)]
    text = _report(runs, ["bo", "random", "optuna-tpe"], tmp_path)
    assert "| t1 | **0.1 (1)** | 0.5 (3) | **0.1 (1)** |" in text
    assert "| t2 | 0.8 (3) | 0.6 (2) | **0.4 (1)** |" in text
    assert "| random | 1 | 0 | 1 | 2 |" in text  # bo wins t1, loses t2 to random
    assert "| optuna-tpe | 0 | 1 | 1 | 2 |" in text
    assert "on 1/2 tasks" in text and "NOT met" in text and "worse on t2" in text
    assert (tmp_path / "h_regret.png").stat().st_size > 0


def test_report_marks_significant_differences(tmp_path: Path) -> None:
    """Mann-Whitney U beside the medians: separated distributions are significant (bo better on
    t1, worse on t2 against optuna-gp), overlapping ones are not (random on t1: medians differ),
    and a peer with 2 seeds is not tested."""
    runs = []
    for s in range(5):
        runs += [_run("bo", "t1", s, [0.9 - 0.01 * s] * 50)]  # regret 0.10..0.14
        runs += [_run("random", "t1", s, [0.91 - 0.02 * s] * 50)]  # 0.09..0.17: overlaps
        runs += [_run("optuna-gp", "t1", s, [0.5 - 0.01 * s] * 50)]  # 0.50..0.54
        runs += [_run("bo", "t2", s, [0.5 - 0.01 * s] * 50)]
        runs += [_run("random", "t2", s, [0.4 - 0.01 * s] * 50)]
        runs += [_run("optuna-gp", "t2", s, [0.9 - 0.01 * s] * 50)]
    runs += [_run("hebo", t, s, [0.1] * 50) for t in ("t1", "t2") for s in range(2)]
    text = _report(runs, ["bo", "random", "optuna-gp", "hebo"], tmp_path)
    assert "| t1 | **0.12 (1)** | 0.13 (2) | 0.52 (3)* | 0.9 (4) n=2 |" in text
    assert "| t2 | 0.52 (2) | 0.62 (3)* | **0.12 (1)*** | 0.9 (4) n=2 |" in text
    assert "| random | 2 | 0 | 0 | 2 | 1 | 0 | 2 | – |" in text
    assert "| optuna-gp | 1 | 0 | 1 | 2 | 1 | 1 | 2 | t2 |" in text
    assert "| hebo | 2 | 0 | 0 | 2 | 0 | 0 | 0 | – |" in text
    assert (
        "significantly worse (Mann-Whitney U, p < 0.05) than at least one peer on 1/2 tasks (t2)"
        in text
    )
    assert "bo 5, random 5, optuna-gp 5, hebo 2." in text
    assert "peer cells with 5 seeds: `bo`'s median ≤ each of theirs on 1/2 tasks (50%)" in text
    assert hpo_report.compare(np.zeros(2), np.ones(9)) is None  # too few seeds to test
    assert hpo_report.compare(np.zeros(3), np.zeros(3)) == (1.0, 0)


def test_ackley10_shifted_moves_the_optimum_off_centre() -> None:
    import warnings

    import hpo_tasks

    with warnings.catch_warnings():  # the benchmark script silences warnings at import
        import hyperparameter as bench

    base, task = bench.make_task("ackley10"), bench.make_task("ackley10-shifted", seed=3)
    at = lambda x: {f"x{i}": float(v) for i, v in enumerate(x)}  # noqa: E731
    assert "ackley10-shifted" in bench.TASKS and "ackley10" not in bench.TASKS
    assert task.space().params == base.space().params and task.optimum == base.optimum == 0.0
    s = hpo_tasks.SHIFT
    assert np.all(np.abs(s) >= 1.0) and np.all(np.abs(s) <= 16.0)  # off-centre, off the corners
    assert task.evaluate(at(s))["value"] == base.evaluate(at(np.zeros(10)))["value"] < 1e-12
    assert task.evaluate(at(np.zeros(10)))["value"] > 10.0  # the box's centre is no optimum
    assert bench.true_value(task, at(s), 99.0) < 1e-12  # noise-free value: the shifted function
    zero = hpo_tasks.ShiftedTask("z", base, np.zeros(10))  # the wrapper alone changes nothing
    assert bench.reference(zero) == bench.reference(base)
    assert bench.reference(task)[1] != bench.reference(base)[1]  # median of the shifted function


def test_mean_rank_compares_like_with_like_when_a_planner_lacks_tasks(tmp_path: Path) -> None:
    """hebo ran t1 only: one mean-rank row over t1 (every planner's task), one over both tasks
    among bo and random (ranked between themselves); never a mean over different task sets."""
    runs = []
    for s in range(3):
        runs += [_run("bo", "t1", s, [0.8] * 50), _run("random", "t1", s, [0.7] * 50)]
        runs += [_run("hebo", "t1", s, [0.9] * 50)]
        runs += [_run("bo", "t2", s, [0.9] * 50), _run("random", "t2", s, [0.5] * 50)]
    text = _report(runs, ["bo", "random", "hebo"], tmp_path)
    assert "| t2 | **0.1 (1)** | 0.5 (2) | – |" in text
    assert "| mean rank, the 1 task every planner ran | 2.00 | 3.00 | 1.00 |" in text
    assert (
        "| mean rank, all 2 tasks, among the planners that ran them all | 1.00 | 2.00 | – |" in text
    )
    assert "| mean rank | " not in text
