"""Trials left open by a dead worker (Optuna's heartbeat + ``fail_stale_trials`` with
``RetryFailedTrialCallback``): ``perturbo ask NAME --stale-after 2h`` / ``ask(n, stale_after=)``
hands a trial open longer than that to the asker again -- the same trial id and params, before
the planner is asked for new ones -- and a late tell from its first worker still counts (the
first tell wins; a second is refused as any second tell). Without ``--stale-after`` nothing
changes. The clock is faked through ``now``, never by sleeping hours."""

from __future__ import annotations

import json
import re
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


def _start(tmp: Path, uri: str, trials: int = 4, batch: int = 2) -> list[dict]:
    space = tmp / "space.toml"
    space.write_text(SPACE)
    args = ["run", "hyperparameter", "--lab", "--space", str(space), "--objective", "loss",
            "--direction", "min", "--planner", "random", "--batch", str(batch), "--trials",
            str(trials), "--seed", "1", "--name", "S", "--tracking-uri", uri]  # fmt: skip
    assert main(args) == 0
    return args


def _ids(specs) -> list[str]:
    return [s.id for s in specs]


def _asks(uri: str) -> int:
    """How many times the planner was asked (the ask log's length)."""
    from perturbo.lab.stored import lab_run
    from perturbo.lab.trials import _read_state

    store = tracking.open_store(uri)
    run_id, _ = lab_run(store, "S")
    return len(_read_state(store.client, run_id, store.history("S")).asks)


def test_a_dead_workers_trial_goes_to_the_next_asker_once_stale(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from perturbo.lab import trials

    uri = f"sqlite:///{tmp_path / 'm.db'}"
    _start(tmp_path, uri)
    first = json.loads(capsys.readouterr().out)  # t0000 (worker A, dies), t0001 (worker B, dies)
    later = time.time() + 3 * HOUR
    # the default is unchanged: without stale_after a dead worker's trial stays open
    step = trials.ask(_kind_of, uri, "S", 1, now=later)
    assert _ids(step.asked) == ["t0002"] and _ids(step.open) == ["t0000", "t0001", "t0002"]
    asks = _asks(uri)
    # open longer than 2h: handed out again, oldest first, same id and params, no planner call
    step = trials.ask(_kind_of, uri, "S", 1, stale_after=2 * HOUR, now=later)
    assert _ids(step.asked) == ["t0000"] and step.asked[0].params == first[0]["params"]
    assert _ids(step.reissued) == ["t0000"]
    assert any("t0000" in ln and "again" in ln for ln in step.lines), step.lines
    step = trials.ask(_kind_of, uri, "S", 1, stale_after=2 * HOUR, now=later)
    assert _ids(step.asked) == ["t0001"]  # another asker: the next stale one, not t0000 again
    assert _asks(uri) == asks  # the planner was not asked
    # none stale any more (t0002 handed out at `later`, t0000/t0001 again at `later`): a new one,
    # the open ones (re-handed included) its pending
    step = trials.ask(_kind_of, uri, "S", 1, stale_after=2 * HOUR, now=later + 60)
    assert _ids(step.asked) == ["t0003"] and _asks(uri) == asks + 1
    # the whole budget is handed out: the default refuses, stale_after hands the oldest again
    with pytest.raises(PerturboError, match="--stale-after"):
        trials.ask(_kind_of, uri, "S", 1, now=later + 3 * HOUR)
    step = trials.ask(_kind_of, uri, "S", 2, stale_after=2 * HOUR, now=later + 3 * HOUR)
    assert _ids(step.asked) == ["t0000", "t0001"]
    # the first worker comes back late: its tell counts; the second tell of t0000 is refused
    assert main(["tell", "S", "t0000", "0.25", "--tracking-uri", uri]) == 0
    assert main(["tell", "S", "t0000", "0.5", "--tracking-uri", uri]) == 2
    assert "already told (value 0.25)" in capsys.readouterr().err
    history = tracking.open_store(uri).history("S")
    assert [(o.spec.id, o.outcome.metrics["loss"]) for o in history] == [("t0000", 0.25)]
    for t in ("t0001", "t0002", "t0003"):
        assert main(["tell", "S", t, "0.5", "--tracking-uri", uri]) == 0
    history = tracking.open_store(uri).history("S")
    assert history.n_ran == 4 and all(o.outcome.status is Status.COMPLETED for o in history)
    assert tracking.open_store(uri).summary("S").status == "FINISHED"


def test_open_trials_are_listed_with_their_age(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import perturbo
    from perturbo.lab import trials

    uri = f"sqlite:///{tmp_path / 'm.db'}"
    _start(tmp_path, uri)
    capsys.readouterr()
    step = trials.ask(_kind_of, uri, "S", None, now=time.time() + 7500)  # 2h 05m later
    assert step.asked == [] and _ids(step.open) == ["t0000", "t0001"]
    assert any("t0000 open 2h 05m" in ln and "t0001 open 2h 05m" in ln for ln in step.lines)
    assert main(["ask", "S", "--tracking-uri", uri]) == 0  # the CLI's listing says the ages
    assert re.search(r"t0000 open \d+s", capsys.readouterr().err)
    rows = perturbo.open_campaign("S", tracking_uri=uri).open()
    assert [r["trial_id"] for r in rows] == ["t0000", "t0001"]
    assert all(0 <= r["age_s"] < 600 for r in rows)


def test_the_cli_hands_a_stale_trial_out_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    uri = f"sqlite:///{tmp_path / 'm.db'}"
    _start(tmp_path, uri)
    first = json.loads(capsys.readouterr().out)
    assert main(["ask", "S", "--stale-after", "2h", "--tracking-uri", uri]) == 0  # none stale
    assert [t["trial_id"] for t in json.loads(capsys.readouterr().out)] == ["t0002"]  # one
    time.sleep(1.2)
    assert main(["ask", "S", "-n", "1", "--stale-after", "1s", "--tracking-uri", uri]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out) == first[:1] and "again" in out.err


@pytest.mark.parametrize("bad", ["2x", "-5m", "0", "soon", "h"])
def test_a_bad_stale_after_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bad: str
) -> None:
    uri = f"sqlite:///{tmp_path / 'm.db'}"
    _start(tmp_path, uri)
    capsys.readouterr()
    assert main(["ask", "S", f"--stale-after={bad}", "--tracking-uri", uri]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert f"--stale-after {bad}" in err and "2h" in err, err
    with pytest.raises(PerturboError, match="stale_after"):
        perturbo_ask(uri, bad)


def perturbo_ask(uri: str, stale_after: str) -> None:
    import perturbo

    perturbo.open_campaign("S", tracking_uri=uri).ask(1, stale_after=stale_after)


def test_help_teaches_stale_after(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["ask", "--help"])
    out = capsys.readouterr().out
    assert "--stale-after" in out and "2h" in out


def test_show_lists_each_open_trial_with_its_age(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``perturbo show`` names every open trial and its age, oldest first (which worker died
    shows in the ages), not only the oldest; ten lines at most, then how many more."""
    from perturbo.lab import trials

    uri = f"sqlite:///{tmp_path / 'm.db'}"
    _start(tmp_path, uri, trials=20, batch=12)  # t0000..t0011 handed out now
    trials.ask(_kind_of, uri, "S", 1, now=time.time() - 2 * HOUR - 30)  # t0012, 2h ago
    capsys.readouterr()
    assert main(["show", "S", "--tracking-uri", uri]) == 0
    out = capsys.readouterr().out
    listed = re.findall(r"^\s+(t\d{4})  open (.+)$", out, re.MULTILINE)
    assert [t for t, _ in listed] == ["t0012", *(f"t{i:04d}" for i in range(9))], out
    assert listed[0][1].startswith("2h 00m") and listed[1][1].endswith("s"), listed
    assert re.search(r"^\s+and 3 more \(`perturbo ask S` lists them all\)$", out, re.MULTILINE)
