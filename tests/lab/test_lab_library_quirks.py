"""A lab's library as Excel and copy-paste leave it (a scientist's pass, session 25): a
semicolon-separated export is read, and a row pasted twice is one guide, not two."""

from __future__ import annotations

from pathlib import Path

from perturbo.kinds.genetic.lab import load_library


def test_a_semicolon_library_is_read(tmp_path: Path) -> None:
    p = tmp_path / "lib_semi.csv"
    p.write_text("Symbol;Guide\nCd247;Cd247_sg1\nCd247;Cd247_sg2\nIl2ra;Il2ra_sg1\n")
    lib = load_library(p)
    assert lib.genes == ("CD247", "IL2RA") and lib.gene_column == "Symbol"
    assert [g["Guide"] for g in lib.guides("cd247")] == ["Cd247_sg1", "Cd247_sg2"]


def test_a_row_pasted_twice_is_one_guide(tmp_path: Path) -> None:
    p = tmp_path / "lib.csv"
    p.write_text("Gene,sgRNA\nIl12b,Il12b_sg1\nIl12b,Il12b_sg1\nIl12b,Il12b_sg2\nCd4,Cd4_sg1\n")
    lib = load_library(p)
    assert [g["sgRNA"] for g in lib.guides("Il12b")] == ["Il12b_sg1", "Il12b_sg2"]


def test_a_comma_file_with_semicolons_in_a_field_stays_comma_separated(tmp_path: Path) -> None:
    p = tmp_path / "lib.csv"
    p.write_text("Gene,Note\nCd4,a;b\n")
    assert load_library(p).guides("CD4") == [{"Gene": "Cd4", "Note": "a;b"}]
