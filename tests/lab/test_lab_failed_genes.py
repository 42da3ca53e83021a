"""Genes a lab drops as failed (``perturbo tell --drop-failed``) were never measured: ``perturbo
show`` counts them apart ("N failed"), not as tested, and the outlook after each ``tell`` does
not count them among the genes left untested (they are never proposed again)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from loop_helpers import GENES, results, sheet_genes, start_args

from perturbo.cli import main


def _bo(args: list[str]) -> list[str]:
    args[args.index("--planner") + 1] = "bo"
    return args


@pytest.fixture
def dropped(tmp_path: Path, monkeypatch, capsys) -> tuple[str, str]:
    """A bo lab campaign whose round 1 had 5 genes measured and 3 dropped as failed; the
    output of the dropping ``tell``."""
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path}/lab.db"
    assert main(_bo(start_args(tmp_path, uri, rounds=3, batch=8))) == 0
    genes = sheet_genes(tmp_path / "L-round1.csv")
    assert (
        main(["tell", "L", str(results(tmp_path / "r1.csv", genes[:5])), "--tracking-uri", uri])
        == 0
    )
    capsys.readouterr()
    assert main(["tell", "L", "--drop-failed", "--tracking-uri", uri]) == 0
    return uri, capsys.readouterr().err


def test_show_counts_failed_genes_apart_not_as_tested(dropped, capsys) -> None:
    uri, _ = dropped
    assert main(["show", "L", "--tracking-uri", uri]) == 0
    out = capsys.readouterr().out
    found = next(ln for ln in out.splitlines() if " hits in " in ln)
    assert re.search(r"\d+ hits? in 8 experiments \(3 failed: no result", found), found


def test_the_outlook_leaves_failed_genes_out_of_the_untested(dropped) -> None:
    _, err = dropped
    assert "hits in 5 genes tested" in err, err
    m = re.search(r"Still untested \((\d+) genes\): (.*)", err)
    assert m, err
    untested = int(m.group(1))
    assert untested == len(GENES) - 8, err  # 5 measured, 3 failed: neither is left
    # the uniform half less its failed genes: a sample of 0 hits says its upper end only
    est = re.search(r"about (\d+) hits left .*interval (\d+)-(\d+)", m.group(2))
    if est is not None:
        n, lo, hi = map(int, est.groups())
        assert 0 <= lo <= n <= hi <= untested, err
    else:
        up = re.search(r"had no hits: up to (\d+) hits may be left", m.group(2))
        assert up is not None and 0 < int(up.group(1)) <= untested, err
