"""``perturbo export``: every measured gene (or trial) of a campaign, read back as the lab
told it, for a paper or a collaborator."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from loop_helpers import results, score, sheet_genes, start_args, trials_start_args

from perturbo.cli import main


def _tell(uri: str, *args: str) -> int:
    return main(["tell", "L", *args, "--tracking-uri", uri])


def test_export_of_a_screen_gives_every_measured_gene_as_told(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path}/lab.db"
    assert main(start_args(tmp_path, uri)) == 0
    told: dict[str, tuple[int, float]] = {}
    for rnd in (1, 2):
        genes = sheet_genes(tmp_path / f"L-round{rnd}.csv")
        assert _tell(uri, str(results(tmp_path / f"r{rnd}.csv", genes))) == 0
        told |= {g: (rnd, score(g)) for g in genes}
    out = tmp_path / "paper.csv"
    assert main(["export", "L", "-o", str(out), "--tracking-uri", uri]) == 0
    assert "16 experiments of 'L' written to" in capsys.readouterr().err
    table = pd.read_csv(out)
    assert list(table.columns[:5]) == ["campaign", "round", "experiment", "status", "gene"]
    assert len(table) == 16 and set(table["gene"]) == set(told)
    for row in table.itertuples():
        assert (row.round, row.score) == (told[row.gene][0], pytest.approx(told[row.gene][1]))
        assert row.hit == int(score(row.gene) >= 2)  # the campaign's rule, score>=2
    assert table["hit"].dtype.kind == "i"  # written 0/1, not 0.0/1.0

    # an existing file is not overwritten without --force; nothing is written then
    before = out.read_bytes()
    assert main(["export", "L", "-o", str(out), "--tracking-uri", uri]) == 2
    assert "--force" in capsys.readouterr().err and out.read_bytes() == before


def test_export_of_trials_as_json_lines(tmp_path, capsys) -> None:
    uri = f"sqlite:///{tmp_path}/t.db"
    assert main(trials_start_args(tmp_path, uri, "L", 2)) == 0
    assert _tell(uri, "t0000", "0.25") == 0
    assert main(["ask", "L", "--tracking-uri", uri]) == 0
    assert _tell(uri, "--failed", "t0001") == 0
    capsys.readouterr()
    assert main(["export", "L", "--format", "jsonl", "--tracking-uri", uri]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["experiment"], r["status"], r["a"]) for r in rows] == [
        ("t0000", "completed", 0.25),
        ("t0001", "failed", None),
    ]
    assert 0.0 <= rows[0]["x"] <= 1.0 and rows[1]["error"]


def test_export_names_an_unknown_campaign(tmp_path, capsys) -> None:
    uri = f"sqlite:///{tmp_path}/t.db"
    assert main(trials_start_args(tmp_path, uri, "L", 1)) == 0
    capsys.readouterr()
    assert main(["export", "nope", "--tracking-uri", uri]) == 2
    err = capsys.readouterr().err
    assert "nope" in err and "Traceback" not in err
