"""The lab loop (issue 19): a campaign that waits for a lab between rounds, with no process
alive; each round recorded exactly once, whatever the lab or the machines do."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from loop_helpers import cli, recorded, results, sheet_genes, start_args

from perturbo import tracking
from perturbo.cli import main
from perturbo.lab import read_pending


def _uri(tmp: Path) -> str:
    return f"sqlite:///{tmp}/lab.db"


def _pending(uri: str, name: str = "L"):
    store = tracking.open_store(uri)
    return read_pending(store.client, store.parent_run_id(name))


def test_start_waits_then_tell_records_each_round_once(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    uri = _uri(tmp_path)
    assert main(start_args(tmp_path, uri, rounds=2)) == 0
    err = capsys.readouterr().err
    assert "waiting for results of round 1: 8 genes, proposed" in err
    summary = tracking.open_store(uri).summary("L")
    assert summary.status == "SCHEDULED"  # a state of its own: no process runs it
    assert main(["status", "--tracking-uri", uri]) == 0
    assert "waiting" in capsys.readouterr().out
    sheet = tmp_path / "L-round1.csv"
    genes = sheet_genes(sheet)
    assert len(genes) == 8 and recorded(uri) == []
    assert main(["ask", "L", "--tracking-uri", uri, "--out", str(tmp_path / "a.csv")]) == 0
    assert sheet_genes(tmp_path / "a.csv") == genes

    res = results(tmp_path / "r1.csv", genes)
    assert main(["tell", "L", str(res), "--tracking-uri", uri]) == 0
    assert [g for r, g in recorded(uri)] == genes
    assert _pending(uri).round == 1
    assert main(["tell", "L", str(res), "--tracking-uri", uri]) == 0  # the same file again
    assert "already recorded as round 1" in capsys.readouterr().err
    assert len(recorded(uri)) == 8 and _pending(uri).round == 1

    second = sheet_genes(tmp_path / "L-round2.csv")
    assert not set(second) & set(genes)
    assert (
        main(["tell", "L", str(results(tmp_path / "r2.csv", second)), "--tracking-uri", uri]) == 0
    )
    assert "finished" in capsys.readouterr().err
    assert tracking.open_store(uri).summary("L").status == "FINISHED"
    assert len(recorded(uri)) == 16 and _pending(uri) is None
    assert main(["tell", "L", str(res), "--tracking-uri", uri]) == 2  # nothing pending now


def test_partial_results_stay_pending_until_told_or_dropped(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    uri = _uri(tmp_path)
    assert main(start_args(tmp_path, uri)) == 0
    genes = sheet_genes(tmp_path / "L-round1.csv")
    assert (
        main(["tell", "L", str(results(tmp_path / "a.csv", genes[:3])), "--tracking-uri", uri]) == 0
    )
    p = _pending(uri)
    assert p.round == 0 and len(p.told) == 3 and len(p.waiting) == 5
    assert recorded(uri) == []  # a round is recorded whole
    assert (
        main(["tell", "L", str(results(tmp_path / "b.csv", genes[3:6])), "--tracking-uri", uri])
        == 0
    )
    assert len(_pending(uri).waiting) == 2
    assert main(["tell", "L", "--drop-failed", "--next-batch", "5", "--tracking-uri", uri]) == 0
    obs = tracking.open_store(uri).history("L")
    assert [o.spec.params["gene"] for o in obs] == genes
    assert [o.outcome.status.value for o in obs].count("failed") == 2
    assert _pending(uri).round == 1 and len(_pending(uri).specs) == 5  # --next-batch 5


def test_a_lab_campaign_without_a_hit_rule_is_refused_before_anything_is_recorded(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    uri = _uri(tmp_path)
    args = start_args(tmp_path, uri)
    i = args.index("--hit-rule")
    assert main(args[:i] + args[i + 2 :]) == 2
    assert "needs --hit-rule" in capsys.readouterr().err
    assert [s.name for s in tracking.open_store(uri).list_campaigns()] == []


def test_tell_refuses_what_it_cannot_record(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    uri = _uri(tmp_path)
    assert main(start_args(tmp_path, uri)) == 0
    capsys.readouterr()
    stray = results(tmp_path / "x.csv", ["G999"])
    assert main(["tell", "L", str(stray), "--tracking-uri", uri]) == 2
    assert "not in the pending batch" in capsys.readouterr().err
    assert main(["tell", "L", "--tracking-uri", uri]) == 2  # nothing to tell
    assert main(["tell", "nope", str(stray), "--tracking-uri", uri]) == 2  # the wrong campaign
    capsys.readouterr()
    assert main(["resume", "L", "--tracking-uri", uri]) == 2  # no process runs a lab's batch
    assert "runs its experiments outside perturbo: `perturbo tell L" in capsys.readouterr().err
    assert recorded(uri) == [] and len(_pending(uri).told) == 0


def test_tell_refuses_a_campaign_that_is_not_a_lab_campaign(tmp_path, capsys):
    from stores import make_screen_csv

    uri = _uri(tmp_path)
    screen = make_screen_csv(tmp_path / "screen.csv", n=40)
    args = ["run", "genetic", "--screen", str(screen), "--planner", "random", "--rounds", "1"]
    assert main([*args, "--batch", "4", "--local", "--name", "sim", "--tracking-uri", uri]) == 0
    capsys.readouterr()
    assert main(["tell", "sim", str(screen), "--tracking-uri", uri]) == 2
    assert "not a lab campaign" in capsys.readouterr().err


def test_a_tell_while_another_holds_the_campaign_says_why_and_records_nothing(
    tmp_path, monkeypatch
):
    from perturbo.lab.hold import claim_step

    monkeypatch.chdir(tmp_path)
    uri = _uri(tmp_path)
    assert main(start_args(tmp_path, uri)) == 0
    res = results(tmp_path / "r1.csv", sheet_genes(tmp_path / "L-round1.csv"))
    claim = claim_step(tracking.open_store(uri), "L")  # another step, alive, holds it
    try:  # past --wait 1 (a step that keeps it that long), the tell gives up, changing nothing
        p = cli("tell", "L", str(res), "--tracking-uri", uri, "--wait", "1", cwd=tmp_path)
        assert p.returncode == 2, p.stderr
        assert "another `perturbo ask`/`tell` holds it" in p.stderr
        assert recorded(uri) == []
    finally:
        claim.release()
    assert cli("tell", "L", str(res), "--tracking-uri", uri, cwd=tmp_path).returncode == 0
    assert len(recorded(uri)) == 8


@pytest.mark.slow
def test_two_tells_at_once_record_one_round(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    uri = _uri(tmp_path)
    assert main(start_args(tmp_path, uri)) == 0
    res = results(tmp_path / "r1.csv", sheet_genes(tmp_path / "L-round1.csv"))
    cmd = [sys.executable, "-m", "perturbo.cli", "tell", "L", str(res), "--tracking-uri", uri]
    procs = [
        subprocess.Popen(cmd, cwd=tmp_path, stderr=subprocess.PIPE, text=True) for _ in range(2)
    ]
    outs = [(p.wait(120), p.stderr.read()) for p in procs]  # type: ignore[union-attr]
    assert len(recorded(uri)) == 8 and _pending(uri).round == 1, outs
    assert sorted(rc for rc, _ in outs) in ([0, 0], [0, 2]), outs
    loser = [e for rc, e in outs if rc == 2 or "already recorded" in e]
    assert len(loser) == 1, outs  # the other one says why it recorded nothing
    assert "recording campaign 'L' now" in loser[0] or "already recorded" in loser[0]


KILL_AFTER_RECORDING = """
import os, signal, sys
from perturbo.lab import loop
def killed(*a, **k):
    os.kill(os.getpid(), signal.SIGKILL)  # the round is recorded; the next batch is not
loop._leave_waiting = killed
from perturbo.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_a_tell_killed_after_recording_is_repaired_by_the_next_ask(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    uri = _uri(tmp_path)
    assert main(start_args(tmp_path, uri, name="L")) == 0
    genes = sheet_genes(tmp_path / "L-round1.csv")
    res = results(tmp_path / "r1.csv", genes)
    script = tmp_path / "killed.py"
    script.write_text(textwrap.dedent(KILL_AFTER_RECORDING))
    p = subprocess.run(
        [sys.executable, str(script), "tell", "L", str(res), "--tracking-uri", uri],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert p.returncode == -9, p.stderr
    assert [g for _, g in recorded(uri)] == genes  # recorded before the kill
    assert _pending(uri).round == 0  # ... and the old batch still says pending
    # a twin campaign, never killed, says what round 2 should be
    assert main(start_args(tmp_path, uri, name="twin")) == 0
    assert main(["tell", "twin", str(res), "--tracking-uri", uri]) == 0
    ask = cli("ask", "L", "--tracking-uri", uri, "--out", "next.csv", cwd=tmp_path)
    assert ask.returncode == 0, ask.stderr
    assert "proposing it now" in ask.stderr
    assert sheet_genes(tmp_path / "next.csv") == sheet_genes(tmp_path / "twin-round2.csv")
    assert _pending(uri).round == 1 and len(recorded(uri)) == 8  # nothing lost or doubled
    assert cli("tell", "L", str(res), "--tracking-uri", uri, cwd=tmp_path).returncode == 0
    assert len(recorded(uri)) == 8
