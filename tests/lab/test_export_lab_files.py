"""``perturbo export`` of a lab screen: each measured gene with its replicates and the results
file its value came from (a round told in two files names each gene's own file)."""

from __future__ import annotations

import io

import pandas as pd
from loop_helpers import sheet_genes, start_args

from perturbo.cli import main


def test_export_names_each_genes_file_and_replicates(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path}/lab.db"
    assert main(start_args(tmp_path, uri)) == 0
    genes = sheet_genes(tmp_path / "L-round1.csv")
    first, rest = tmp_path / "plate-1.csv", tmp_path / "plate-2.csv"
    first.write_text(f"Gene,Replicate,Score\n{genes[0]},1,3\n{genes[0]},2,2\n{genes[1]},1,0.5\n")
    rest.write_text("Gene,Score\n" + "".join(f"{g},1\n" for g in genes[2:]))
    for f in (first, rest):
        assert main(["tell", "L", str(f), "--tracking-uri", uri]) == 0
    capsys.readouterr()
    assert main(["export", "L", "--tracking-uri", uri]) == 0
    got = pd.read_csv(io.StringIO(capsys.readouterr().out)).set_index("gene")
    assert list(got.columns[-4:]) == ["replicates", "file", "duration_s", "error"]
    assert got.loc[genes[0], "replicates"] == 2 and got.loc[genes[0], "score"] == 2.5
    assert got.loc[genes[0], "hit"] == 1 and got.loc[genes[1], "hit"] == 0
    assert got.loc[genes[1], "file"] == str(first) and got.loc[genes[1], "replicates"] == 1
    assert set(got.loc[genes[2:], "file"]) == {str(rest)} and (got["round"] == 1).all()
