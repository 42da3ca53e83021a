"""A campaign run as a submitted Ray job's driver (``ray job submit -- perturbo run ...``).

- The default store would be a sqlite file in the job's working directory, Ray's cache of the
  uploaded files (deleted with the cache or the head): refused in one line before anything
  runs, naming the fix (defect: data at risk).
- The driver records the job's submission id; ``perturbo status --address`` matches jobs to
  campaigns on it, never on Ray's job id (``06000000``), which restarts with every head.
- ``perturbo stop --wait`` of a campaign that finished its last round first stopped nothing:
  exit 1, so ``stop X --wait && resume X`` does not run a resume that fails.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from perturbo.actors.jobs import JobRow
from perturbo.config import RunOptions, environment, job_store_refusal
from perturbo.types import PerturboError

JOB_ENV = "RAY_JOB_CONFIG_JSON_ENV_VAR"


def _as_job(monkeypatch: pytest.MonkeyPatch, sid: str = "raysubmit_abc123", wd: bool = True):
    runtime_env = {"working_dir": "gcs://_ray_pkg_0123.zip"} if wd else {}
    meta = {"job_submission_id": sid, "job_name": sid}
    monkeypatch.setenv(JOB_ENV, json.dumps({"runtime_env": runtime_env, "metadata": meta}))


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv(JOB_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_environment_reads_the_submission_id(clean_env: Path, monkeypatch: pytest.MonkeyPatch):
    assert environment().ray_job_submission_id is None
    _as_job(monkeypatch)
    assert environment().ray_job_submission_id == "raysubmit_abc123"


def test_default_store_in_a_ray_job_is_refused(clean_env: Path, monkeypatch: pytest.MonkeyPatch):
    assert RunOptions().resolved_tracking_uri().endswith("/mlflow.db")  # not a job: the default
    _as_job(monkeypatch)
    with pytest.raises(PerturboError) as e:
        RunOptions().resolved_tracking_uri()
    msg = str(e.value)
    assert "\n" not in msg and "raysubmit_abc123" in msg and "working directory" in msg, msg
    assert "--tracking-uri" in msg and "MLFLOW_TRACKING_URI" in msg, msg
    assert "--runtime-env-json" in msg, msg


def test_a_store_outside_the_working_dir_is_kept(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
):
    _as_job(monkeypatch)
    other = tmp_path_factory.mktemp("elsewhere") / "runs.db"
    assert RunOptions(tracking_uri="http://mlflow:5000").resolved_tracking_uri().startswith("http")
    assert RunOptions(tracking_uri=f"sqlite:///{other}").resolved_tracking_uri().endswith("runs.db")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow:5000")
    assert RunOptions().resolved_tracking_uri() == "http://mlflow:5000"


def test_a_relative_sqlite_store_in_the_working_dir_is_refused(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
):
    env_job = {
        "runtime_env": {"working_dir": "gcs://x.zip"},
        "metadata": {"job_submission_id": "s"},
    }
    monkeypatch.setenv(JOB_ENV, json.dumps(env_job))
    why = job_store_refusal("sqlite:///mlflow.db", environment(), clean_env)
    assert why and "inside the job's working directory" in why
    assert job_store_refusal(f"sqlite:///{clean_env}/sub/x.db", environment(), clean_env)
    # a job without an uploaded working dir runs where Ray started it: a path given is kept
    monkeypatch.setenv(JOB_ENV, json.dumps({"metadata": {"job_submission_id": "s"}}))
    assert job_store_refusal("sqlite:///mlflow.db", environment(), clean_env) is None
    assert job_store_refusal(None, environment(), clean_env)  # the default never is


def test_cli_run_in_a_job_refuses_before_anything_runs(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    from perturbo.cli import main

    _as_job(monkeypatch)
    rc = main(["run", "hyperparameter", "--task", "branin", "--trials", "2", "--local"])
    out, err = capsys.readouterr()
    assert rc == 2, out + err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Ray job raysubmit_abc123" in lines[0], err
    assert not (clean_env / "mlflow.db").exists(), "nothing was recorded in the job's dir"


def test_the_driver_records_its_submission_id(clean_env: Path, monkeypatch: pytest.MonkeyPatch):
    from perturbo.tracking.heartbeat import DRIVER_TAG, driver_tags

    assert "ray_submission" not in json.loads(driver_tags("01000000")[DRIVER_TAG])
    _as_job(monkeypatch, "raysubmit_xyz")
    driver = json.loads(driver_tags("06000000")[DRIVER_TAG])
    assert driver["ray_submission"] == "raysubmit_xyz" and driver["ray_job"] == "06000000"


def _row(name: str, ray_job: str, sub: str = "") -> dict[str, str]:
    return {"campaign": name, "ray_job": ray_job, "ray_submission": sub}


def test_jobs_match_campaigns_by_submission_id_never_by_ray_job_id():
    from perturbo.status import job_campaigns

    jobs = [  # a new head: Ray's job ids restarted, so the old campaign's id recurs
        JobRow("raysubmit_new", "01000000", "RUNNING", "perturbo run hyperparameter", 2.0),
        JobRow("raysubmit_gone", "02000000", "SUCCEEDED", "perturbo run attack", 1.0),
    ]
    rows = [
        _row("old-store-campaign", "01000000"),  # recorded before the submission id: no match
        _row("this-head", "01000000", "raysubmit_new"),
        _row("elsewhere", "02000000", "raysubmit_other_cluster"),
    ]
    assert job_campaigns(rows, jobs) == {"raysubmit_new": "this-head"}
    assert job_campaigns(rows[:1], jobs) == {}, "the old tag alone is not guessed at"


def test_stop_wait_of_a_campaign_that_finished_first_exits_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    import perturbo.show as show
    import perturbo.tracking as tracking
    import perturbo.tracking.control as control
    from perturbo.status import stop

    states = iter(["running", "finished"])

    class State:
        def __init__(self, state: str) -> None:
            self.state, self.detail = state, ""

    monkeypatch.setattr(show, "_uri", lambda u: "sqlite:///x.db")
    monkeypatch.setattr(show, "check_store", lambda store, default: None)
    monkeypatch.setattr(show, "resolve", lambda store, name: name)
    monkeypatch.setattr(tracking, "open_store", lambda uri: object())
    monkeypatch.setattr(control, "live", lambda store, name: State(next(states)))
    monkeypatch.setattr(control, "request_stop", lambda store, name: None)
    rc = stop("done-first", None, wait_s=5)
    out, err = capsys.readouterr()
    assert rc == 1, out + err
    assert "finished its last round before it saw the stop: FINISHED, nothing left" in err
