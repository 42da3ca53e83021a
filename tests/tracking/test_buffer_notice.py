"""Rounds buffered on one machine while the store was down are said where people look:
``perturbo show``/``status`` on that machine (the local buffer), anywhere through the
campaign's ``perturbo.buffered`` tag; the buffer's folder is ``$PERTURBO_SPOOL_DIR``; an
upload that finds a round's slot filled by other results keeps the buffered round and says so."""

from __future__ import annotations

import json

import pytest

from perturbo.cli import main
from perturbo.tracking.backlog import Backlog
from perturbo.tracking.buffer_notice import BUFFERED_TAG, tag_value
from perturbo.tracking.spool import Spool


@pytest.fixture(scope="module")
def campaign(tmp_path_factory) -> str:
    db = tmp_path_factory.mktemp("buf") / "b.db"
    uri = f"sqlite:///{db}"
    args = ["run", "genetic", "--rounds", "1", "--batch", "8", "--seed", "0", "--local"]
    assert main([*args, "--name", "B", "--tracking-uri", uri]) == 0
    return uri


def test_spool_dir_setting_is_where_rounds_are_buffered(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PERTURBO_SPOOL_DIR", str(tmp_path / "pv"))
    assert Spool("postgresql://db/x", "C").path.is_relative_to(tmp_path / "pv")


def test_show_and_status_say_this_machine_holds_buffered_rounds(
    campaign, tmp_path, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("PERTURBO_SPOOL_DIR", str(tmp_path / "pv"))
    path = Spool(campaign, "B").save(4, [], {"hits_round": 1.0}, {}, {})
    capsys.readouterr()
    assert main(["show", "B", "--tracking-uri", campaign]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "B: 1 round is buffered on this machine" in out, out
    assert str(path.parent) in out and "`perturbo resume B`" in out, out
    assert main(["status", "--tracking-uri", campaign]) == 0  # ended, but still said
    out = " ".join(capsys.readouterr().out.split())
    assert "buffered on this machine" in out, out


def test_show_and_status_elsewhere_warn_of_the_tag(campaign, tmp_path, monkeypatch, capsys) -> None:
    from mlflow import MlflowClient

    from perturbo.tracking import open_store

    monkeypatch.setenv("PERTURBO_SPOOL_DIR", str(tmp_path / "empty"))
    store = open_store(campaign)
    spool = Spool(campaign, "B", tmp_path / "far")
    run_id = store.parent_run_id("B")
    MlflowClient(campaign).set_tag(run_id, BUFFERED_TAG, tag_value(spool, 3, host="node-7"))
    try:
        capsys.readouterr()
        assert main(["show", "B", "--tracking-uri", campaign]) == 0
        out = " ".join(capsys.readouterr().out.split())
        assert "B: 3 rounds are buffered on host node-7" in out, out
        assert "a resume elsewhere reruns them" in out and "on node-7" in out, out
        assert main(["status", "--json", "--tracking-uri", campaign]) == 0
        (row,) = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
        assert "node-7" in row["buffered"]
    finally:
        MlflowClient(campaign).delete_tag(run_id, BUFFERED_TAG)


def test_upload_keeps_rounds_whose_slot_the_store_filled(tmp_path) -> None:
    spool = Spool("sqlite:///x.db", "C", tmp_path)
    for r in (2, 3):
        spool.save(r, [], {}, {}, {})
    said: list[str] = []
    backlog = Backlog(spool, say=said.append)

    def upload(spooled):  # round 3 was recorded by a resumed run meanwhile
        clash = [(s, "8 other experiments (ids r3-0000..r3-0007)") for s in spooled if s.round == 3]
        for s in spooled:
            if s.round != 3:
                s.path.unlink()
        return clash

    assert backlog.flush(upload)
    assert "1 of 2 buffered rounds uploaded" in said[-1], said
    assert "round 4: the store holds 8 other experiments" in said[-1], said
    assert "NOT uploaded" in said[-1] and "kept" in said[-1]
    assert (spool.path / "kept" / "round-003.json").exists() and spool.count() == 0


def test_a_round_recorded_meanwhile_by_other_results_is_a_clash(campaign, tmp_path) -> None:
    from dataclasses import replace

    from perturbo.tracking import open_store
    from perturbo.tracking.layout import round_base
    from perturbo.tracking.reader import recorded_rounds
    from perturbo.tracking.upload_clash import find_clashes
    from perturbo.types import Observation

    store = open_store(campaign)
    run_id = store.parent_run_id("B")
    recorded = recorded_rounds(store.client, run_id)
    base = round_base(store.summary("B").run_tags)  # the stored numbering: from 0 or 1
    ours = list(store.history("B"))  # round 0's own results: a write whose reply was lost
    other = [Observation(replace(o.spec, id=f"x-{i}"), o.outcome) for i, o in enumerate(ours)]
    spool = Spool(campaign, "B", tmp_path)
    same = next(spool.rounds()) if spool.save(0, ours, {}, {}, {}) else None
    assert find_clashes(store.client, run_id, base, [same], recorded) == []
    spool.save(0, other, {}, {}, {})
    (clash,) = find_clashes(store.client, run_id, base, list(spool.rounds()), recorded)
    assert clash[1].startswith(f"{len(ours)} experiments (ids "), clash


def test_a_resume_keeps_a_buffered_round_whose_slot_another_run_filled(
    tmp_path, monkeypatch, capsys
) -> None:
    """End to end through the writer: a round buffered here that a resume elsewhere already
    recorded with other results is not uploaded as if it were, nor dropped: kept and named."""
    from dataclasses import replace

    from perturbo.tracking import open_store
    from perturbo.types import Observation

    uri = f"sqlite:///{tmp_path}/c.db"
    args = ["run", "genetic", "--rounds", "1", "--batch", "8", "--seed", "0", "--local"]
    assert main([*args, "--name", "C", "--tracking-uri", uri]) == 0
    monkeypatch.setenv("PERTURBO_SPOOL_DIR", str(tmp_path / "pv"))
    ours = list(open_store(uri).history("C"))
    other = [Observation(replace(o.spec, id=f"x-{i}"), o.outcome) for i, o in enumerate(ours)]
    spool = Spool(uri, "C")
    spool.save(0, other, {}, {}, {})  # round 1, as this machine buffered it
    capsys.readouterr()
    resume = ["resume", "C", "--rounds", "2", "--local", "--no-progress", "--tracking-uri", uri]
    assert main(resume) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert "C: 1 round is buffered on this machine" in err, err  # said before it goes on
    assert "0 of 1 buffered rounds uploaded; 1 NOT uploaded" in err, err
    assert f"round 1: the store holds {len(ours)} experiments" in err, err
    assert (spool.path / "kept" / "round-000.json").exists() and spool.count() == 0
    ids = [o.spec.id for o in open_store(uri).history("C")]
    assert len(ids) == 16 and not any(i.startswith("x-") for i in ids)  # the store's own kept
