"""``perturbo show`` of a lab campaign waiting for its first results: the batch it waits
for, and no empty table of rounds."""

from __future__ import annotations

from loop_helpers import trials_start_args

from perturbo.cli import main


def test_show_of_a_fresh_lab_campaign_says_no_round_yet(tmp_path, capsys) -> None:
    uri = f"sqlite:///{tmp_path}/l.db"
    assert main(trials_start_args(tmp_path, uri, "L", 4)) == 0
    capsys.readouterr()
    assert main(["show", "L", "--tracking-uri", uri]) == 0
    out = capsys.readouterr().out
    assert "waiting for results of round 1" in out
    assert "no round recorded yet" in out
    assert "┃ round ┃" not in out and "round ┃" not in out, out


def test_status_all_shows_no_driver_for_a_finished_lab_campaign(tmp_path, capsys) -> None:
    import json
    import socket

    uri = f"sqlite:///{tmp_path}/l.db"
    assert main(trials_start_args(tmp_path, uri, "L", 1)) == 0
    assert main(["tell", "L", "t0000", "0.25", "--tracking-uri", uri]) == 0
    capsys.readouterr()
    assert main(["status", "--all", "--json", "--tracking-uri", uri]) == 0
    (row,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert row["state"] == "finished" and row["lab"] is True
    assert row["host"] == "" and row["pid"] is None  # the last tell's process is no driver
    assert main(["status", "--all", "--tracking-uri", uri]) == 0
    out = capsys.readouterr().out
    assert "none: lab" in out and f"{socket.gethostname()}:" not in out, out
