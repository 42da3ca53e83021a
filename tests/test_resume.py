"""`perturbo resume`: a campaign stopped midway (by its stop rule, by Ctrl-C in the middle of
a round, by a store that refused a write) finishes with no experiment lost and none repeated."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from stores import *  # noqa: F403

import perturbo.actors
from perturbo import tracking
from perturbo.actors.local_pool import LocalExecutorPool
from perturbo.cli import main

BASE = ["--planner", "random", "--batch", "16", "--local", "--no-progress"]


def _genes(history: Any) -> list[str]:
    return [o.spec.params["gene"] for o in history]


def _assert_complete(history: Any, rounds: int, batch: int = 16) -> None:
    """Every round once, each with a full batch, and no gene tested twice."""
    assert [o.spec.round for o in history] == [r for r in range(rounds) for _ in range(batch)]
    genes = _genes(history)
    assert len(genes) == len(set(genes)) == rounds * batch
    assert all(o.outcome.ok for o in history)


def _status(store: str, name: str) -> str:
    from mlflow import MlflowClient

    c = MlflowClient(store)
    exp = c.get_experiment_by_name(name)
    [parent] = c.search_runs([exp.experiment_id], "tags.`perturbo.role` = 'campaign'")
    return parent.info.status


def test_stop_after_two_rounds_then_resume_to_four(
    store: str, screen_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(
        [
            "run",
            "genetic",
            "--screen",
            str(screen_csv),
            "--rounds",
            "2",
            *BASE,
            "--tracking-uri",
            store,
            "--name",
            "halves",
        ]
    )
    assert rc == 0, capsys.readouterr().err
    _, first = tracking.load_history(store, "halves")
    _assert_complete(first, 2)

    capsys.readouterr()
    rc = main(["resume", "halves", "--tracking-uri", store, "--local"])  # done: says so
    assert rc == 2 and "is finished" in capsys.readouterr().err
    _, same = tracking.load_history(store, "halves")
    assert [o.to_dict() for o in same] == [o.to_dict() for o in first]

    rc = main(
        ["resume", "halves", "--rounds", "4", "--tracking-uri", store, "--local", "--no-progress"]
    )
    assert rc == 0, capsys.readouterr().err
    config, final = tracking.load_history(store, "halves")
    assert config["rounds"] == 4  # the next resume continues to 4, not back to 2
    _assert_complete(final, 4)
    assert [o.to_dict() for o in final[:32]] == [o.to_dict() for o in first]
    assert _status(store, "halves") == "FINISHED"
    [summary] = tracking.list_campaigns(store)
    assert summary.rounds == 4


class _CtrlCInRound3(LocalExecutorPool):
    """Presses Ctrl-C while the third round's experiments are running."""

    def __init__(self, *a: Any, **kw: Any) -> None:
        super().__init__(*a, **kw)
        self.submits = 0

    def submit(self, specs: Any) -> None:
        self.submits += 1
        super().submit(specs)

    def wait(self, timeout_s: float) -> Any:
        if self.submits == 3:
            raise KeyboardInterrupt
        return super().wait(timeout_s)


def test_ctrl_c_midway_keeps_recorded_rounds_and_resume_finishes(
    store: str,
    screen_csv: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(perturbo.actors, "LocalExecutorPool", _CtrlCInRound3)
    rc = main(
        [
            "run",
            "genetic",
            "--screen",
            str(screen_csv),
            "--rounds",
            "4",
            *BASE,
            "--tracking-uri",
            store,
            "--name",
            "ctrl-c",
        ]
    )
    err = capsys.readouterr().err
    assert rc == 130
    assert "perturbo resume ctrl-c" in err and "Traceback" not in err
    assert _status(store, "ctrl-c") == "KILLED"
    _, before = tracking.load_history(store, "ctrl-c")
    _assert_complete(before, 2)

    monkeypatch.undo()
    rc = main(["resume", "ctrl-c", "--tracking-uri", store, "--local", "--no-progress"])
    assert rc == 0, capsys.readouterr().err
    _, final = tracking.load_history(store, "ctrl-c")
    _assert_complete(final, 4)
    assert [o.to_dict() for o in final[:32]] == [o.to_dict() for o in before]
    assert _status(store, "ctrl-c") == "FINISHED"


def test_store_failure_midway_spools_the_round_and_resume_uploads_it(
    store: str,
    screen_csv: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    real = tracking.MlflowRecorder._write_round

    def fail_round_1(self: Any, round: int, *a: Any) -> None:
        if round == 1:
            raise ConnectionError("tracking server went away")
        real(self, round, *a)

    monkeypatch.setattr(tracking.MlflowRecorder, "_write_round", fail_round_1)
    monkeypatch.setenv("PERTURBO_STORE_WAIT_S", "1")  # it stays down: give up at the end
    rc = main(
        [
            "run",
            "genetic",
            "--screen",
            str(screen_csv),
            "--rounds",
            "3",
            *BASE,
            "--tracking-uri",
            store,
            "--name",
            "flaky",
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err
    assert "refused round 2" in err and "the campaign goes on" in err, err  # rounds 1..N
    assert "is still down" in err and "perturbo resume flaky" in err, err
    spool = Path(store[len("sqlite:///") :]).parent / "perturbo-unsent"
    [spooled] = list(spool.rglob("round-001.json"))
    assert list(spool.rglob("round-002.json")), "the rounds after it ran, and wait behind it"
    ran_in_round_1 = [
        o["spec"]["params"]["gene"] for o in json.loads(spooled.read_text())["observations"]
    ]
    assert len(ran_in_round_1) == 16

    monkeypatch.undo()
    rc = main(["resume", "flaky", "--tracking-uri", store, "--local", "--no-progress"])
    assert rc == 0, capsys.readouterr().err
    assert not spooled.exists()
    _, final = tracking.load_history(store, "flaky")
    _assert_complete(final, 3)
    assert _genes(final.by_round(1)) == ran_in_round_1  # uploaded, not run again


def test_real_sigint_to_the_cli_then_resume(tmp_path: Path, store: str) -> None:
    """Ctrl-C as a user sends it (SIGINT to `perturbo run`), at whatever point it lands."""
    import signal
    import subprocess
    import sys

    from stores import make_screen_csv

    csv = make_screen_csv(tmp_path / "long.csv", n=2000)
    cmd = [
        sys.executable,
        "-m",
        "perturbo.cli",
        "run",
        "genetic",
        "--screen",
        str(csv),
        "--rounds",
        "100",
        *BASE[:-1],  # with the progress display: its lines tell when a round is done
        "--tracking-uri",
        store,
        "--name",
        "sigint",
    ]
    from stores import sigint_as_a_terminal_sends_it

    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                            preexec_fn=sigint_as_a_terminal_sends_it)  # fmt: skip
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if line.startswith(("round 3:", "round 3 (")):  # the progress line of round 3
            proc.send_signal(signal.SIGINT)
            break
    rest = proc.stderr.read()
    rc = proc.wait(timeout=60)
    assert rc == 130, "".join(seen) + rest
    assert "perturbo resume sigint" in rest and "Traceback" not in rest
    _, before = tracking.load_history(store, "sigint")
    n = before.last_round + 1
    assert 3 <= n < 100
    _assert_complete(before, n)

    rc = main(
        [
            "resume",
            "sigint",
            "--rounds",
            str(n + 2),
            "--tracking-uri",
            store,
            "--local",
            "--no-progress",
        ]
    )
    assert rc == 0
    _, final = tracking.load_history(store, "sigint")
    _assert_complete(final, n + 2)
    assert [o.to_dict() for o in final[: len(before)]] == [o.to_dict() for o in before]
