"""``--pin`` in a lab campaign: the pinned experiments are the first handed out (recorded as
chosen by the user), as without ``--lab``; every step's rebuilt planner replays them where
they were handed out, so no step reports a divergence and no pin is proposed twice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from perturbo import tracking
from perturbo.cli import main
from tests.lab.loop_helpers import results, sheet_genes, start_args, trials_start_args


def _start_trials(tmp: Path, uri: str, *extra: str) -> list[str]:
    return trials_start_args(tmp, uri, "P", 6, *extra)


def test_pinned_trials_are_handed_out_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    uri = f"sqlite:///{tmp_path / 'm.db'}"
    pins = ["--pin", '{"x": 0.3}', "--pin", '{"x": 0.7}']
    assert main(_start_trials(tmp_path, uri, *pins)) == 0
    first = json.loads(capsys.readouterr().out)
    assert [(t["trial_id"], t["params"]) for t in first] == [("t0000", {"x": 0.3})]
    assert main(["ask", "P", "--format", "csv", "--tracking-uri", uri]) == 0
    assert capsys.readouterr().out.splitlines()[1] == "t0000,0,0.3"
    assert main(["tell", "P", "t0000", "0.1", "--tracking-uri", uri]) == 0
    assert main(["ask", "P", "-n", "2", "--format", "json", "--tracking-uri", uri]) == 0
    out = capsys.readouterr()
    more = json.loads(out.out)
    assert more[0]["params"] == {"x": 0.7} and more[1]["params"] != {"x": 0.7}  # the 2nd pin
    assert "warning" not in out.err  # the replayed asks are the campaign's
    for t in more:
        assert main(["tell", "P", t["trial_id"], "0.2", "--tracking-uri", uri]) == 0
    assert main(["ask", "P", "-n", "1", "--format", "json", "--tracking-uri", uri]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out)[0]["params"] not in ({"x": 0.3}, {"x": 0.7})
    assert "warning" not in out.err
    history = tracking.open_store(uri).history("P")
    assert [o.spec.planner for o in history][:2] == ["user", "user"]
    assert [o.spec.params["x"] for o in history][:2] == [0.3, 0.7]


def test_a_bad_pin_in_a_lab_campaign_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    uri = f"sqlite:///{tmp_path / 'm.db'}"
    assert main(_start_trials(tmp_path, uri, "--pin", '{"x": 7}')) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and err[1].startswith("perturbo: error: --pin"), err  # 1st: starting
    many = [a for i in range(7) for a in ("--pin", json.dumps({"x": i / 10}))]
    assert main(_start_trials(tmp_path, uri, *many)) == 2
    assert "7 --pin experiments for a campaign of 6" in capsys.readouterr().err


def test_a_pinned_gene_is_in_the_first_batch_of_a_genetic_lab_campaign(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'lab.db'}"
    assert main([*start_args(tmp_path, uri, rounds=2, batch=4), "--pin", '{"gene": "G007"}']) == 0
    genes = sheet_genes(tmp_path / "L-round1.csv")
    assert genes[0] == "G007" and len(genes) == 4
    capsys.readouterr()
    assert main(["tell", "L", str(results(tmp_path / "r1.csv", genes)), "--tracking-uri", uri]) == 0
    assert "warning" not in capsys.readouterr().err  # the rebuilt planner replays the pin
    history = tracking.open_store(uri).history("L")
    assert [(o.spec.params["gene"], o.spec.planner) for o in history][0] == ("G007", "user")
    assert "G007" not in sheet_genes(tmp_path / "L-round2.csv")
