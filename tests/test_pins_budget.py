"""More ``--pin`` experiments than the campaign's budget has room for were dropped without a
word (``--trials 1 --pin A --pin B`` ran only A, exit 0). They are refused before anything
runs, in one line naming the counts and the fix, as a :class:`PerturboError` (exit 2); on
resume, the room is what the budget leaves after what is recorded."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from perturbo.campaign import StopRule
from perturbo.history import History
from perturbo.pinned import check_pin_budget, check_pins
from perturbo.space import Float, SearchSpace
from perturbo.types import ExperimentSpec, Observation, Outcome, PerturboError, Status, rejected

SPACE = SearchSpace([Float("x", 0, 1)])
PINS = [{"x": 0.5}, {"x": 0.6}]


def _ran(n: int, rounds_of: int = 1, n_rejected: int = 0) -> History:
    done = [
        Observation(
            ExperimentSpec({"x": i / 100}, "hyperparameter", id=f"e{i}", round=i // rounds_of),
            Outcome(Status.COMPLETED, {"value": 0.1}),
        )
        for i in range(n)
    ]
    bad = [
        Observation(ExperimentSpec({"x": 2.0}, "hyperparameter", id=f"b{i}"), rejected("out"))
        for i in range(n_rejected)
    ]
    return History(done + bad)


def test_more_pins_than_trials_are_refused_naming_the_counts_and_the_fix() -> None:
    with pytest.raises(PerturboError) as e:
        check_pins(PINS, SPACE, "hyperparameter", stop=StopRule(max_experiments=1), batch=1)
    msg = str(e.value)
    assert msg.startswith("2 --pin experiments for a campaign of --trials 1,"), msg
    assert "room for 1" in msg and "raise --trials to 2, or drop 1 --pin" in msg
    assert "\n" not in msg
    # as many pins as trials: fine (and without a stop rule, nothing is checked)
    assert check_pins(PINS, SPACE, "hyperparameter", stop=StopRule(max_experiments=2)) == PINS
    assert check_pins(PINS, SPACE, "hyperparameter") == PINS


def test_on_resume_the_room_is_what_the_budget_leaves() -> None:
    history = _ran(9, n_rejected=3)  # rejected proposals cost nothing
    with pytest.raises(PerturboError) as e:
        check_pins(PINS, SPACE, "hyperparameter", history, stop=StopRule(max_experiments=10))
    msg = str(e.value)
    assert "--trials 10 with 9 experiments recorded, which has room for 1 more" in msg, msg
    assert "raise --trials to 11, or drop 1 --pin" in msg
    check_pins(PINS, SPACE, "hyperparameter", history, stop=StopRule(max_experiments=11))


def test_rounds_of_a_batch_bound_the_pins_too() -> None:
    check_pin_budget(8, StopRule(rounds=2), batch=4)
    with pytest.raises(PerturboError, match=r"raise --rounds to 3, or drop 1 --pin"):
        check_pin_budget(9, StopRule(rounds=2), batch=4)
    with pytest.raises(PerturboError, match=r"with 1 round recorded.* raise --rounds to 4"):
        check_pin_budget(9, StopRule(rounds=3), batch=4, history=_ran(4, rounds_of=4))


@pytest.mark.slow
def test_cli_refuses_pins_past_trials_before_anything_runs(tmp_path: Path) -> None:
    (tmp_path / "instant.py").write_text('def f(params):\n    return params["x"]\n')
    (tmp_path / "x.toml").write_text('[x]\ntype = "float"\nlow = 0\nhigh = 1\n')
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    r = subprocess.run(
        [sys.executable, "-m", "perturbo.cli", "run", "hyperparameter", "--task", "instant:f",
         "--allow-user-code", "--space", "x.toml", "--direction", "max", "--trials", "1",
         "--batch", "1", "--local", "--no-progress", "--tracking-uri",
         f"sqlite:///{tmp_path}/m.db", "--name", "pins", "--pin", '{"x": 0.5}', "--pin",
         '{"x": 0.6}'],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert r.returncode == 2, r.stderr[-2000:]
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("perturbo: error: 2 --pin experiments") and "--trials to 2" in last
