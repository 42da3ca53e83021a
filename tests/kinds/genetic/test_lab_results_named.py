"""A new user's pass over the lab's results reader: decimal commas read wherever they are
unambiguous (a tab file from German Excel, a quoted field) and an unquoted one in a comma file
named as such on its own line; genes named as the file writes them, a library gene not
proposed told apart from one the library lacks; a gene recorded already refused naming its
round and both values; and the hit call's record kept under a score or column rule too."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from perturbo.kinds.genetic.lab import (
    LabInputError,
    hit_call_csv,
    hit_call_round,
    parse_hit_rule,
    read_results,
)

PENDING = ("PTPRC", "RPS9", "NFKBIZ", "ITGB2", "CD247")
RULE = parse_hit_rule("score<=-1")


def _read(tmp_path: Path, data: str | bytes, name: str = "results.csv", **kw: object):
    p = tmp_path / name
    p.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    args: dict[str, object] = {"pending": PENDING, "hit_rule": RULE, "controls": ()}
    args.update(kw)
    return read_results(p, **args)  # type: ignore[arg-type]


def _refused(tmp_path: Path, data: str, **kw: object) -> str:
    with pytest.raises(LabInputError) as e:
        _read(tmp_path, data, **kw)
    msg = str(e.value)
    assert "\n" not in msg and "results.csv" in msg, msg
    return msg


# -- decimal commas ---------------------------------------------------------------------------


def test_a_tab_file_with_a_bom_crlf_and_decimal_commas_is_read(tmp_path: Path) -> None:
    data = "\ufeffGene\tScore\r\nPTPRC\t-2,388\r\nRps9\t0,5\r\n".encode()
    r = _read(tmp_path, data, name="results.tsv")
    assert r.score("PTPRC") == pytest.approx(-2.388) and r.score("RPS9") == pytest.approx(0.5)
    assert r.hits == {"PTPRC"}


def test_a_quoted_decimal_comma_in_a_comma_file_is_read(tmp_path: Path) -> None:
    r = _read(tmp_path, 'Gene,Score\nRps9,"-0,49"\nPTPRC,-2\n')
    assert r.score("RPS9") == pytest.approx(-0.49)


def test_an_unquoted_decimal_comma_names_its_line_and_the_fix(tmp_path: Path) -> None:
    msg = _refused(tmp_path, "Gene,Score\nNfkbiz,0,5\nItgb2,0.1\n")
    assert "line 2 " in msg and "line 3" not in msg, msg
    assert "more than the header" in msg and "decimal comma" in msg, msg
    assert '"0,5"' in msg and "; separators" in msg, msg
    assert "(0.1)" not in msg  # a number is never shown as the gene


def test_blank_trailing_fields_are_not_extra_fields(tmp_path: Path) -> None:
    r = _read(tmp_path, "Gene,Score\nPTPRC,-2,,\n\nRPS9,1\n")  # Excel's trailing commas
    assert r.told == ("PTPRC", "RPS9")


def test_line_numbers_count_blank_lines(tmp_path: Path) -> None:
    msg = _refused(tmp_path, "Gene,Score\nPTPRC,-2\n\nRps9,abc\n")
    assert "line 4 (Rps9)" in msg, msg


# -- genes as written ---------------------------------------------------------------------------


def test_genes_are_named_as_the_file_writes_them(tmp_path: Path) -> None:
    assert "line 2 (Rps9) has Score 'x'" in _refused(tmp_path, "Gene,Score\nRps9,x\n")
    msg = _refused(tmp_path, "Gene,Score\nCd247,1\nCD247,2\n")
    assert "Cd247 appears on several rows" in msg and "CD247 appears" not in msg, msg
    msg = _refused(tmp_path, "Gene,Replicate,Score\nCd247,1,1\ncd247,1,2\n")
    assert "Cd247 has Replicate '1'" in msg, msg


def test_a_library_gene_not_proposed_is_told_apart_from_one_not_in_the_library(
    tmp_path: Path,
) -> None:
    library = ("PTPRC", "RPS9", "NFKBIZ", "ITGB2", "CD247", "IL2RA")
    msg = _refused(tmp_path, "Gene,Score\nPTPRC,-2\nIl2ra,1\nFoo1,2\n", library=library)
    assert "not in the pending batch" in msg, msg
    assert "1 of the library that were not proposed (Il2ra)" in msg, msg
    assert "not in the library at all (Foo1)" in msg, msg
    assert "IL2RA" not in msg and "FOO1" not in msg, msg
    called: list[int] = []

    def lazily() -> tuple[str, ...]:
        called.append(1)
        return library

    _read(tmp_path, "Gene,Score\nPTPRC,-2\n", library=lazily)
    assert not called  # the library is read only for a gene not in the batch


# -- a gene recorded already ----------------------------------------------------------------------


def test_a_gene_recorded_with_another_value_names_its_round_and_both_values(
    tmp_path: Path,
) -> None:
    earlier: dict[str, tuple[int, float | None]] = {"PTH1R": (1, -2.0), "SOCS1": (1, 0.7)}
    msg = _refused(tmp_path, "Gene,Score\nPth1r,0.3\n", earlier=earlier)
    assert "round 1" in msg and "earlier round" not in msg, msg
    assert "Pth1r: recorded -2, this file 0.3" in msg and "PTH1R" not in msg, msg
    earlier["RPS9"] = (2, 1.5)
    msg = _refused(tmp_path, "Gene,Score\nPth1r,0.3\nRps9,1.5\n", earlier=earlier)
    assert "in rounds 1 and 2 (Pth1r, Rps9), and this file gives 1 of them" in msg, msg
    assert "Pth1r: recorded -2 in round 1, this file 0.3" in msg, msg
    assert "--correct" in msg and "remove those rows" in msg, msg  # both ways on, named
    msg = _refused(tmp_path, "Gene,Score\nSocs1,0.7\n", earlier=earlier)  # the same value
    assert "in round 1, with the values this file gives (Socs1)" in msg, msg
    assert "cannot be corrected" not in msg


# -- the hit call's record under every rule -------------------------------------------------------


@pytest.mark.filterwarnings("ignore:.*Hit column is ignored:UserWarning")
@pytest.mark.parametrize("rule", ["score<=-1", "abs>=1", "column"])
def test_the_hit_call_is_kept_under_score_and_column_rules(tmp_path: Path, rule: str) -> None:
    hr = parse_hit_rule(rule)
    data = "Gene,Replicate,Score,Hit\nPTPRC,1,-2,1\nPTPRC,2,-2.5,1\nRPS9,1,0.5,0\nRPS9,2,0.1,0\n"
    r = _read(tmp_path, data, hit_rule=hr)
    text = hit_call_csv(r, hr, (), "plate.csv")
    assert text is not None
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(x["file"], x["line"], x["gene"], x["replicate"]) for x in rows] == [
        ("plate.csv", "2", "PTPRC", "1"),
        ("plate.csv", "3", "PTPRC", "2"),
        ("plate.csv", "4", "RPS9", "1"),
        ("plate.csv", "5", "RPS9", "2"),
    ]
    assert [float(x["value"]) for x in rows] == [-2, -2.5, 0.5, 0.1]
    assert [x["hit_column"] for x in rows] == ["1", "1", "0", "0"]
    assert float(rows[0]["score"]) == pytest.approx(-2.25)
    assert [x["hit"] for x in rows] == ["1", "1", "0", "0"] and rows[0]["rule"] == rule
    assert all(x["z"] == x["control_mean"] == "" for x in rows)
    files = hit_call_round([text])
    summary = json.loads(files["hit_call.json"])
    assert summary["rule"] == rule and "no controls" in summary["empty"]
    assert summary["files"] == [{"file": "plate.csv", "genes": 2, "hits": ["PTPRC"]}]
