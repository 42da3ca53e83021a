"""Hyperparameter trials trained elsewhere: ``perturbo run hyperparameter --lab``, then
``perturbo ask`` / ``perturbo tell`` (Optuna's ask/tell CLI), planner state rebuilt from the
store at every step.

What the parity tests compare, exactly:

- ``test_scripted_lab_*`` (a child process per command, bo): a lab that tells each batch whole
  (a results file) and then asks for the next batch of the same size makes the planner calls
  of the in-process synchronous campaign (``Campaign(fn, ...).run()``, rounds of ``batch``):
  ``ask(batch, pending=[])``, ``tell(batch)``, ... So the trials' params, in proposal order,
  and the best value equal the in-process campaign's with the same seed and planner.
- ``test_trial_by_trial_*`` (random and bo, in-process ``main``, each call rebuilt from the
  store): a lab that tells one trial at a time and asks ``-n 1`` for its replacement has no
  in-process loop that makes the same calls in the same order (the asynchronous loop's
  order depends on which worker finishes first), so the reference is the planner itself
  driven with the same calls: ``ask(2)``, ``tell([t0])``, ``ask(1, pending=[t1])``, ...
  The params asked equal, which also shows the open trials reach the planner as pending.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from perturbo import tracking
from perturbo.cli import main
from perturbo.types import Observation, Outcome, Status
from tests.lab.loop_helpers import cli

SPACE = """\
[x]
type = "float"
low = -2.0
high = 2.0

[y]
type = "float"
low = -1.0
high = 3.0
"""


def loss(params: dict) -> float:
    """The trial's value, as someone's cluster would measure it (minimised)."""
    return (params["x"] - 0.3) ** 2 + (params["y"] - 1.2) ** 2


def _space(tmp: Path) -> Path:
    p = tmp / "space.toml"
    p.write_text(SPACE)
    return p


def _start(tmp: Path, uri: str, planner: str, batch: int, trials: int, name: str = "H"):
    return [
        "run", "hyperparameter", "--lab", "--space", str(_space(tmp)), "--objective", "loss",
        "--direction", "min", "--planner", planner, "--batch", str(batch), "--trials",
        str(trials), "--seed", "3", "--name", name, "--tracking-uri", uri,
    ]  # fmt: skip


def _in_process(tmp: Path, planner: str, batch: int, trials: int) -> list[dict]:
    from perturbo.kinds.hyperparameter.api import Campaign
    from perturbo.space import SearchSpace

    space = SearchSpace.from_toml(_space(tmp))
    c = Campaign(loss, space=space, planner=planner, trials=trials, batch=batch, seed=3,
                 objective="loss", direction="min")  # fmt: skip
    ran = c.run()
    return [dict(o.spec.params) for o in ran.history], ran.best_value


def _close(a: list[dict], b: list[dict]) -> bool:
    return len(a) == len(b) and all(
        set(p) == set(q) and all(math.isclose(p[k], q[k], rel_tol=1e-9) for k in p)
        for p, q in zip(a, b, strict=True)
    )


def test_scripted_lab_through_the_cli_matches_the_in_process_campaign(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'm.db'}"
    store = ["--tracking-uri", uri]
    r = cli(*_start(tmp_path, uri, "bo", batch=2, trials=4), cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.stderr
    trials = json.loads(r.stdout)  # the first batch, as `run --lab` printed it
    assert [t["trial_id"] for t in trials] == ["t0000", "t0001"]
    proposed = []
    for k in range(2):
        proposed += [t["params"] for t in trials]
        rows = [f"{t['trial_id']},{loss(t['params'])!r}" for t in reversed(trials)]
        (tmp_path / f"r{k}.csv").write_text("trial_id,value\n" + "\n".join(rows) + "\n")
        r = cli("tell", "H", str(tmp_path / f"r{k}.csv"), *store, cwd=tmp_path, timeout=300)
        assert r.returncode == 0, r.stderr
        if k == 0:
            r = cli("ask", "H", "-n", "2", "--format", "json", *store, cwd=tmp_path, timeout=300)
            assert r.returncode == 0, r.stderr
            trials = json.loads(r.stdout)
    assert "finished" in r.stderr
    r = cli("ask", "H", "-n", "1", "--format", "json", *store, cwd=tmp_path, timeout=300)
    assert r.returncode == 0 and json.loads(r.stdout) == [], (r.stdout, r.stderr)  # parseable
    expected, best = _in_process(tmp_path, "bo", batch=2, trials=4)
    assert _close(proposed, expected)
    history = tracking.open_store(uri).history("H")
    assert len(history) == 4 and all(o.outcome.status is Status.COMPLETED for o in history)
    assert min(o.outcome.metrics["loss"] for o in history) == pytest.approx(best)
    s = tracking.open_store(uri).summary("H")
    assert s.status == "FINISHED"


def _reference(planner_name: str, tmp: Path, told: list[int], n_first: int) -> list[dict]:
    """The planner driven directly: ask(n_first), then per told trial tell it and ask(1) with
    the open trials pending."""
    from perturbo.kinds.hyperparameter.compose import make_planner
    from perturbo.space import SearchSpace
    from perturbo.types import ExperimentSpec

    space = SearchSpace.from_toml(_space(tmp))
    planner = make_planner(planner_name, space, 3, ("loss",), ("min",), {})
    open_ = [ExperimentSpec(space.validate(s.params)) for s in planner.ask(n_first, pending=[])]
    asked = [dict(s.params) for s in open_]
    for _ in told:
        done = open_.pop(0)
        planner.tell([Observation(done, Outcome(Status.COMPLETED, {"loss": loss(done.params)}))])
        new = [ExperimentSpec(space.validate(s.params)) for s in planner.ask(1, pending=open_)]
        open_ += new
        asked += [dict(s.params) for s in new]
    return asked


@pytest.mark.parametrize("planner", ["random", "bo"])
def test_trial_by_trial_asks_give_the_planner_the_open_trials_as_pending(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], planner: str
) -> None:
    uri = f"sqlite:///{tmp_path / 'm.db'}"
    store = ["--tracking-uri", uri]
    # bo's first 5 trials (n_init for 2 dims) are Sobol points; the 6th on fit a GP with
    # the open trial as X_pending
    assert main(_start(tmp_path, uri, planner, batch=2, trials=8)) == 0
    asked = json.loads(capsys.readouterr().out)
    for k in range(6):
        t = asked[k]
        assert main(["tell", "H", str(t["number"]), repr(loss(t["params"])), *store]) == 0
        assert main(["ask", "H", "-n", "1", "--format", "json", *store]) == 0
        asked += json.loads(capsys.readouterr().out)
    assert [t["trial_id"] for t in asked] == [f"t{i:04d}" for i in range(8)]
    expected = _reference(planner, tmp_path, told=list(range(6)), n_first=2)
    assert _close([t["params"] for t in asked], expected)


@pytest.fixture
def campaign(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    uri = f"sqlite:///{tmp_path / 'm.db'}"
    assert main(_start(tmp_path, uri, "random", batch=3, trials=9)) == 0
    capsys.readouterr()
    assert main(["tell", "H", "t0000", "0.5", "--tracking-uri", uri]) == 0
    capsys.readouterr()
    return uri


def _refused(capsys, uri: str, *args: str, words: tuple[str, ...], name: str = "H") -> None:
    before = len(tracking.open_store(uri).history(name))
    assert main([*args, "--tracking-uri", uri]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for w in words:
        assert w in err, err
    assert len(tracking.open_store(uri).history(name)) == before  # nothing recorded


def test_bad_input_is_one_line_exit_2_and_nothing_recorded(
    campaign: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    uri = campaign
    _refused(capsys, uri, "tell", "H", "t0099", "1.0", words=("no open trial 't0099'", "t0001"))
    _refused(capsys, uri, "tell", "H", "t0001", "abc", words=("'abc' is not a number",))
    _refused(capsys, uri, "tell", "H", "t0000", "0.7", words=("already told", "value 0.5"))
    _refused(capsys, uri, "tell", "H", "0", "0.5", words=("already told",))  # by its number
    bad = tmp_path / "bad.csv"
    bad.write_text("trial_id,value\nt0001,0.1\nt0002,oops\n")
    _refused(capsys, uri, "tell", "H", str(bad), words=("row 3", "'oops'"))
    twice = tmp_path / "twice.csv"
    twice.write_text("trial_id,value\nt0001,0.1\nt0001,0.2\n")
    _refused(capsys, uri, "tell", "H", str(twice), words=("given twice",))
    mixed = tmp_path / "mixed.json"
    mixed.write_text(json.dumps({"t0001": 0.1, "t0000": 0.2}))  # one new, one told: neither
    _refused(capsys, uri, "tell", "H", str(mixed), words=("t0000", "already told"))
    nocol = tmp_path / "nocol.csv"
    nocol.write_text("gene,score\nA,1\n")
    _refused(capsys, uri, "tell", "H", str(nocol), words=("trial id column",))
    _refused(capsys, uri, "tell", "H", "t0001", words=("TRIAL_ID VALUE",))
    _refused(capsys, uri, "ask", "H", "-n", "0", words=("positive",))
    assert main(["ask", "H", "--format", "csv", "--tracking-uri", uri]) == 0  # the open ones
    table = capsys.readouterr().out.splitlines()
    assert table[0] == "trial_id,number,x,y" and [r[:5] for r in table[1:]] == ["t0001", "t0002"]
    # a good file after all that records exactly its trials
    good = tmp_path / "good.csv"
    good.write_text("trial,loss\n2,0.25\nt0001,0.75\n")
    assert main(["tell", "H", str(good), "--tracking-uri", uri]) == 0
    history = tracking.open_store(uri).history("H")
    assert [(o.spec.id, o.outcome.metrics["loss"]) for o in history] == [
        ("t0000", 0.5), ("t0001", 0.75), ("t0002", 0.25),
    ]  # fmt: skip


def test_failed_trials_and_a_non_lab_campaign(
    campaign: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from perturbo.kinds.hyperparameter.api import Campaign
    from perturbo.space import SearchSpace

    uri = campaign
    assert main(["tell", "H", "--failed", "t0001", "--tracking-uri", uri]) == 0
    assert "t0001 failed" in capsys.readouterr().err
    history = tracking.open_store(uri).history("H")
    assert history[-1].outcome.status is Status.FAILED
    _refused(capsys, uri, "tell", "H", "--failed", "t0001", words=("already told", "failed"))
    space = SearchSpace.from_toml(_space(tmp_path))
    Campaign(loss, space=space, planner="random", trials=2, batch=2, objective="loss",
             direction="min", tracking_uri=uri, name="plain").run()  # fmt: skip
    capsys.readouterr()
    _refused(capsys, uri, "tell", "plain", "t0000", "1.0", words=("not a lab campaign",),
             name="plain")  # fmt: skip
    _refused(capsys, uri, "ask", "plain", "-n", "1", words=("not a lab campaign",), name="plain")


def test_a_lab_campaign_needs_a_space_and_one_direction(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    uri = f"sqlite:///{tmp_path / 'm.db'}"
    args = ["run", "hyperparameter", "--lab", "--objective", "loss", "--name", "X",
            "--tracking-uri", uri]  # fmt: skip
    assert main([*args, "--direction", "min"]) == 2
    assert "--space" in capsys.readouterr().err
    assert main([*args, "--space", str(_space(tmp_path))]) == 2
    assert "--direction max|min" in capsys.readouterr().err


def test_a_tell_stopped_after_recording_loses_and_repeats_nothing(
    campaign: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed after the trial is recorded and before the ask log is written: the next step
    sees the trial told (the history is the record), hands it out no more, refuses it again."""
    import perturbo.lab.trial_record as trial_record  # how a tell records (and an ask fails)

    uri = campaign

    def killed(*a: object) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(trial_record, "write_state", killed)
        assert main(["tell", "H", "t0001", "0.125", "--tracking-uri", uri]) != 0
    capsys.readouterr()
    assert [o.spec.id for o in tracking.open_store(uri).history("H")] == ["t0000", "t0001"]
    assert main(["ask", "H", "--format", "json", "--tracking-uri", uri]) == 0
    assert [t["trial_id"] for t in json.loads(capsys.readouterr().out)] == ["t0002"]
    _refused(capsys, uri, "tell", "H", "t0001", "0.125", words=("already told",))
    assert main(["ask", "H", "-n", "1", "--tracking-uri", uri]) == 0
    assert [t["trial_id"] for t in json.loads(capsys.readouterr().out)] == ["t0003"]


def test_open_campaign_of_a_trials_campaign_asks_and_tells_like_the_cli(tmp_path: Path) -> None:
    """``perturbo.open_campaign`` of a trial-by-trial campaign gives Optuna's ask/tell in
    Python: the same trials as the CLI's ask (same planner calls), each told once, bad values
    and unknown ids refused with nothing recorded, and True when the last trial is told."""
    import perturbo
    from perturbo.api import TrialsCampaign
    from perturbo.types import PerturboError

    uri = f"sqlite:///{tmp_path / 'm.db'}"
    assert main(_start(tmp_path, uri, "random", batch=2, trials=4)) == 0
    study = perturbo.open_campaign("H", tracking_uri=uri)
    assert isinstance(study, TrialsCampaign)
    first = study.open()
    assert [t["trial_id"] for t in first] == ["t0000", "t0001"]
    assert all(t["age_s"] >= 0 for t in first)  # open() hands nothing out; ask() one new one

    with pytest.raises(PerturboError, match="not a finite number"):
        study.tell("t0000", float("nan"))
    with pytest.raises(PerturboError, match="t0042"):
        study.tell("t0042", 1.0)
    assert tracking.open_store(uri).history("H").n_ran == 0  # nothing recorded

    assert study.tell(0, loss(first[0]["params"])) is False  # number 0 = t0000
    assert [t["trial_id"] for t in study.open()] == ["t0001"]
    more = study.ask(1)
    assert [t["trial_id"] for t in more] == ["t0002"]
    assert study.tell_many({"t0001": None, "t0002": loss(more[0]["params"])}) is False
    last = study.ask(1)
    assert [t["trial_id"] for t in last] == ["t0003"]
    with pytest.raises(PerturboError, match="asked all"):
        study.ask(1)
    assert study.tell("t0003", loss(last[0]["params"])) is True  # the last one: finished
    assert study.ask(1) == [] and any("finished" in line for line in study.lines)
    hist = tracking.open_store(uri).history("H")
    assert hist.n_ran == 4 and sum(o.outcome.ok for o in hist) == 3
