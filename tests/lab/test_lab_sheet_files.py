"""The batch sheet's file in the lab's folder is the lab's working copy: written once, when its
batch is proposed, never overwritten where it holds the lab's notes (a later ``tell`` of the
same round, a repeat ``tell``, a file of that name that differs from what perturbo wrote);
``--out`` replaces a file as asked, except an edited batch sheet. And which genes of a round
are still to come: ``perturbo ask --to-come``, the waiting line of ``show``/``status``."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

from loop_helpers import results, sheet_genes, start_args

from perturbo.cli import main


def _start(tmp: Path, monkeypatch, capsys, batch: int = 8) -> str:
    monkeypatch.chdir(tmp)
    uri = f"sqlite:///{tmp}/lab.db"
    assert main(start_args(tmp, uri, rounds=3, batch=batch)) == 0
    capsys.readouterr()
    return uri


def _tell(uri: str, path: Path, *more: str) -> int:
    return main(["tell", "L", str(path), *more, "--tracking-uri", uri])


def _annotate(sheet: Path) -> bytes:
    """The lab's notes: a column added, a note on a row; what the file then holds."""
    rows = list(csv.reader(sheet.open()))
    rows[0].append("Lab note")
    rows[1].append("plate 3, well B7: re-seed")
    with sheet.open("w", newline="") as f:
        csv.writer(f).writerows(rows)
    return sheet.read_bytes()


def test_a_later_tell_of_the_round_keeps_the_labs_notes(tmp_path, monkeypatch, capsys):
    uri = _start(tmp_path, monkeypatch, capsys)
    sheet = tmp_path / "L-round1.csv"
    genes = sheet_genes(sheet)
    edited = _annotate(sheet)
    assert _tell(uri, results(tmp_path / "part.csv", genes[:5])) == 0  # part of the batch
    err = capsys.readouterr().err
    assert sheet.read_bytes() == edited, "a partial tell rewrote the lab's sheet"
    assert "batch sheet: L-round1.csv (kept as it is" in err, err
    assert _tell(uri, results(tmp_path / "part.csv", genes[:5])) == 0  # the same file again
    assert sheet.read_bytes() == edited
    assert not list(tmp_path.glob("L-round1-v*.csv"))  # nothing written beside either


def test_a_repeat_tell_of_a_recorded_round_rewrites_nothing(tmp_path, monkeypatch, capsys):
    uri = _start(tmp_path, monkeypatch, capsys)
    told = results(tmp_path / "r1.csv", sheet_genes(tmp_path / "L-round1.csv"))
    assert _tell(uri, told) == 0
    capsys.readouterr()
    sheet = tmp_path / "L-round2.csv"
    edited = _annotate(sheet)
    assert _tell(uri, told) == 0
    err = capsys.readouterr().err
    assert "already recorded as round 1; nothing new" in err, err
    assert sheet.read_bytes() == edited, "a tell that recorded nothing rewrote the sheet"


def test_a_new_round_goes_beside_a_different_file_of_its_name(tmp_path, monkeypatch, capsys):
    uri = _start(tmp_path, monkeypatch, capsys)
    theirs = tmp_path / "L-round2.csv"
    theirs.write_text("Gene,Lab note\nG001,someone else's file\n")
    before = theirs.read_bytes()
    assert _tell(uri, results(tmp_path / "r1.csv", sheet_genes(tmp_path / "L-round1.csv"))) == 0
    err = capsys.readouterr().err
    assert theirs.read_bytes() == before
    beside = tmp_path / "L-round2-v2.csv"
    assert len(sheet_genes(beside)) == 8
    assert "batch sheet: L-round2-v2.csv (L-round2.csv differs from the sheet perturbo" in err


def test_out_replaces_a_file_but_not_an_edited_sheet(tmp_path, monkeypatch, capsys):
    uri = _start(tmp_path, monkeypatch, capsys)
    other = tmp_path / "other.txt"
    other.write_text("not a sheet\n")
    assert main(["ask", "L", "--out", str(other), "--tracking-uri", uri]) == 0
    assert len(sheet_genes(other)) == 8  # replaced, as asked
    copy = tmp_path / "copy.csv"
    assert main(["ask", "L", "--out", str(copy), "--tracking-uri", uri]) == 0
    assert main(["ask", "L", "--out", str(copy), "--tracking-uri", uri]) == 0  # unchanged: fine
    assert not (tmp_path / "copy-v2.csv").exists()
    edited = _annotate(copy)
    capsys.readouterr()
    assert main(["ask", "L", "--out", str(copy), "--tracking-uri", uri]) == 0
    err = capsys.readouterr().err
    assert copy.read_bytes() == edited
    assert len(sheet_genes(tmp_path / "copy-v2.csv")) == 8
    assert "copy-v2.csv" in err and "copy.csv differs from the sheet perturbo wrote" in err, err


def test_ask_to_come_and_show_name_the_genes_still_to_come(tmp_path, monkeypatch, capsys):
    uri = _start(tmp_path, monkeypatch, capsys)
    genes = sheet_genes(tmp_path / "L-round1.csv")
    assert _tell(uri, results(tmp_path / "part.csv", genes[:5])) == 0
    capsys.readouterr()
    assert main(["ask", "L", "--to-come", "--tracking-uri", uri]) == 0
    out = capsys.readouterr().out
    assert [r["Gene"] for r in csv.DictReader(out.splitlines())] == genes[5:]
    assert main(["show", "L", "--tracking-uri", uri]) == 0
    shown = " ".join(capsys.readouterr().out.split())
    assert f"(5 told, 3 to come: {', '.join(genes[5:])})" in shown, shown
    assert main(["status", "--json", "--tracking-uri", uri]) == 0
    (row,) = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert row["detail"].endswith(f"to come: {', '.join(genes[5:])})"), row


def test_many_to_come_are_counted_and_the_command_that_lists_them_said(
    tmp_path, monkeypatch, capsys
):
    uri = _start(tmp_path, monkeypatch, capsys, batch=12)
    genes = sheet_genes(tmp_path / "L-round1.csv")
    assert _tell(uri, results(tmp_path / "part.csv", genes[:1])) == 0
    err = capsys.readouterr().err
    assert "(1 told, 11 to come)" in err and "`perturbo ask L --to-come" in err, err
    assert main(["show", "L", "--tracking-uri", uri]) == 0
    shown = " ".join(capsys.readouterr().out.split())
    assert "(1 told, 11 to come) (`perturbo ask L --to-come`)" in shown, shown


def test_show_counts_every_experiment_and_says_a_waiting_campaign_waits(
    tmp_path, monkeypatch, capsys
):
    uri = _start(tmp_path, monkeypatch, capsys)
    genes = sheet_genes(tmp_path / "L-round1.csv")
    assert _tell(uri, results(tmp_path / "part.csv", genes[:5])) == 0
    assert main(["tell", "L", "--drop-failed", "--tracking-uri", uri]) == 0
    capsys.readouterr()
    assert main(["show", "L", "--tracking-uri", uri]) == 0
    shown = " ".join(capsys.readouterr().out.split())
    assert "(genetic, waiting for results," in shown and "SCHEDULED" not in shown, shown
    assert re.search(r"\d+ hits? in 8 experiments \(3 failed: no result", shown), shown
