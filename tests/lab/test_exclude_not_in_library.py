"""``--exclude`` genes the library does not hold are named, not dropped without a word."""

from __future__ import annotations

from loop_helpers import GENES, sheet_genes, start_args

from perturbo.cli import main


def test_exclude_genes_missing_from_the_library_are_named(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    exclude = tmp_path / "exclude.txt"
    exclude.write_text("G000\nG0001\ng002\nTP35\n")  # two typos among four
    args = [*start_args(tmp_path, f"sqlite:///{tmp_path}/lab.db"), "--exclude", str(exclude)]
    assert main(args) == 0
    err = capsys.readouterr().err
    line = next(ln for ln in err.splitlines() if "--exclude" in ln)
    assert "2 of its 4 genes are not in the library (G0001, TP35)" in line, err
    assert "G000," not in line and "g002" not in line
    assert set(sheet_genes(tmp_path / "L-round1.csv")) <= set(GENES) - {"G000", "G002"}


def test_an_exclude_list_the_library_holds_says_nothing(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    exclude = tmp_path / "exclude.txt"
    exclude.write_text("G000\nG001\n")
    args = [*start_args(tmp_path, f"sqlite:///{tmp_path}/lab.db"), "--exclude", str(exclude)]
    assert main(args) == 0
    assert "not in the library" not in capsys.readouterr().err
