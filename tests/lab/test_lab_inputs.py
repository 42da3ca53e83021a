"""Lab inputs, each bad one refused in ONE line naming the input and the fix (issue 19):
the results a lab tells, the library, the --exclude / --controls gene lists."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from perturbo.kinds.genetic.lab import (
    LabInputError,
    load_gene_list,
    load_library,
    parse_hit_rule,
    read_results,
)
from perturbo.types import PerturboError

PENDING = ("TP53", "MYC", "KRAS", "EGFR")
RULE = parse_hit_rule("abs>=2")


def _tell(tmp_path: Path, text: str, **kw: object):
    p = tmp_path / "results.csv"
    p.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    args = {"pending": PENDING, "earlier": ("BRCA1",), "hit_rule": RULE, "controls": ()}
    args.update(kw)
    return read_results(p, **args)


def _refused(tmp_path: Path, text: str | bytes, *words: str, **kw: object) -> str:
    with pytest.raises(LabInputError) as e:
        _tell(tmp_path, text, **kw)
    msg = str(e.value)
    assert "\n" not in msg, msg
    assert "results.csv" in msg, msg  # names the input
    for w in words:
        assert w in msg, (w, msg)
    return msg


def test_good_partial_results_with_hit_column_and_replicates(tmp_path: Path) -> None:
    r = _tell(
        tmp_path,
        "gene,score,replicate\ntp53,3.0,1\nTP53,1.0,2\n myc ,0.5,1\n",
        hit_rule=parse_hit_rule("score>=1.5"),
    )
    assert r.told == ("TP53", "MYC")
    assert r.still_pending == ("KRAS", "EGFR")
    assert r.score("TP53") == pytest.approx(2.0)  # replicates averaged
    assert r.hits == {"TP53"}
    assert r.table.set_index("Gene").loc["TP53", "Replicates"] == 2


def test_hit_column_rule_reads_the_labs_calls(tmp_path: Path) -> None:
    r = _tell(tmp_path, "Gene,Score,Hit\nTP53,0.1,1\nMYC,9,0\n", hit_rule=parse_hit_rule("column"))
    assert r.hits == {"TP53"}


def test_a_dataframe_is_accepted(tmp_path: Path) -> None:
    df = pd.DataFrame({"Gene": ["KRAS", "EGFR"], "Score": [5.0, 0.0]})
    r = read_results(df, pending=PENDING, hit_rule=RULE)
    assert r.hits == {"KRAS"} and r.still_pending == ("TP53", "MYC")


def test_genes_not_in_the_pending_batch_are_listed(tmp_path: Path) -> None:
    msg = _refused(
        tmp_path, "Gene,Score\nTP53,1\nFOO1,2\nBAR2,3\n", "FOO1", "BAR2", "not in the pending batch"
    )
    assert "TP53" not in msg


def test_genes_of_an_earlier_round(tmp_path: Path) -> None:
    _refused(tmp_path, "Gene,Score\nTP53,1\nbrca1,2\n", "(brca1)", "earlier round")  # as written


def test_duplicates_without_a_replicate_column(tmp_path: Path) -> None:
    _refused(tmp_path, "Gene,Score\nTP53,1\ntp53 ,2\nMYC,1\n", "TP53", "several rows", "Replicate")


@pytest.mark.parametrize("score", ["abc", "", "nan", "inf"])
def test_non_numeric_or_missing_scores_name_the_row(tmp_path: Path, score: str) -> None:
    _refused(tmp_path, f"Gene,Score\nTP53,1\nMYC,{score}\n", "line 3", "MYC", "Score")


def test_a_hit_value_that_is_not_0_or_1(tmp_path: Path) -> None:
    _refused(tmp_path, "Gene,Score,Hit\nTP53,1,1\nMYC,1,2\n", "line 3", "Hit '2'", "1 (hit) or 0")


def test_hit_column_rule_without_a_hit_column(tmp_path: Path) -> None:
    _refused(tmp_path, "Gene,Score\nTP53,1\n", "no Hit column", hit_rule=parse_hit_rule("column"))


@pytest.mark.parametrize("text", ["", "\n\n", "Gene,Score\n"])
def test_an_empty_file(tmp_path: Path, text: str) -> None:
    _refused(tmp_path, text, "Gene,Score")


def test_missing_columns_and_binary(tmp_path: Path) -> None:
    _refused(tmp_path, "Gene,Value\nTP53,1\n", "no Score column")
    _refused(tmp_path, b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe", "UTF-8")


def test_an_unreadable_path(tmp_path: Path) -> None:
    with pytest.raises(LabInputError, match="no such file"):
        read_results(tmp_path / "nope.csv", pending=PENDING, hit_rule=RULE)


def test_only_controls(tmp_path: Path) -> None:
    _refused(tmp_path, "Gene,Score\nNTC1,1\nNTC2,0\n", "only controls", controls=("NTC1", "NTC2"))


def test_lab_input_error_is_a_perturbo_error() -> None:
    assert issubclass(LabInputError, PerturboError)  # the CLI prints it as one line, no traceback


# -- library and gene lists -------------------------------------------------------------------


def test_guide_library_keeps_order_and_rows(tmp_path: Path) -> None:
    p = tmp_path / "lib.csv"
    p.write_text("sgRNA,Target Gene Symbol,Sequence\ng1,myc,AAA\ng2,TP53,CCC\ng3,MYC,GGG\n")
    lib = load_library(p)
    assert lib.genes == ("MYC", "TP53")
    assert [r["Sequence"] for r in lib.guides("myc")] == ["AAA", "GGG"]
    assert lib.guide_columns == ("sgRNA", "Sequence")
    assert "tp53" in lib and len(lib) == 2


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "empty"),
        ("Symbol_X,Seq\nA,B\n", "no Gene column"),
        ("Gene\n", "no gene rows"),
        ("Gene,sgRNA\nMYC,a\n,b\n", "line 3"),
    ],
)
def test_bad_libraries(tmp_path: Path, text: str, words: str) -> None:
    p = tmp_path / "lib.csv"
    p.write_text(text)
    with pytest.raises(LabInputError) as e:
        load_library(p)
    assert words in str(e.value) and "lib.csv" in str(e.value) and "\n" not in str(e.value)


def test_missing_library_names_the_flag(tmp_path: Path) -> None:
    with pytest.raises(LabInputError, match=r"--library .*no such file"):
        load_library(tmp_path / "none.csv")


def test_gene_lists_lines_or_csv(tmp_path: Path) -> None:
    a = tmp_path / "ess.txt"
    a.write_text("# core essentials, Hart 2015\nrpl3\n\nPOLR2A  # pol II\nRPL3\n")
    # as the file spells them (the first spelling of a repeat in another case); matched
    # ignoring case by every use
    assert load_gene_list(a, "--exclude") == ("rpl3", "POLR2A")
    b = tmp_path / "ctl.csv"
    b.write_text("Gene,Note\nNTC_1,x\nntc_2,y\n")
    assert load_gene_list(b, "--controls") == ("NTC_1", "ntc_2")
    c = tmp_path / "bad.csv"
    c.write_text("a,b\nc,d\n")
    with pytest.raises(LabInputError, match=r"--controls .*line 1 .*no Gene column"):
        load_gene_list(c, "--controls")
    d = tmp_path / "empty.txt"
    d.write_text("# nothing\n")
    with pytest.raises(LabInputError, match="no gene names"):
        load_gene_list(d, "--exclude")


def test_a_short_row_says_no_score(tmp_path: Path) -> None:
    _refused(tmp_path, "Gene,Score\nTP53,1\nMYC\n", "line 3", "(MYC) has no Score")
