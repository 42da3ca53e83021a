"""The web chat's results upload (``POST /api/lab/upload``) answers a bad file in the words of
the person who uploaded it: the file as they named it, never the chat's copy in its uploads
folder, and a command that names their own file (the page cannot correct a told value)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lab"))
from loop_helpers import results, sheet_genes, start_args  # noqa: E402

from perturbo.cli import main  # noqa: E402


def test_an_upload_error_names_the_file_as_uploaded(tmp_path: Path, monkeypatch, capsys) -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from perturbo.chat.build import make_tools
    from perturbo.chat.web_lab import add_lab_routes

    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path}/lab.db"
    assert main(start_args(tmp_path, uri, rounds=2)) == 0
    genes = sheet_genes(tmp_path / "L-round1.csv")
    (tmp_path / "first.csv").write_text(f"Gene,Score\n{genes[0]},0.2\n")
    assert main(["tell", "L", str(tmp_path / "first.csv"), "--tracking-uri", uri]) == 0
    capsys.readouterr()
    tools = make_tools(uri, local=True, workdir=tmp_path / "work")
    app = FastAPI()
    add_lab_routes(app, tools, None)
    client = TestClient(app)

    text = results(tmp_path / "w2_web.csv", genes[:2]).read_text()  # genes[0] now another value
    got = client.post(
        "/api/lab/upload",
        json={"message": "here are the results for L", "filename": "w2_web.csv", "text": text},
    ).json()
    said = got["text"]
    assert not got["ok"] and f"{genes[0]}: recorded 0.2, this file" in said, said
    assert "uploads" not in said and str(tmp_path / "work") not in said, said
    assert said.startswith("w2_web.csv:") and "`perturbo tell L w2_web.csv --correct`" in said

    text = "Gene,Score\nFoo1,1\n"
    got = client.post(
        "/api/lab/upload",
        json={"message": "results for L", "filename": "C:\\lab\\plate 3.csv", "text": text},
    ).json()
    said = got["text"]
    assert not got["ok"] and said.startswith("results plate 3.csv: 1 gene(s)"), said
    assert "uploads" not in said and "Foo1" in said, said
