"""Several workers share one ask/tell campaign (README: "each call reads the store, so several
workers can share one campaign"): a step that finds the campaign held by another
``ask``/``tell`` waits for it (:mod:`perturbo.lab.hold`) instead of failing; only a driver, or
a step that holds it past the wait, ends in one line, and that line never says to
``perturbo stop`` a campaign another ask/tell holds. A worker whose step failed loses nothing:
its trials stay open, to be told later."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from perturbo import tracking
from perturbo.cli import main
from tests.lab.loop_helpers import cli

SPACE = '[x]\ntype = "float"\nlow = 0.0\nhigh = 1.0\n'

WORKER = textwrap.dedent(
    """
    import json, sys
    import perturbo
    name, uri, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
    study = perturbo.open_campaign(name, tracking_uri=uri)
    got, told, errors = [], [], []
    for _ in range(rounds):
        try:
            for t in study.ask(1):
                got.append(t["trial_id"])
                study.tell(t["trial_id"], (t["params"]["x"] - 0.3) ** 2)
                told.append(t["trial_id"])
        except Exception as e:
            errors.append(f"{type(e).__name__}: {e}")
    print(json.dumps({"got": got, "told": told, "errors": errors}))
    """
)


def _start(tmp: Path, uri: str, name: str = "W", trials: int = 20) -> None:
    space = tmp / "space.toml"
    space.write_text(SPACE)
    args = ["run", "hyperparameter", "--lab", "--space", str(space), "--objective", "loss",
            "--direction", "min", "--planner", "random", "--batch", "1", "--trials",
            str(trials), "--name", name, "--tracking-uri", uri]  # fmt: skip
    assert main(args) == 0


def _open_ids(uri: str, name: str = "W") -> list[str]:
    from perturbo.api import open_campaign

    return [t["trial_id"] for t in open_campaign(name, tracking_uri=uri).open()]


def _step_claim(uri: str, name: str = "W"):
    """Hold campaign ``name`` as another ask/tell step would (alive: this process)."""
    from perturbo.lab.hold import claim_step

    return claim_step(tracking.open_store(uri), name)


def test_two_worker_processes_take_turns_and_lose_nothing(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'm.db'}"
    _start(tmp_path, uri)
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    cmd = [sys.executable, str(script), "W", uri, "3"]
    procs = [
        subprocess.Popen(
            cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )  # fmt: skip
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=280) for p in procs]
    assert all(p.returncode == 0 for p in procs), [e[-2000:] for _, e in outs]
    done = [json.loads(o.strip().splitlines()[-1]) for o, _ in outs]
    for d in done:
        assert d["errors"] == [], d
        assert len(d["got"]) == 3 and d["told"] == d["got"], d  # every trial it asked, told
    handed = [t for d in done for t in d["got"]]
    assert len(set(handed)) == 6, handed  # no trial handed out twice
    history = tracking.open_store(uri).history("W")
    told = [o.spec.id for o in history]
    assert sorted(told) == sorted(handed) and len(set(told)) == len(told)  # each told once
    assert all(o.outcome.ok for o in history)
    assert _open_ids(uri) == ["t0000"]  # only the start's trial, which no worker asked for


def test_a_step_waits_for_another_step_then_goes_on(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'm.db'}"
    _start(tmp_path, uri, trials=4)
    claim = _step_claim(uri)
    timer = threading.Timer(2.0, claim.release)  # the other step ends in 2 s
    timer.start()
    try:
        t0 = time.monotonic()
        p = cli("tell", "W", "t0000", "0.5", "--tracking-uri", uri, cwd=tmp_path)
    finally:
        timer.join()
    assert p.returncode == 0, p.stderr
    assert time.monotonic() - t0 >= 2.0  # it waited for the other step
    assert [o.spec.id for o in tracking.open_store(uri).history("W")] == ["t0000"]


def test_a_step_held_past_the_wait_is_one_line_and_its_trial_stays_open(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A worker's tell that could not get the campaign within --wait records nothing and says
    so (run it again, not ``perturbo stop``); the trial it was handed stays open, and telling
    it again once the other step is done records it."""
    uri = f"sqlite:///{tmp_path / 'm.db'}"
    _start(tmp_path, uri, trials=4)
    capsys.readouterr()
    claim = _step_claim(uri)
    try:
        assert main(["tell", "W", "t0000", "0.5", "--wait", "1", "--tracking-uri", uri]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and err.startswith("perturbo: error: "), err
        assert "another `perturbo ask`/`tell` holds it" in err and "run yours again" in err
        assert "perturbo stop" not in err
        assert main(["ask", "W", "-n", "1", "--wait", "0.5", "--tracking-uri", uri]) == 2
        assert "perturbo stop" not in capsys.readouterr().err
    finally:
        claim.release()
    assert tracking.open_store(uri).history("W").n_ran == 0  # nothing recorded
    assert _open_ids(uri) == ["t0000"]  # the worker's trial is not lost
    assert main(["tell", "W", "t0000", "0.5", "--tracking-uri", uri]) == 0
    assert [o.spec.id for o in tracking.open_store(uri).history("W")] == ["t0000"]


def test_a_driver_holding_the_campaign_is_refused_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A driver (``perturbo run``/``resume``) holds a campaign as long as it runs: no wait,
    its own line (wait for it to end, or stop it)."""
    from perturbo.launch_checks import claim_to_resume

    uri = f"sqlite:///{tmp_path / 'm.db'}"
    _start(tmp_path, uri, trials=4)
    capsys.readouterr()
    claim = claim_to_resume(tracking.open_store(uri), "W")  # a driver's claim
    try:
        t0 = time.monotonic()
        assert main(["tell", "W", "t0000", "0.5", "--tracking-uri", uri]) == 2
        assert time.monotonic() - t0 < 10  # not the 30 s a step is waited for
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "another driver holds it" in err, err
    finally:
        claim.release()
    assert _open_ids(uri) == ["t0000"]
