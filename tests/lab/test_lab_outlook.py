"""When to stop (issue 19 item 6): after each told round a lab campaign says how many hits it
found, each round's hit rate, and how many hits it estimates are still in the untested library
(with an interval), and logs them on the campaign's run."""

from __future__ import annotations

import re
from pathlib import Path

from loop_helpers import GENES, results, score, sheet_genes, start_args

from perturbo import tracking
from perturbo.cli import main


def _bo(args: list[str]) -> list[str]:
    args[args.index("--planner") + 1] = "bo"
    return args


def test_each_tell_reports_hits_rates_and_the_hits_left(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path}/lab.db"
    assert main(_bo(start_args(tmp_path, uri, rounds=3, batch=8))) == 0
    capsys.readouterr()
    genes = sheet_genes(tmp_path / "L-round1.csv")
    assert main(["tell", "L", str(results(tmp_path / "r1.csv", genes)), "--tracking-uri", uri]) == 0
    err = capsys.readouterr().err
    hits = sum(score(g) >= 2 for g in genes)
    assert f"{hits} hits in 8 genes tested (round 1: {hits}/8)" in err, err
    m = re.search(
        r"Still untested \((\d+) genes\): about (\d+) hits left .*interval (\d+)-(\d+)", err
    )
    assert m, err
    untested, est, lo, hi = map(int, m.groups())
    assert untested == len(GENES) - 8 and 0 <= lo <= est <= hi <= untested
    run = tracking.open_store(uri).parent_run_id("L")
    client = tracking.open_store(uri).client
    logged = {k: client.get_metric_history(run, k)[-1].value for k in
              ("remaining_hits", "remaining_hits_lo", "remaining_hits_hi")}  # fmt: skip
    assert round(logged["remaining_hits"]) == est
    assert (logged["remaining_hits_lo"], logged["remaining_hits_hi"]) == (lo, hi)


def test_the_random_planner_estimates_from_its_uniform_picks(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path}/lab.db"
    assert main(start_args(tmp_path, uri, rounds=3, batch=8)) == 0  # random: every pick uniform
    genes = sheet_genes(tmp_path / "L-round1.csv")
    capsys.readouterr()
    assert main(["tell", "L", str(results(tmp_path / "r1.csv", genes)), "--tracking-uri", uri]) == 0
    err = capsys.readouterr().err
    assert "hits in 8 genes tested (round 1:" in err, err
    assert f"Still untested ({len(GENES) - 8} genes): " in err and "uniform sample" in err, err
