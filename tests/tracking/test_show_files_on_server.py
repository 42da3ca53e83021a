"""``perturbo show --tracking-uri <the server's database>`` of a campaign recorded through a
tracking server (``mlflow-artifacts:`` files): what the database holds, and one line saying
the files are on the server. The server's database is made by rewriting the artifact URIs a
sqlite store recorded to the ones ``mlflow server --serve-artifacts`` records."""

from __future__ import annotations

import sqlite3

from perturbo.cli import main


def test_show_reads_the_database_and_names_the_server_for_the_files(tmp_path, capsys) -> None:
    db = tmp_path / "srv.db"
    uri = f"sqlite:///{db}"
    args = ["run", "genetic", "--rounds", "2", "--batch", "8", "--seed", "0", "--local"]
    assert main([*args, "--name", "G", "--tracking-uri", uri]) == 0
    with sqlite3.connect(db) as con:  # as a tracking server with --serve-artifacts records
        con.execute(
            "UPDATE runs SET artifact_uri = 'mlflow-artifacts:/' || experiment_id || '/' "
            "|| run_uuid || '/artifacts'"
        )
    capsys.readouterr()
    assert main(["show", "--tracking-uri", uri]) == 0
    out = capsys.readouterr().out
    assert "G" in out and "FINISHED" in out, out
    assert main(["show", "G", "--tracking-uri", uri]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "2 rounds recorded" in out and "best round" in out, out
    assert "are on the MLflow tracking server" in out and "--tracking-uri http://" in out, out
    assert "│ 2 │" in out.replace("  ", " ") or " 2 │" in out, out  # the rounds table
