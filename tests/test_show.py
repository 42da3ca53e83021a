"""``perturbo show`` against a real store written by two real campaigns: the best trial and
its parameters, names by prefix and "did you mean", the store it read, a mistyped store
named as missing, help examples shaped like real names, and a "done" hint that works pasted."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
from stores import *  # noqa: F403
from stores import copy_store

from perturbo.cli import main
from perturbo.show import EXAMPLE_NAME, RESUME_EPILOG, SHOW_EPILOG

STAMP = re.compile(r"-\d{8}-\d{6}-[0-9a-f]{4}$")


@pytest.fixture(scope="module")
def two_campaigns(tmp_path_factory: pytest.TempPathFactory, mlflow_template: Path) -> Any:
    """(uri, {kind: (name, done line)}) of a hyperparameter and a genetic campaign."""
    uri = copy_store(mlflow_template, tmp_path_factory.mktemp("show-store"))
    runs = {
        "hyperparameter": ["--task", "branin", "--trials", "8", "--batch", "4"],
        "genetic": ["--screen", "Scharenberg22", "--rounds", "2", "--batch", "16"],
    }
    out: dict[str, tuple[str, str]] = {}
    capture = pytest.MonkeyPatch()
    for kind, args in runs.items():
        lines: list[str] = []
        capture.setattr("perturbo.launch.say", lines.append)
        argv = ["run", kind, *args, "--planner", "random", "--local", "--no-progress"]
        assert main([*argv, "--tracking-uri", uri]) == 0
        done = next(ln for ln in lines if ln.startswith("done:"))
        name = re.search(r"`perturbo show (\S+)", done).group(1)  # type: ignore[union-attr]
        out[kind] = (name, done)
    capture.undo()
    return uri, out


def _show(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    rc = main(["show", *argv])
    cap = capsys.readouterr()
    return rc, cap.out + cap.err


def test_done_hint_repeats_the_store_and_works_pasted(
    two_campaigns: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    uri, runs = two_campaigns
    name, done = runs["hyperparameter"]
    assert f"--tracking-uri {uri}" in done
    cmd = re.search(r"`(perturbo show [^`]+)`", done).group(1)  # type: ignore[union-attr]
    capsys.readouterr()
    rc, out = _show(capsys, *shlex.split(cmd)[2:])
    assert rc == 0 and name in out and f"store: {uri}" in out


def test_best_trial_and_its_parameters(
    two_campaigns: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from perturbo.tracking import load_history

    uri, runs = two_campaigns
    name = runs["hyperparameter"][0]
    _, history = load_history(uri, name)
    best = min((o for o in history if o.outcome.ok), key=lambda o: o.outcome.metrics["value"])
    rc, out = _show(capsys, name[: len("hyperparameter-branin")], "--tracking-uri", uri)
    assert rc == 0
    assert name in out  # the full name, from a prefix
    v = best.outcome.metrics["value"]
    assert f"best value (min) = {v:.4g}: experiment {best.spec.id}" in out
    for k, x in best.spec.params.items():
        assert re.search(rf"^\s+{k} = {x:.4g}", out, re.M), (k, out)
    rc, listing = _show(capsys, "--tracking-uri", uri)
    assert runs["genetic"][0] in listing and name in listing  # full names, unfolded


def test_a_round_campaign_shows_its_rounds(
    two_campaigns: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    uri, runs = two_campaigns
    name = runs["genetic"][0]
    rc, out = _show(capsys, name, "--tracking-uri", uri)
    assert rc == 0 and "hits_total" in out and "best value" not in out
    assert re.search(r"best round: [12] \(hits_round=\d+\)", out), out


def test_a_typo_gets_did_you_mean(two_campaigns: Any, capsys: pytest.CaptureFixture[str]) -> None:
    uri, runs = two_campaigns
    name = runs["hyperparameter"][0]
    rc, out = _show(capsys, name.replace("branin", "brainn"), "--tracking-uri", uri)
    assert rc == 2 and "did you mean" in out and name in out


@pytest.mark.parametrize("where", ["typo-dir/mlflow.db", "typo.db"])
def test_a_mistyped_store_is_named_missing(
    tmp_path: Path, where: str, capsys: pytest.CaptureFixture[str]
) -> None:
    uri = f"sqlite:///{tmp_path}/{where}"
    for argv in ([], ["some-campaign"]):
        rc, out = _show(capsys, *argv, "--tracking-uri", uri)
        assert rc == 2 and "does not exist" in out and uri in out, out
        assert "no campaigns yet" not in out
    assert not (tmp_path / where).exists()  # reading created nothing


def test_help_examples_use_real_names(two_campaigns: Any) -> None:
    _, runs = two_campaigns
    for name, _ in runs.values():
        assert STAMP.search(name), name
    assert STAMP.search(EXAMPLE_NAME)
    assert EXAMPLE_NAME in SHOW_EPILOG and "-YYYYMMDD-HHMMSS" in SHOW_EPILOG
    assert EXAMPLE_NAME in RESUME_EPILOG
    # the example has the shape of what the same command makes, time stamp aside
    real = STAMP.sub("", runs["hyperparameter"][0])
    assert STAMP.sub("", EXAMPLE_NAME) == real
