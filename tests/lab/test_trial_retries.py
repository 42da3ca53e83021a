"""A trial that kills every worker it is handed to is not handed out for ever (Optuna's
``RetryFailedTrialCallback(max_retry=...)``): ``perturbo ask NAME --stale-after 2h
[--max-retries N]`` / ``ask(stale_after=, max_retries=)`` hands a stale trial out again at most
N times (default 3); stale once more, that ask records it failed, with a reason that says so,
and -- as any failed trial -- it counts against ``--trials``. Recorded under the ask's hold on
the campaign, so several asking processes fail a trial once. The clock is faked through
``now``, never by sleeping hours."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from perturbo import tracking
from perturbo.cli import main
from perturbo.types import PerturboError, Status

HOUR = 3600.0
SPACE = '[x]\ntype = "float"\nlow = 0.0\nhigh = 1.0\n'


def _kind_of(name: str):
    from perturbo import kinds

    return kinds.get(name)


def _start(tmp: Path, uri: str, trials: int = 4, batch: int = 1) -> None:
    space = tmp / "space.toml"
    space.write_text(SPACE)
    args = ["run", "hyperparameter", "--lab", "--space", str(space), "--objective", "loss",
            "--direction", "min", "--planner", "random", "--batch", str(batch), "--trials",
            str(trials), "--seed", "1", "--name", "R", "--tracking-uri", uri]  # fmt: skip
    assert main(args) == 0


def _ids(specs) -> list[str]:
    return [s.id for s in specs]


def test_a_stale_trial_handed_out_max_retries_times_is_recorded_failed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from perturbo.lab import trials

    uri = f"sqlite:///{tmp_path / 'm.db'}"
    _start(tmp_path, uri)  # t0000 handed out (its worker dies, and every one after it)
    capsys.readouterr()
    t = time.time()
    for k in range(1, 3):  # handed out again twice: --max-retries 2
        t += 3 * HOUR
        step = trials.ask(_kind_of, uri, "R", 1, stale_after=2 * HOUR, now=t, max_retries=2)
        assert _ids(step.reissued) == ["t0000"], (k, step.lines)
    t += 3 * HOUR
    step = trials.ask(_kind_of, uri, "R", 1, stale_after=2 * HOUR, now=t, max_retries=2)
    assert step.reissued == [] and _ids(step.asked) == ["t0001"]  # a new trial instead
    assert any("recorded failed" in ln and "t0000 (handed out 3 times)" in ln for ln in step.lines)
    history = tracking.open_store(uri).history("R")
    [o] = list(history)
    assert o.spec.id == "t0000" and o.outcome.status is Status.FAILED
    assert "handed out 3 times and never told" in o.outcome.error, o.outcome.error
    assert "--max-retries 2" in o.outcome.error
    # a failed trial counts against --trials, as a `tell --failed` one: 3 slots left, not 4
    trials.ask(_kind_of, uri, "R", 2, now=t)
    with pytest.raises(PerturboError, match="asked all of its 4 trials"):
        trials.ask(_kind_of, uri, "R", 1, now=t)
    # its first worker comes back after all: refused, as any second tell
    assert main(["tell", "R", "t0000", "0.5", "--tracking-uri", uri]) == 2
    err = capsys.readouterr().err
    assert "already told (failed: handed out 3 times and never told" in err, err


def test_the_default_is_three_retries_and_a_last_failure_finishes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from perturbo.lab import trials

    uri = f"sqlite:///{tmp_path / 'm.db'}"
    _start(tmp_path, uri, trials=1)
    capsys.readouterr()
    t = time.time()
    for _ in range(3):
        t += 3 * HOUR
        step = trials.ask(_kind_of, uri, "R", 1, stale_after=2 * HOUR, now=t)
        assert _ids(step.asked) == ["t0000"], step.lines
    t += 3 * HOUR  # handed out 4 times: the budget's only trial fails, the campaign finishes
    step = trials.ask(_kind_of, uri, "R", 1, stale_after=2 * HOUR, now=t)
    assert step.finished and step.asked == [], step.lines
    assert "finished" in step.lines[-1]
    [o] = list(tracking.open_store(uri).history("R"))
    assert o.outcome.status is Status.FAILED and "handed out 4 times" in o.outcome.error
    assert tracking.open_store(uri).summary("R").status == "FINISHED"


def test_max_retries_is_checked_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import perturbo

    uri = f"sqlite:///{tmp_path / 'm.db'}"
    _start(tmp_path, uri)
    capsys.readouterr()
    for args in (["--stale-after", "2h", "--max-retries", "-1"], ["--max-retries", "2"]):
        assert main(["ask", "R", *args, "--tracking-uri", uri]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "--max-retries" in err, err
    study = perturbo.open_campaign("R", tracking_uri=uri)
    with pytest.raises(PerturboError, match="max_retries=2 without stale_after="):
        study.ask(1, max_retries=2)
    with pytest.raises(PerturboError, match="max_retries=-1"):
        study.ask(1, stale_after="2h", max_retries=-1)
    with pytest.raises(SystemExit):
        main(["ask", "--help"])
    assert "--max-retries" in capsys.readouterr().out


WORKER = textwrap.dedent(
    """
    import json, sys
    import perturbo
    study = perturbo.open_campaign(sys.argv[1], tracking_uri=sys.argv[2])
    got = [t["trial_id"] for t in study.ask(1, stale_after="1s", max_retries=0)]
    print(json.dumps({"got": got, "lines": study.lines}))
    """
)


def test_askers_in_several_processes_fail_a_worn_out_trial_once(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'm.db'}"
    _start(tmp_path, uri, trials=6)
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    time.sleep(1.2)  # t0000 stale; --max-retries 0: the first asker records it failed
    cmd = [sys.executable, str(script), "R", uri]
    procs = [
        subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]  # fmt: skip
    outs = [p.communicate(timeout=280) for p in procs]
    assert all(p.returncode == 0 for p in procs), [e[-2000:] for _, e in outs]
    got = [t for o, _ in outs for t in json.loads(o.strip().splitlines()[-1])["got"]]
    assert len(got) == 3 and len(set(got)) == 3 and "t0000" not in got, got
    history = tracking.open_store(uri).history("R")
    failed = [o.spec.id for o in history]
    assert "t0000" in failed and len(set(failed)) == len(failed), failed  # each failed once
    assert all(o.outcome.status is Status.FAILED for o in history)
    # (a trial one asker got may be failed by a later one: a step takes longer than 1 s here)


def test_the_budget_spent_message_says_a_failed_tell_frees_no_slot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Its hint was "`tell --failed ID` drops one", but a failed trial counts against
    ``--trials`` as any told one: telling it failed frees no slot for a new trial."""
    uri = f"sqlite:///{tmp_path / 'm.db'}"
    _start(tmp_path, uri, trials=2, batch=2)  # t0000, t0001 handed out: the budget is spent
    assert main(["tell", "R", "--failed", "t0000", "--tracking-uri", uri]) == 0
    capsys.readouterr()
    assert main(["ask", "R", "-n", "1", "--tracking-uri", uri]) == 2  # still none to hand out
    err = " ".join(capsys.readouterr().err.split())
    assert "asked all of its 2 trials (1 open: tell each its value" in err, err
    assert "drops one" not in err and "counts against the 2, so it frees no slot" in err, err
    assert "`perturbo ask R --stale-after 2h` hands out again" in err, err
    assert main(["tell", "R", "--failed", "t0001", "--tracking-uri", uri]) == 0
    assert "campaign 'R' finished" in capsys.readouterr().err  # all told: the campaign ends
