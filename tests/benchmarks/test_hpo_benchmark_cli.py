"""`benchmarks/hyperparameter.py --stop-at HH:MM` is the next such time, across midnight; the
report's first and NB201 bars applied to every planner."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[2] / "benchmarks"))  # after the packages
import hyperparameter  # noqa: E402


def _at(hhmm: str) -> float:
    return dt.datetime(2026, 12, 5, *map(int, hhmm.split(":")), tzinfo=dt.UTC).timestamp()


def test_stop_at_later_today() -> None:
    assert hyperparameter._deadline("23:10", now=_at("22:30")) - _at("22:30") == 40 * 60


def test_stop_at_after_midnight_is_tomorrow_not_now() -> None:
    # a string comparison ("22:30" >= "00:30") stopped such a run before its first task
    assert hyperparameter._deadline("00:30", now=_at("22:30")) - _at("22:30") == 2 * 3600


def test_every_planner_share_counts_ties_for_both() -> None:
    import hpo_bars

    meds = {
        "t1": {"bo": 0.1, "hebo": 0.2, "ax": 0.3},
        "t2": {"bo": 0.5, "hebo": 0.2, "ax": 0.3},
        "t3": {"bo": 0.2, "hebo": 0.2, "ax": 0.3},  # a tie: counts for bo and hebo
        "t4": {"hebo": 0.1},  # hebo alone: judged against nobody, left out
    }
    (line,) = hpo_bars._every_planner(meds, list(meds), ["bo", "hebo", "ax"])
    assert "bo 2/3 (67%)" in line and "hebo 2/3 (67%)" in line and "ax 0/3 (0%)" in line


def test_nb201_bar_for_every_planner_is_its_worst_ratio() -> None:
    import hpo_bars

    meds = {
        "nb201-a": {"bo": 0.02, "hebo": 0.01, "ax": 0.04},
        "nb201-b": {"bo": 0.01, "hebo": 0.03, "ax": 0.01},  # bo ties ax: ratio 1
    }
    (line,) = hpo_bars._nb201_every_planner(meds, list(meds), ["bo", "hebo", "ax"])
    assert "bo 2.00×" in line and "hebo 3.00×" in line and "ax 4.00×" in line


def test_a_checkpoint_reads_the_run_made_for_it() -> None:
    """The 50 column reads a seed's 52-evaluation run even where a 100-evaluation run exists
    (SMAC3 sizes its initial design by its budget: the 100 run read at 50 is another run)."""
    import types

    import hpo_report

    task = types.SimpleNamespace(direction="min", evaluate_array=None)
    runs = [
        {"planner": "smac", "task": "t", "seed": 0, "values": [0.5] * 52},
        {"planner": "smac", "task": "t", "seed": 0, "values": [0.9] * 50 + [0.1] * 50},
    ]
    at50, _ = hpo_report.regret_curves(runs, lambda t: task, lambda t: (0.0, 1.0), budget=50)
    at100, _ = hpo_report.regret_curves(runs, lambda t: task, lambda t: (0.0, 1.0), budget=100)
    longest, _ = hpo_report.regret_curves(runs, lambda t: task, lambda t: (0.0, 1.0))
    assert at50["t", "smac"][0, 49] == 0.5 and at100["t", "smac"][0, 99] == 0.1
    assert longest["t", "smac"].shape == (1, 100)


def test_an_existing_runs_file_is_refused_without_resume_or_fresh(tmp_path: Path, capsys) -> None:
    """Without --resume the script used to delete the .jsonl beside --out before its first
    run: the main benchmark's file holds days of runs."""
    out = tmp_path / "h.md"
    jl = tmp_path / "h_runs.jsonl"
    jl.write_text('{"planner": "bo", "task": "branin", "seed": 0, "evals": 52}\n' * 3)
    before = jl.read_text()
    rc = hyperparameter.main(["--tasks", "branin", "--planners", "random", "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and jl.read_text() == before and not out.exists()
    assert "holds 3 runs" in err and "--resume" in err and "--fresh" in err


def test_fresh_starts_over(tmp_path: Path) -> None:
    out, jl = tmp_path / "h.md", tmp_path / "h_runs.jsonl"
    jl.write_text('{"planner": "bo", "task": "branin", "seed": 0, "evals": 52}\n')
    argv = ["--tasks", "branin", "--planners", "random", "--seeds", "1", "--evals", "8"]
    rc = hyperparameter.main(
        [*argv, "--first-evals", "0", "--no-timing", "--fresh", "--out", str(out)]
    )
    runs = [json.loads(x) for x in jl.read_text().splitlines()]
    assert rc == 0 and [(r["planner"], r["evals"]) for r in runs] == [("random", 8)]


def test_the_report_covers_the_whole_runs_file_not_only_this_invocation() -> None:
    runs = [
        {"task": t, "planner": p}
        for t, p in [("branin", "bo"), ("nb201-cifar10", "hebo"), ("ackley10", "bo")]
    ]
    tasks, planners = hyperparameter.report_scope(runs, ["digits-cnn"], ["smac"])
    # the benchmark's order; the retired ackley10 only when asked for
    assert tasks == ["branin", "nb201-cifar10", "digits-cnn"]
    assert planners == ["bo", "smac", "hebo"]
    tasks, planners = hyperparameter.report_scope(runs, ["ackley10"], ["evolution"])
    assert tasks == ["branin", "nb201-cifar10", "ackley10"] and planners[-1] == "evolution"
