"""benchmarks/mf_acq_probe.py: a recorded run is replayed to the same state (the replay's next
batch is the run's), and every setting's batch is scored by the judge."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.append(str(Path(__file__).resolve().parents[2] / "benchmarks"))  # after the packages
import mf_acq_probe  # noqa: E402
from mf_trainer import Trainer  # noqa: E402

from perturbo.search.mf_bo import MFBOPlanner
from perturbo.types import ExperimentSpec, Observation, Outcome, Status


def _toy_trace(task: str, rounds: int) -> list:
    """A run of the default planner told a made-up val_loss; the trace holds what
    multi_fidelity.py records (cost, epochs, value, config key), the planner was told the
    configs as the keys hold them, so a replay from the keys is exact."""
    tr = Trainer(task, 0)
    pl = MFBOPlanner(
        tr.fidelity_space(), "hyperparameter", 0, objective="val_loss", direction="min"
    )
    trace, cost = [], 0.0
    for r in range(rounds):
        obs = []
        for i, s in enumerate(pl.ask(4, [])):
            e = int(s.params["epochs"])
            key = tr.space.key({k: v for k, v in s.params.items() if k != "epochs"})
            cfg = json.loads(key)
            v = 0.1 + abs(cfg["lr"] - 0.01) * 10 + 1.0 / e
            cost += e
            trace.append((cost, e, v, key))
            spec = ExperimentSpec({**cfg, "epochs": e}, "hyperparameter")
            obs.append(
                Observation(spec.stamped(f"{r}-{i}", r), Outcome(Status.COMPLETED, {"val_loss": v}))
            )
        pl.tell(obs)
    return trace


@pytest.mark.slow
def test_the_replay_reaches_the_runs_state_and_every_batch_is_judged(monkeypatch) -> None:
    task = "iris-mlp"
    trace = _toy_trace(task, 5)  # 4 rounds replayed, the 5th compared
    monkeypatch.setattr(mf_acq_probe, "SETTINGS", {"strong": (2, 32, 30)})
    monkeypatch.setattr(mf_acq_probe, "JUDGE", {"num_restarts": 2, "raw_samples": 16})
    row = mf_acq_probe.probe_state(trace, task, 0, 4)
    assert row is not None and row["obs"] == 16
    assert row["replayed"] is True  # the replayed planner proposed what the run did
    assert set(row["kg"]) == {"default", "strong"} and set(row["cpu"]) == {"default", "strong"}
    assert all(f in (1, 3, 9, 27) for fs in row["fid"].values() for f in fs)
    assert mf_acq_probe.probe_state(trace, task, 0, 5) is None  # nothing left to compare
