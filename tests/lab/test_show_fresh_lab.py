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
