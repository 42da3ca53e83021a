"""A new sqlite store opened by several campaigns at once, and stores that are not stores.

MLflow creates its tables when a client first opens a sqlite file; several processes doing so
at once raced in its schema migration (issue 17: four campaigns on a fresh ``shared.db`` all
exited 1 after ~100 s and the store was broken for good). ``uri.prepare_store`` creates or
migrates a store once, under a file lock beside it, before any client opens it.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from perturbo.cli import main

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "faults"))
import barrier  # noqa: E402

N_CAMPAIGNS, TRIALS = 8, 2


def _argv(uri: str, name: str) -> list[str]:
    return [
        "run", "hyperparameter", "--task", "branin", "--planner", "random",
        "--trials", str(TRIALS), "--batch", str(TRIALS), "--local", "--no-progress",
        "--tracking-uri", uri, "--name", name,
    ]  # fmt: skip


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_eight_campaigns_started_at_once_on_a_fresh_store_all_finish_once(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    uri = f"sqlite:///{db}"
    names = [f"c{i}" for i in range(N_CAMPAIGNS)]
    procs = barrier.start([_argv(uri, n) for n in names], tmp_path / "race")
    results = barrier.release(procs, tmp_path / "race", timeout_s=840)
    failed = [(rc, out[-1500:]) for rc, out in results if rc != 0]
    assert not failed, failed[0]

    from mlflow import MlflowClient

    c = MlflowClient(uri)
    for n in names:
        exp = c.get_experiment_by_name(n)
        assert exp is not None, n
        runs = c.search_runs([exp.experiment_id])
        parents = [r for r in runs if r.data.tags.get("perturbo.role") == "campaign"]
        trials = [r for r in runs if r.data.tags.get("perturbo.role") == "trial"]
        assert len(parents) == 1 and parents[0].info.status == "FINISHED", n
        ids = [r.data.tags["perturbo.id"] for r in trials]
        assert len(ids) == len(set(ids)) == TRIALS, (n, ids)


def test_a_store_that_is_not_a_database_is_named_damaged_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "corrupt.db"
    db.write_bytes(bytes(range(256)) * 12)
    uri = f"sqlite:///{db}"
    for argv in (["show", "--tracking-uri", uri], _argv(uri, "x")):
        capsys.readouterr()
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err
        [line] = [x for x in err.splitlines() if x.startswith("perturbo: error:")]
        assert "is damaged" in line and str(db) in line and "restore it" in line, line
    assert db.read_bytes() == bytes(range(256)) * 12, "nothing was written to it"


def test_a_store_path_that_is_a_directory_is_refused_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "dir.db").mkdir()
    uri = f"sqlite:///{tmp_path}/dir.db"
    for argv in (["show", "--tracking-uri", uri], _argv(uri, "x")):
        capsys.readouterr()
        t = time.monotonic()
        assert main(argv) == 2
        took = time.monotonic() - t
        err = capsys.readouterr().err
        assert "Traceback" not in err and "is a directory" in err and "--tracking-uri" in err
        assert took < 60, f"{took:.0f} s: MLflow's retries (104 s before)"
