"""One driver per campaign, claimed atomically (:mod:`perturbo.tracking.claim`).

Issue 17: `resume NAME` started twice at the same instant ran both (72 trial runs for a
40-trial budget); `run --name X` twice made two parent runs. Here two processes race the claim
itself a hundred times (for a new and for a resumed campaign) and the real CLI a few times,
released together after their imports, and the store's records are counted.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from perturbo.tracking import claim as cl

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "faults"))
import barrier  # noqa: E402
import claim_racer  # noqa: E402

RACES = 100


def _campaign(uri: str, name: str = "r", status: str = "KILLED") -> tuple[str, str]:
    from mlflow import MlflowClient

    c = MlflowClient(uri)
    eid = c.create_experiment(name)
    run = c.create_run(eid, run_name=name, tags={"perturbo.role": "campaign"})
    c.set_terminated(run.info.run_id, status=status)
    return eid, run.info.run_id


def _race(kind: str, uri: str) -> dict[int, list[str]]:
    ctx = multiprocessing.get_context("spawn")
    gate, results = ctx.Barrier(2), ctx.Queue()
    procs = [
        ctx.Process(target=claim_racer.race, args=(kind, uri, i, RACES, gate, results))
        for i in range(2)
    ]
    for p in procs:
        p.start()
    out: dict[int, list[str]] = defaultdict(list)
    for _ in range(2 * RACES):
        k, _, what = results.get(timeout=600)
        out[k].append(what)
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    return out


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_hundred_resume_races_each_have_one_winner(store: str) -> None:
    from mlflow import MlflowClient

    _, run_id = _campaign(store)
    out = _race("resume", store)
    winners = {k: sum(w == "won" for w in v) for k, v in out.items()}
    errors = [w for v in out.values() for w in v if w.startswith("error")]
    assert not errors, errors[:3]
    assert Counter(winners.values()) == {1: RACES}, winners
    lost = [w for v in out.values() for w in v if w.startswith("lost")]
    assert all("another driver" in w and ":" in w for w in lost), lost[:3]
    params = MlflowClient(store).get_run(run_id).data.params
    gens = sorted(int(k[len(cl.CLAIM_PREFIX) :]) for k in params if k.startswith(cl.CLAIM_PREFIX))
    assert gens == list(range(RACES)), "one claim per generation, none twice"


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_hundred_new_campaign_races_each_make_one_campaign(store: str) -> None:
    from mlflow import MlflowClient

    _campaign(store)
    out = _race("run", store)
    errors = [w for v in out.values() for w in v if w.startswith("error")]
    assert not errors, errors[:3]
    assert Counter(sum(w == "won" for w in v) for v in out.values()) == {1: RACES}
    c = MlflowClient(store)
    for k in range(RACES):
        exp = c.get_experiment_by_name(f"n{k}")
        parents = c.search_runs([exp.experiment_id], "tags.`perturbo.role` = 'campaign'")
        assert len(parents) == 1, (k, len(parents))


def test_a_claim_held_by_a_live_driver_is_refused_and_a_released_one_is_taken(
    store: str,
) -> None:
    from mlflow import MlflowClient

    c = MlflowClient(store)
    eid, run_id = _campaign(store)
    first = cl.claim_resume(c, "r", eid, c.get_run(run_id))
    with pytest.raises(cl.Claimed, match=r"campaign 'r' is running: another driver holds it \("):
        cl.claim_resume(c, "r", eid, c.get_run(run_id))  # held by this very process
    first.release()
    second = cl.claim_resume(c, "r", eid, c.get_run(run_id))
    assert second.generation == first.generation + 1
    second.release()
    # a holder on this host whose process is gone is dead; a live one (the parent) is not
    other = cl.Holder(first.holder.host, os.getppid(), first.holder.t, "x")
    gone = cl.Holder(first.holder.host, 2**22 + 12345, first.holder.t, "y")
    assert cl.alive(other) and not cl.alive(gone)
    c.log_param(run_id, f"{cl.CLAIM_PREFIX}{second.generation + 1}", other.to_json())
    with pytest.raises(cl.Claimed, match=f":{os.getppid()}"):
        cl.claim_resume(c, "r", eid, c.get_run(run_id))


def _cli_argv(uri: str, *argv: str) -> list[str]:
    return [*argv, "--tracking-uri", uri, "--local", "--no-progress"]


def _trial_runs(uri: str, name: str) -> tuple[int, list[str]]:
    from mlflow import MlflowClient

    c = MlflowClient(uri)
    exp = c.get_experiment_by_name(name)
    runs = c.search_runs([exp.experiment_id], max_results=1000)
    parents = [r for r in runs if r.data.tags.get("perturbo.role") == "campaign"]
    ids = [r.data.tags["perturbo.id"] for r in runs if r.data.tags.get("perturbo.role") == "trial"]
    return len(parents), ids


HP = ["hyperparameter", "--task", "branin", "--planner", "random", "--batch", "2"]


@pytest.mark.slow
@pytest.mark.timeout(1200)
@pytest.mark.parametrize("attempt", range(2))
def test_two_cli_drivers_released_together_record_each_trial_once(
    store: str, tmp_path: Path, attempt: int
) -> None:
    name = f"twice-{attempt}"
    run = _cli_argv(store, "run", *HP, "--trials", "6", "--name", name)
    results = barrier.release(barrier.start([run, run], tmp_path / "run"), tmp_path / "run")
    codes = sorted(rc for rc, _ in results)
    assert codes == [0, 2], results
    loser = next(out for rc, out in results if rc == 2)
    assert "Traceback" not in loser and ("another driver" in loser or "already exists" in loser)
    parents, ids = _trial_runs(store, name)
    assert parents == 1 and len(ids) == len(set(ids)) == 6, (parents, ids)

    more = _cli_argv(store, "resume", name, "--trials", "14")
    results = barrier.release(barrier.start([more, more], tmp_path / "res"), tmp_path / "res")
    assert sorted(rc for rc, _ in results) == [0, 2], results
    loser = next(out for rc, out in results if rc == 2)
    assert "Traceback" not in loser and ("another driver" in loser or "is finished" in loser)
    parents, ids = _trial_runs(store, name)
    assert parents == 1 and len(ids) == len(set(ids)) == 14, (parents, Counter(ids))


def test_a_claim_from_another_host_lives_by_its_age_then_by_its_own_heartbeat() -> None:
    import json
    import time

    now = time.time()
    old = now - 10 * cl.grace_s()
    fresh = cl.Holder("elsewhere", 42, now, "a")
    stale = cl.Holder("elsewhere", 42, old, "b")
    assert cl.alive(fresh, {}, now)  # just claimed: no beat of its own yet
    assert not cl.alive(stale, {}, now)
    beat = {"perturbo.driver": json.dumps({"host": "elsewhere", "pid": 42}),
            "perturbo.heartbeat": f"{now - 1:.3f}"}  # fmt: skip
    assert cl.alive(stale, beat, now)
    other = {**beat, "perturbo.driver": json.dumps({"host": "elsewhere", "pid": 7})}
    assert not cl.alive(stale, other, now), "another driver's heartbeat is not this claim's"


def test_store_errors_say_unreachable_or_damaged() -> None:
    import sqlite3

    from perturbo.tracking.uri import wrap_error

    uri = "sqlite:///x.db"
    down = wrap_error(uri, "listing campaigns", sqlite3.OperationalError("unable to open database"))
    bad = wrap_error(uri, "listing campaigns", sqlite3.DatabaseError("disk image is malformed"))
    assert "could not be reached" in str(down) and "damaged" not in str(down)
    assert "damaged content" in str(bad) and "restore it" in str(bad)
    # A failure that is neither (a working store refused a request, or a bug while finishing)
    # is not blamed on the connection.
    other = wrap_error(uri, "finishing the campaign", RuntimeError("figure has no axes"))
    assert "could not be reached" not in str(other) and "damaged" not in str(other)
    assert "RuntimeError: figure has no axes" in str(other) and "perturbo resume" in str(other)
    http = wrap_error(
        "http://127.0.0.1:5999",
        "listing campaigns",
        Exception("API request failed with exception HTTPConnectionPool: Max retries exceeded"),
    )
    assert "could not be reached" in str(http)
