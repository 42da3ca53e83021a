"""The lab's results file read as strictly as it should be and as leniently as the library:
a repeated (gene, replicate) pair or a blank replicate is refused (never averaged silently),
the library's gene-column names and separators are accepted, a semicolon file with decimal
commas is read (a quoted one in a comma file too), and a Hit column a score or z rule ignores is warned about."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from perturbo.kinds.genetic.lab import LabInputError, parse_hit_rule, read_results

PENDING = ("CASP1", "ATP6V1F", "MT2A")
RULE = parse_hit_rule("score<=-1")


def _read(tmp_path: Path, text: str | bytes, name: str = "results.csv", **kw: object):
    p = tmp_path / name
    p.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    args: dict[str, object] = {"pending": PENDING, "hit_rule": RULE, "controls": ()}
    args.update(kw)
    return read_results(p, **args)  # type: ignore[arg-type]


def _refused(tmp_path: Path, text: str, *words: str, **kw: object) -> str:
    with pytest.raises(LabInputError) as e:
        _read(tmp_path, text, **kw)
    msg = str(e.value)
    assert "\n" not in msg and "results.csv" in msg, msg
    for w in words:
        assert w in msg, (w, msg)
    return msg


def test_a_repeated_gene_and_replicate_is_refused_not_averaged(tmp_path: Path) -> None:
    _refused(
        tmp_path,
        "Gene,Replicate,Score\nCASP1,1,-0.50\ncasp1,1,-3.00\nMT2A,1,0\n",
        "CASP1",
        "lines 2, 3",
        "Replicate '1'",
    )


def test_a_blank_replicate_is_refused(tmp_path: Path) -> None:
    _refused(tmp_path, "Gene,Replicate,Score\nATP6V1F,,0.3\nATP6V1F,,-2.9\n", "ATP6V1F", "line 2")


def test_controls_repeated_in_another_case_are_refused(tmp_path: Path) -> None:
    text = "Gene,Replicate,Score\nntc_1,1,0.3\nNTC_1,1,-2.9\nCASP1,1,-2\n"
    _refused(tmp_path, text, "ntc_1", "lines 2, 3", controls=("NTC_1",))  # as written


def test_distinct_replicates_still_average(tmp_path: Path) -> None:
    r = _read(tmp_path, "Gene,Replicate,Score\nCASP1,1,-0.50\nCASP1,2,-3.00\n")
    assert r.score("CASP1") == pytest.approx(-1.75)
    assert r.table.set_index("Gene").loc["CASP1", "Replicates"] == 2


def test_without_a_replicate_column_the_lines_are_named(tmp_path: Path) -> None:
    _refused(tmp_path, "Gene,Score\nMT2A,1\nmt2a,2\n", "MT2A", "lines 2, 3", "Replicate")


def test_the_library_gene_column_names_are_accepted(tmp_path: Path) -> None:
    r = _read(tmp_path, "Gene Symbol,Score\nCASP1,-2\nMT2A,0.5\n")
    assert r.told == ("CASP1", "MT2A") and r.hits == {"CASP1"}


def test_a_tab_separated_txt_is_read(tmp_path: Path) -> None:
    r = _read(tmp_path, "Gene\tScore\nCASP1\t-2.5\n", name="results.txt")
    assert r.score("CASP1") == pytest.approx(-2.5)


def test_a_semicolon_file_with_decimal_commas_and_a_bom_is_read(tmp_path: Path) -> None:
    text = "\ufeffGene;Score\nCASP1;-0,5\nMT2A;-1,25\nATP6V1F;2\n"
    r = _read(tmp_path, text.encode("utf-8"))
    assert r.score("CASP1") == pytest.approx(-0.5)
    assert r.score("MT2A") == pytest.approx(-1.25)
    assert r.hits == {"MT2A"}


def test_a_quoted_decimal_comma_in_a_comma_file_is_read(tmp_path: Path) -> None:
    r = _read(tmp_path, 'Gene,Score\nCASP1,"-0,5"\nMT2A,"-1,25"\n')  # quoted: one field
    assert r.score("CASP1") == pytest.approx(-0.5) and r.hits == {"MT2A"}


def test_a_hit_column_under_a_score_rule_is_warned_about(tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match=r"Hit column is ignored .*'score<=-1'.*'column'"):
        r = _read(tmp_path, "Gene,Score,Hit\nMT2A,0.1,yes\n")
    assert r.hits == frozenset()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the column rule uses it: no warning
        r = _read(tmp_path, "Gene,Score,Hit\nMT2A,0.1,yes\n", hit_rule=parse_hit_rule("column"))
    assert r.hits == {"MT2A"}
