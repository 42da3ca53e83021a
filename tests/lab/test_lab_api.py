"""The lab's Python API (issue 19 item 7): ``perturbo.open_campaign(name).pending()`` and
``.tell(dataframe)`` drive a lab campaign as ``perturbo ask`` / ``perturbo tell`` do, recording
each round once in the same store."""

from __future__ import annotations

import pandas as pd
import pytest
from loop_helpers import recorded, score, sheet_genes, start_args

import perturbo
from perturbo.cli import main
from perturbo.types import PerturboError


def _results(genes: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"Gene": genes, "Score": [score(g) for g in genes]})


def test_open_campaign_pending_and_tell(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path}/lab.db"
    assert main(start_args(tmp_path, uri, rounds=2)) == 0
    capsys.readouterr()
    monkeypatch.delenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", raising=False)
    lab = perturbo.open_campaign("L", tracking_uri=uri)
    assert lab.name == "L" and lab.status.startswith("waiting for results of round 1: 8 genes")
    assert "Downloading artifacts" not in capsys.readouterr().err  # no MLflow bars in a notebook

    batch = lab.pending()
    genes = batch.loc[batch["Rank"].notna(), "Gene"].tolist()
    assert genes == sheet_genes(tmp_path / "L-round1.csv")  # the CLI's sheet, as a DataFrame
    assert list(batch.columns[:7]) == [
        "Round",
        "Rank",
        "Gene",
        "P_hit",
        "P_hit_sd",
        "Why",
        "Guides",
    ]
    assert recorded(uri) == []

    # part of the batch: recorded nowhere yet, the rest stays pending
    same = lab.tell(_results(genes[:3]))
    assert recorded(uri) == [] and same["Gene"].tolist() == batch["Gene"].tolist()
    assert "(3 told, 5 to come: " in lab.status  # named: 10 or fewer
    assert [w["gene"] for w in lab.waiting()] == genes[3:]

    nxt = lab.tell(_results(genes))  # the whole batch (the 3 again: the same values)
    assert [g for _, g in recorded(uri)] == genes  # round 1 recorded, once
    assert nxt is not None and nxt["Round"].iloc[0] == 2
    second = nxt.loc[nxt["Rank"].notna(), "Gene"].tolist()
    assert len(second) == 8 and not set(second) & set(genes)
    assert lab.pending()["Gene"].tolist() == second

    again = lab.tell(_results(genes))  # told twice: recorded once
    assert any("already recorded as round 1" in line for line in lab.lines)
    assert len(recorded(uri)) == 8 and again["Gene"].tolist() == nxt["Gene"].tolist()

    assert lab.tell(_results(second)) is None  # the last round: the campaign finished
    assert len(recorded(uri)) == 16 and lab.status == "finished" and lab.pending() is None


def test_open_campaign_refuses_clearly(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path}/lab.db"
    assert main(start_args(tmp_path, uri, rounds=2)) == 0
    with pytest.raises(PerturboError, match="no campaign|unknown|not found"):
        perturbo.open_campaign("nope", tracking_uri=uri)
    lab = perturbo.open_campaign("L", tracking_uri=uri)
    bad = pd.DataFrame({"Gene": ["NOT_A_GENE"], "Score": [1.0]})
    with pytest.raises(PerturboError, match="NOT_A_GENE"):
        lab.tell(bad)
    with pytest.raises(PerturboError, match="next_batch"):
        lab.tell(bad, next_batch=0)
    assert recorded(uri) == []


def test_a_bad_results_dataframe_is_named_by_its_rows(tmp_path, monkeypatch, capsys):
    """Errors about a DataFrame told name the DataFrame and its row (by position), not the
    temporary file it was written to and that file's line."""
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path}/lab.db"
    assert main(start_args(tmp_path, uri, rounds=2)) == 0
    lab = perturbo.open_campaign("L", tracking_uri=uri)
    genes = sheet_genes(tmp_path / "L-round1.csv")
    df = _results(genes[:4])
    df.loc[2, "Score"] = None
    with pytest.raises(PerturboError) as e:
        lab.tell(df)
    msg = str(e.value)
    assert "DataFrame" in msg and "row 2" in msg and genes[2] in msg, msg
    assert "perturbo-tell-" not in msg and "line " not in msg, msg
    assert recorded(uri) == []
