"""A categorical of True/False reads back as True/False (not 1.0/0.0) in every planner's
proposals, `perturbo ask --format json`, `show` and a resumed lab campaign's next batch."""

from __future__ import annotations

import json
import warnings

import pytest

from perturbo.cli import main
from perturbo.search.registry import make_planner
from perturbo.space import Categorical, Float, SearchSpace
from perturbo.types import Observation, Outcome, Status

SPACE = SearchSpace([Float("a", 0, 1), Categorical("flag", [True, False])])


@pytest.mark.parametrize("name", ["random", "sobol", "evolution", "bo", "optuna-tpe"])
def test_planners_propose_bools(name: str) -> None:
    warnings.simplefilter("ignore")
    p = make_planner(name, SPACE, kind="toy", seed=0)
    for i in range(5):
        specs = p.ask(2, [])
        assert all(type(s.params["flag"]) is bool for s in specs), specs
        p.tell([
            Observation(s.stamped(f"r{i}-{j}", i), Outcome(Status.COMPLETED, {"value": s.params["a"]}))
            for j, s in enumerate(specs)
        ])  # fmt: skip


def test_lab_ask_and_show_read_bools_back(tmp_path, capsys) -> None:
    space = tmp_path / "s.toml"
    space.write_text(
        '[a]\ntype="float"\nlow=0\nhigh=1\n[flag]\ntype="categorical"\nchoices=[true,false]\n'
    )
    uri = f"sqlite:///{tmp_path}/b.db"
    base = ["--tracking-uri", uri]
    assert main(["run", "hyperparameter", "--lab", "--space", str(space), "--objective", "acc",
                 "--direction", "max", "--planner", "random", "--batch", "2", "--trials", "6",
                 "--name", "B", *base]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["ask", "B", "--format", "json", *base]) == 0
    out = capsys.readouterr().out
    trials = json.loads(out[out.index("[") : out.rindex("]") + 1])
    assert all(type(t["params"]["flag"]) is bool for t in trials), trials
    for i, t in enumerate(trials):
        assert main(["tell", "B", t["trial_id"], str(0.5 + i / 10), *base]) == 0
    capsys.readouterr()
    assert main(["ask", "B", "--format", "json", *base]) == 0  # the resumed planner's batch
    out = capsys.readouterr().out
    trials = json.loads(out[out.index("[") : out.rindex("]") + 1])
    assert all(type(t["params"]["flag"]) is bool for t in trials), trials
    assert main(["show", "B", *base]) == 0
    shown = capsys.readouterr().out
    assert "flag = True" in shown or "flag = False" in shown, shown
    assert "flag = 1.0" not in shown and "flag = 0.0" not in shown
