"""ProcessExecutorPool: user code under ``--local`` runs in child processes, so a crash of it
(a segfault in native code, ``os._exit``) is a FAILED experiment and not a dead driver, and
a time limit really stops the experiment. And the real CLI: a ``module:function`` objective
that segfaults on one trial under ``--local`` (issue 17: exit 139, campaign left RUNNING)
now records that trial FAILED with the signal and finishes the campaign."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from perturbo.types import ExperimentSpec, Observation, Outcome, Status


class Crashy:
    """``params["do"]``: "segv" dereferences NULL, "exit" calls os._exit, "raise" raises,
    "sleep" sleeps ``s`` seconds; else returns its pid."""

    def run(self, spec: ExperimentSpec) -> Outcome:
        do = spec.params.get("do")
        if do == "segv":
            ctypes.string_at(0)  # SIGSEGV in native code
        if do == "exit":
            os._exit(3)
        if do == "raise":
            raise ValueError("bad config")
        if do == "sleep":
            time.sleep(float(spec.params["s"]))
        return Outcome(Status.COMPLETED, {"pid": float(os.getpid())})


def _spec(i: int, **params: object) -> ExperimentSpec:
    return ExperimentSpec({"i": i, **params}, "hyperparameter", id=f"e{i}")


def _collect(pool: object, n: int, timeout_s: float = 120) -> dict[str, Outcome]:
    out: list[Observation] = []
    deadline = time.monotonic() + timeout_s
    while len(out) < n and time.monotonic() < deadline:
        out += pool.wait(timeout_s=1.0)  # type: ignore[attr-defined]
    ids = [o.spec.id for o in out]
    assert len(ids) == len(set(ids)), "an experiment was reported twice"
    return {o.spec.id: o.outcome for o in out}


def test_a_crash_is_a_failed_experiment_and_the_pool_goes_on() -> None:
    from perturbo.actors.process_pool import ProcessExecutorPool

    specs = [_spec(0), _spec(1, do="segv"), _spec(2), _spec(3, do="exit"), _spec(4, do="raise"),
             _spec(5)]  # fmt: skip
    with ProcessExecutorPool(Crashy, n_workers=2) as pool:
        pool.submit(specs)
        obs = _collect(pool, len(specs))
        assert sorted(obs) == [s.id for s in specs]
        assert obs["e1"].status is Status.FAILED and "SIGSEGV" in obs["e1"].error
        assert obs["e3"].status is Status.FAILED and "exit status 3" in obs["e3"].error
        assert obs["e4"].status is Status.FAILED and "ValueError: bad config" in obs["e4"].error
        assert all(obs[f"e{i}"].ok for i in (0, 2, 5))
        assert {obs[f"e{i}"].metrics["pid"] for i in (0, 2, 5)}.isdisjoint({float(os.getpid())})
        assert pool.n_crashed == 2
        assert pool.wait(0.1) == [] and pool.in_flight() == [] and pool.free_slots() == 2


def test_a_time_limit_stops_the_child() -> None:
    from perturbo.actors.process_pool import ProcessExecutorPool

    with ProcessExecutorPool(Crashy, n_workers=1) as pool:
        pool.submit([_spec(0)])
        assert _collect(pool, 1)["e0"].ok  # the child is up: the clock below is the sleep's
        pool.submit([_spec(1, do="sleep", s=300)], timeout_s=1.0)
        pool.submit([_spec(2)])
        t0 = time.monotonic()
        obs = _collect(pool, 2)
        assert time.monotonic() - t0 < 60
        assert obs["e1"].status is Status.FAILED and obs["e1"].error.startswith("timed out")
        assert obs["e2"].ok and pool.n_timed_out == 1


OBJECTIVE = textwrap.dedent(
    """
    import ctypes, os

    def f(params):
        log = os.environ["CRASH_LOG"]
        with open(log, "a") as fh:
            fh.write("x\\n")
        if sum(1 for _ in open(log)) == 3:  # the third trial crashes its process
            ctypes.string_at(0)
        return -(params["x"] - 0.3) ** 2
    """
)


@pytest.mark.slow
def test_cli_local_user_objective_segfault_is_a_failed_trial(tmp_path: Path) -> None:
    from mlflow import MlflowClient

    from perturbo.tracking import load_history

    (tmp_path / "crashobj.py").write_text(OBJECTIVE)
    (tmp_path / "space.toml").write_text('[x]\ntype = "float"\nlow = 0.0\nhigh = 1.0\n')
    uri, name = f"sqlite:///{tmp_path}/mlflow.db", "segv-local"
    env = {**os.environ, "CRASH_LOG": str(tmp_path / "runs.log"),
           "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}  # fmt: skip
    r = subprocess.run(
        [sys.executable, "-m", "perturbo.cli", "run", "hyperparameter", "--task", "crashobj:f",
         "--allow-user-code", "--space", "space.toml", "--objective", "value", "--direction",
         "max", "--planner", "random", "--trials", "8", "--batch", "4", "--local",
         "--tracking-uri", uri, "--name", name, "--no-progress"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, f"exit {r.returncode}:\n{r.stderr[-3000:]}"
    hist = list(load_history(uri, name)[1])
    assert len(hist) == len({o.spec.id for o in hist}) == 8
    failed = [o for o in hist if o.outcome.status is Status.FAILED]
    assert len(failed) == 1 and "SIGSEGV" in failed[0].outcome.error, [o.outcome for o in hist]
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name(name)
    (parent,) = client.search_runs([exp.experiment_id], "tags.`mlflow.parentRunId` IS NULL")
    assert parent.info.status == "FINISHED"
