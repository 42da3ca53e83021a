"""A damaged store is named, never misread (issue 17, item 7).

A real campaign on a real sqlite store, then one of its records damaged as a person or a disk
would: a round file deleted (in the middle, or the last of a finished campaign), a trial run
deleted, a round file truncated, the config deleted. ``perturbo show`` reports each with the
run and the file and the fix (exit 2); ``resume`` refuses (exit 2, one line) and changes
nothing -- before, a deleted round file was silently run again and the rest blamed the server.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from stores import *  # noqa: F403

from perturbo.cli import main

NAME, TRIALS = "dmg", 6


def _parent(uri: str):  # type: ignore[no-untyped-def]
    from mlflow import MlflowClient

    c = MlflowClient(uri)
    exp = c.get_experiment_by_name(NAME)
    [parent] = c.search_runs([exp.experiment_id], "tags.`perturbo.role` = 'campaign'")
    return c, exp, parent


def _artifacts(uri: str) -> Path:
    _, _, parent = _parent(uri)
    return Path(unquote(urlparse(parent.info.artifact_uri).path))


def _trial_runs(uri: str) -> list[str]:
    c, exp, parent = _parent(uri)
    runs = c.search_runs([exp.experiment_id], "tags.`perturbo.role` = 'trial'", max_results=500)
    return sorted(r.info.run_id for r in runs)


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    rc = main(list(argv))
    out = capsys.readouterr()
    return rc, out.out + out.err


def _damage_missing_middle_round(uri: str) -> str:
    (_artifacts(uri) / "rounds" / "round-002.json").unlink()
    return "rounds/round-002.json is missing"


def _damage_missing_last_round(uri: str) -> str:
    (_artifacts(uri) / "rounds" / "round-003.json").unlink()
    return "rounds/round-003.json is missing"


def _damage_missing_last_round_of_a_stopped_campaign(uri: str) -> str:
    c, _, parent = _parent(uri)
    c.set_terminated(parent.info.run_id, status="KILLED")  # as `perturbo stop` leaves it
    (_artifacts(uri) / "rounds" / "round-003.json").unlink()  # its driver said: 3 committed
    return "rounds/round-003.json is missing"


def _damage_truncated_round(uri: str) -> str:
    f = _artifacts(uri) / "rounds" / "round-001.json"
    f.write_text(f.read_text()[:40])
    return "rounds/round-001.json of its run"


def _damage_missing_config(uri: str) -> str:
    (_artifacts(uri) / "campaign" / "config.json").unlink()
    return "config campaign/config.json is missing"


def _damage_deleted_trial_run(uri: str) -> str:
    c, exp, parent = _parent(uri)
    [victim] = c.search_runs([exp.experiment_id], "tags.`perturbo.role` = 'trial'", max_results=1)
    c.delete_run(victim.info.run_id)
    return f"mlflow runs restore --run-id {victim.info.run_id}"


@pytest.mark.parametrize(
    "damage",
    [
        _damage_missing_middle_round,
        _damage_missing_last_round,
        _damage_missing_last_round_of_a_stopped_campaign,
        _damage_truncated_round,
        _damage_missing_config,
        _damage_deleted_trial_run,
    ],
    ids=lambda f: f.__name__[len("_damage_") :],
)
def test_damage_is_reported_by_show_and_refused_by_resume(
    store: str, capsys: pytest.CaptureFixture[str], damage: object
) -> None:
    rc, out = _cli(
        capsys, "run", "hyperparameter", "--task", "branin", "--planner", "random",
        "--trials", str(TRIALS), "--batch", "2", "--schedule", "sync", "--local",
        "--no-progress", "--tracking-uri", store, "--name", NAME,
    )  # fmt: skip
    assert rc == 0, out
    _, _, parent = _parent(store)
    rc, out = _cli(capsys, "show", NAME, "--tracking-uri", store)
    assert rc == 0 and "DAMAGED" not in out, out

    named = damage(store)  # type: ignore[operator]
    files = sorted(p.relative_to(_artifacts(store)) for p in _artifacts(store).rglob("*"))
    trials = _trial_runs(store)

    rc, out = _cli(capsys, "show", NAME, "--tracking-uri", store)
    assert rc == 2 and "DAMAGED" in out and "Traceback" not in out, out
    flat = " ".join(out.split())
    assert named in flat and parent.info.run_id in flat and "restore" in flat, out

    rc, out = _cli(
        capsys, "resume", NAME, "--trials", str(2 * TRIALS), "--tracking-uri", store, "--local",
        "--no-progress",
    )  # fmt: skip
    assert rc == 2 and "Traceback" not in out, out
    [line] = [x for x in out.splitlines() if x.startswith("perturbo: error:")]
    assert named in line and parent.info.run_id in line and "restore" in line, line
    assert "server running" not in line
    after = sorted(p.relative_to(_artifacts(store)) for p in _artifacts(store).rglob("*"))
    assert after == files and _trial_runs(store) == trials, "resume changed nothing"

    rc, out = _cli(capsys, "show", NAME, "--tracking-uri", store)  # still reported, still there
    assert rc == 2 and named in " ".join(out.split())
