"""``perturbo tell`` of genes whose round is recorded already, or that are not in the pending
batch, through the CLI on a real sqlite store: the refusal names the round a gene was recorded
in and, where the file gives another value, both values, and says how a recorded round is
corrected (--correct); a gene of the library that was not proposed is told apart from one the
library does not have; genes are named as the file writes them (``Pth1r``, never ``PTH1R``)."""

from __future__ import annotations

import csv
from pathlib import Path

from loop_helpers import recorded

from perturbo.cli import main

GENES = ["Pth1r", "Socs1", "Il2ra", "Map3k7", "Cd247", "Nfkbiz", "Itgb2", "Rps9", "Zap70", "Lck"]


def _start(tmp: Path, uri: str) -> None:
    lib = tmp / "lib.csv"
    lib.write_text("Gene,sgRNA\n" + "".join(f"{g},{g}_1\n" for g in GENES))
    assert main([
        "run", "genetic", "--lab", "--library", str(lib), "--hit-rule", "score<=-1",
        "--task", "find genes", "--planner", "random", "--rounds", "3", "--batch", "3",
        "--name", "L", "--tracking-uri", uri,
    ]) == 0  # fmt: skip


def _batch(path: Path) -> list[str]:
    with path.open() as f:
        return [r["Gene"] for r in csv.DictReader(f) if r["Rank"]]


def _tell(tmp: Path, uri: str, name: str, rows: str) -> int:
    (tmp / name).write_text("Gene,Score\n" + rows)
    return main(["tell", "L", str(tmp / name), "--tracking-uri", uri])


def test_a_recorded_gene_told_again_names_its_round_and_both_values(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path}/lab.db"
    _start(tmp_path, uri)
    one = _batch(tmp_path / "L-round1.csv")
    assert _tell(tmp_path, uri, "r1.csv", "".join(f"{g},-2.0\n" for g in one)) == 0
    capsys.readouterr()
    first = one[0]
    assert _tell(tmp_path, uri, "again.csv", f"{first},0.3\n") == 2
    err = capsys.readouterr().err
    assert (
        f"in round 1, and this file gives them other values ({first}: recorded -2, this file 0.3)"
        in err
    ), err
    assert "earlier round" not in err and first.upper() not in err, err
    assert "--correct" in err and "remove those rows" in err, err
    assert len(recorded(uri)) == 3  # nothing recorded

    two = _batch(tmp_path / "L-round2.csv")
    spare = next(g for g in GENES if g not in one and g not in two)
    assert _tell(tmp_path, uri, "stray.csv", f"{two[0]},1\n{spare},1\nFoo1,2\n") == 2
    err = capsys.readouterr().err
    assert f"of the library that were not proposed ({spare})" in err, err
    assert "not in the library at all (Foo1)" in err and "FOO1" not in err, err
