"""A results upload that leaves part of the batch without a result says how many genes stay
pending, and the page labels the sheet it offers after the Confirm as the same batch (it still
waits for them), not as a next batch."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lab"))
from loop_helpers import results, sheet_genes, start_args  # noqa: E402

from perturbo.cli import main  # noqa: E402

PAGE = Path(__file__).resolve().parents[2] / "perturbo" / "chat" / "static" / "index.html"


def test_a_partial_upload_says_how_many_genes_stay_pending(tmp_path: Path, monkeypatch) -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from perturbo.chat.build import make_tools
    from perturbo.chat.web_lab import add_lab_routes

    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path}/lab.db"
    assert main(start_args(tmp_path, uri, rounds=2)) == 0
    genes = sheet_genes(tmp_path / "L-round1.csv")
    app = FastAPI()
    add_lab_routes(app, make_tools(uri, local=True, workdir=tmp_path / "work"), None)
    client = TestClient(app)
    for told, left in ((genes[:3], len(genes) - 3), (genes, 0)):
        text = results(tmp_path / "part.csv", told).read_text()
        got = client.post(
            "/api/lab/upload", json={"message": "results for L", "filename": "p.csv", "text": text}
        ).json()
        assert got["ok"] and got["pending"], got
        assert got["still_pending"] == left, got


def test_the_page_labels_a_partly_told_batch_as_the_same_batch() -> None:
    page = PAGE.read_text()
    assert "stillPending: d.still_pending" in page
    assert "Download the same batch sheet again (CSV): it still waits for" in page
