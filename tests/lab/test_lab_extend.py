"""``perturbo resume`` and ``perturbo stop`` of lab campaigns (:mod:`perturbo.lab.extend`): a
finished lab campaign is extended (its budget raised in the store, the next batch proposed as
``tell`` proposes it), a waiting one closed (KILLED, kept, resumable), never two proposals for
one round when two people extend at once or one extends while a ``tell`` records."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from loop_helpers import recorded, results, sheet_genes, start_args, trials_start_args

from perturbo import tracking
from perturbo.cli import main
from perturbo.lab import read_pending


def _uri(tmp: Path) -> str:
    return f"sqlite:///{tmp}/lab.db"


def _pending(uri: str, name: str = "L"):
    store = tracking.open_store(uri)
    return read_pending(store.client, store.parent_run_id(name))


def _finished_after_one_round(tmp: Path, uri: str) -> list[str]:
    assert main(start_args(tmp, uri, rounds=1)) == 0
    genes = sheet_genes(tmp / "L-round1.csv")
    assert main(["tell", "L", str(results(tmp / "r1.csv", genes)), "--tracking-uri", uri]) == 0
    assert tracking.open_store(uri).summary("L").status == "FINISHED"
    return genes


def test_resume_rounds_extends_a_finished_lab_campaign(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    uri = _uri(tmp_path)
    first = _finished_after_one_round(tmp_path, uri)
    capsys.readouterr()
    assert main(["tell", "L", "--next-batch", "8", "--tracking-uri", uri]) == 2  # as reported
    assert main(["resume", "L", "--tracking-uri", uri]) == 2  # finished: says how to extend
    assert "resume L --rounds 2" in capsys.readouterr().err
    assert main(["resume", "L", "--rounds", "1", "--tracking-uri", uri]) == 2
    err = capsys.readouterr().err
    assert "--rounds 1: campaign 'L' already has 1 round recorded" in err, err
    assert tracking.open_store(uri).config("L")["rounds"] == 1  # nothing changed

    assert main(["resume", "L", "--rounds", "3", "--tracking-uri", uri]) == 0
    err = capsys.readouterr().err
    assert "budget raised to 3 rounds" in err and "batch sheet: L-round2.csv" in err, err
    store = tracking.open_store(uri)
    assert store.config("L")["rounds"] == 3  # what every later step reads
    assert store.summary("L").status == "SCHEDULED" and _pending(uri).round == 1
    second = sheet_genes(tmp_path / "L-round2.csv")
    assert len(second) == 8 and not set(second) & set(first)

    for r, genes in ((2, second), (3, None)):  # the raised budget holds for later tells
        genes = genes or sheet_genes(tmp_path / f"L-round{r}.csv")
        res = results(tmp_path / f"r{r}.csv", genes)
        assert main(["tell", "L", str(res), "--tracking-uri", uri]) == 0
    assert "finished: 3 rounds" in capsys.readouterr().err
    assert len(recorded(uri)) == 24 and _pending(uri) is None


def test_resume_of_a_waiting_lab_campaign_says_to_tell_or_raises_its_budget(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    uri = _uri(tmp_path)
    assert main(start_args(tmp_path, uri, rounds=2)) == 0
    capsys.readouterr()
    assert main(["resume", "L", "--tracking-uri", uri]) == 2
    err = capsys.readouterr().err
    assert "`perturbo tell L RESULTS.csv` records the results of its pending batch" in err, err
    assert "waiting for results of round 1" in err and "--rounds N` raises its budget" in err
    assert main(["resume", "L", "--rounds", "4", "--tracking-uri", uri]) == 0
    err = capsys.readouterr().err
    assert "budget raised to 4 rounds" in err and "batch sheet" not in err, err
    assert tracking.open_store(uri).config("L")["rounds"] == 4 and _pending(uri).round == 0


def test_two_extensions_at_once_and_one_during_a_tell_propose_once(tmp_path, monkeypatch):
    """Both wait for a step holding the campaign (a tell recording); then one proposes round 2
    (slowly: another reading the store meanwhile would still find it finished) and the other,
    held off until it is done, finds it waiting: one batch."""
    from perturbo import kinds
    from perturbo.lab import extend
    from perturbo.lab.hold import claim_step

    monkeypatch.chdir(tmp_path)
    uri = _uri(tmp_path)
    _finished_after_one_round(tmp_path, uri)
    real = extend._continue

    def slow(*args, **kw):
        time.sleep(1.5)
        return real(*args, **kw)

    monkeypatch.setattr(extend, "_continue", slow)
    claim = claim_step(tracking.open_store(uri), "L")  # a `tell` holding it
    steps: list = []

    def extend_it() -> None:
        steps.append(extend.resume_lab(kinds.get, uri, "L", {"rounds": 2}))

    threads = [threading.Thread(target=extend_it) for _ in range(2)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    claim.release()
    for t in threads:
        t.join(timeout=240)
    assert len(steps) == 2
    assert [s.pending is not None for s in steps].count(True) == 1, [s.lines for s in steps]
    store = tracking.open_store(uri)
    run_id = store.parent_run_id("L")
    batches = [f.path for f in store.client.list_artifacts(run_id, "lab")]
    assert batches.count("lab/batch-r002.csv") == 1 and _pending(uri).round == 1
    assert store.summary("L").status == "SCHEDULED"
    assert [r for r, _ in recorded(uri)] == [0] * 8  # nothing recorded twice


def test_stop_closes_a_waiting_lab_campaign_and_resume_continues_it(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    uri = _uri(tmp_path)
    assert main(start_args(tmp_path, uri, rounds=2)) == 0
    genes = sheet_genes(tmp_path / "L-round1.csv")
    part = results(tmp_path / "p.csv", genes[:3])
    assert main(["tell", "L", str(part), "--tracking-uri", uri]) == 0
    capsys.readouterr()

    assert main(["stop", "L", "--tracking-uri", uri]) == 0
    out = capsys.readouterr().out
    assert "L stopped: KILLED while waiting for results of round 1" in out, out
    assert "`perturbo resume L` continues it" in out
    summary = tracking.open_store(uri).summary("L")
    assert summary.status == "KILLED" and not summary.run_tags.get("perturbo.lab.waiting")
    assert main(["status", "--tracking-uri", uri]) == 0
    assert "waiting (results" not in capsys.readouterr().out  # no longer waiting forever
    rest = results(tmp_path / "rest.csv", genes[3:])
    assert main(["tell", "L", str(rest), "--tracking-uri", uri]) == 2
    assert main(["ask", "L", "--tracking-uri", uri]) == 2
    assert "campaign 'L' is stopped" in capsys.readouterr().err
    assert main(["stop", "L", "--tracking-uri", uri]) == 1  # stopped already: nothing to stop

    assert main(["resume", "L", "--tracking-uri", uri]) == 0  # the same batch waits again
    assert "goes on: waiting for results of round 1" in capsys.readouterr().err
    assert _pending(uri).round == 0 and len(_pending(uri).told) == 3  # what was told, kept
    assert main(["tell", "L", str(rest), "--tracking-uri", uri]) == 0
    assert sorted(g for _, g in recorded(uri)) == sorted(genes)


def test_resume_trials_raises_a_trial_campaigns_budget(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    uri = _uri(tmp_path)
    assert main(trials_start_args(tmp_path, uri, "H", 1)) == 0
    assert main(["ask", "H", "-n", "1", "--tracking-uri", uri]) == 2  # all asked
    assert "`perturbo resume H --trials 2` raises the budget" in capsys.readouterr().err
    assert main(["tell", "H", "t0000", "0.5", "--tracking-uri", uri]) == 0
    assert tracking.open_store(uri).summary("H").status == "FINISHED"
    capsys.readouterr()
    assert main(["resume", "H", "--trials", "1", "--tracking-uri", uri]) == 2
    assert "already has 1 trial recorded" in capsys.readouterr().err
    assert main(["resume", "H", "--trials", "2", "--tracking-uri", uri]) == 0
    assert "budget raised to 2 trials" in capsys.readouterr().err
    assert main(["ask", "H", "-n", "1", "--tracking-uri", uri, "--format", "csv"]) == 0
    assert "t0001" in capsys.readouterr().out
    assert main(["tell", "H", "t0001", "0.25", "--tracking-uri", uri]) == 0
    assert "finished: 2 trials told" in capsys.readouterr().err
    assert tracking.open_store(uri).summary("H").status == "FINISHED"
