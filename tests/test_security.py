"""Secrets in the environment never reach the tracking store (issue 10, item 7), and what
perturbo serves binds 127.0.0.1 by default.

A campaign runs with fake API keys and tokens planted in the environment; then every
experiment and run name, param, tag, metric name, every artifact (downloaded), the raw store
file and the CLI's own output are searched for them.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from stores import *  # noqa: F403
from stores import make_screen_csv

from perturbo.cli import main

_SECRET_VARS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "RAY_AUTH_TOKEN", "MLFLOW_TRACKING_PASSWORD")


@pytest.fixture
def planted(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A fake secret in each variable a user of perturbo may have set."""
    values = {}
    for var in _SECRET_VARS:
        values[var] = f"sk-test-PLANTED-{var}-{secrets.token_hex(8)}"
        monkeypatch.setenv(var, values[var])
    return values


def _store_texts(uri: str, dst: Path) -> Iterator[tuple[str, str]]:
    """(where, text) for everything the store holds about its campaigns."""
    import mlflow
    from mlflow import MlflowClient

    client = MlflowClient(uri)
    for exp in client.search_experiments():
        yield f"experiment {exp.name}", f"{exp.name} {exp.artifact_location} {exp.tags}"
        for run in client.search_runs([exp.experiment_id], max_results=10_000):
            rid = run.info.run_id
            yield f"run {rid} name", str(run.info.run_name)
            yield f"run {rid} params", repr(run.data.params)
            yield f"run {rid} tags", repr(run.data.tags)
            yield f"run {rid} metric names", repr(sorted(run.data.metrics))
            local = Path(
                mlflow.artifacts.download_artifacts(
                    run_id=rid, dst_path=str(dst / rid), tracking_uri=uri
                )
            )
            for f in sorted(local.rglob("*")):
                if f.is_file():
                    yield (
                        f"run {rid} artifact {f.relative_to(local)}",
                        f.read_bytes().decode(errors="replace"),
                    )
        traces = (
            client.search_traces(locations=[exp.experiment_id])
            if hasattr(client, "search_traces")
            else []
        )
        for t in traces:
            yield f"trace {t.info.trace_id}", t.to_json()


def _assert_nowhere(secrets_: dict[str, str], texts: Iterator[tuple[str, str]]) -> int:
    n = 0
    for where, text in texts:
        n += 1
        for var, value in secrets_.items():
            assert value not in text, f"{var} leaked into {where}"
            assert "sk-test-PLANTED" not in text, f"a planted secret leaked into {where}"
    return n


@pytest.mark.parametrize("kind", ["hyperparameter", "genetic"])
def test_planted_secrets_are_in_no_record(
    capsys: pytest.CaptureFixture[str],
    store: str,
    tmp_path: Path,
    planted: dict[str, str],
    kind: str,
) -> None:
    if kind == "hyperparameter":
        argv = ["run", "hyperparameter", "--task", "branin", "--trials", "4", "--batch", "2"]
    else:
        screen = make_screen_csv(tmp_path / "toy.csv", n=40)
        argv = ["run", "genetic", "--screen", str(screen), "--rounds", "2", "--batch", "4"]
    rc = main(
        [
            *argv,
            "--planner",
            "random",
            "--local",
            "--no-progress",
            "--tracking-uri",
            store,
            "--name",
            "leak",
        ]
    )
    out, err = capsys.readouterr()
    assert rc == 0, err[-2000:]
    n = _assert_nowhere(planted, _store_texts(store, tmp_path / "artifacts"))
    assert n > 10, "the search saw the campaign's records"
    db = Path(store.removeprefix("sqlite:///"))
    _assert_nowhere(planted, [("the raw store file", db.read_bytes().decode(errors="replace"))])
    _assert_nowhere(planted, [("the CLI's output", out + err)])
    assert main(["show", "leak", "--tracking-uri", store]) == 0
    _assert_nowhere(planted, [("perturbo show", "".join(capsys.readouterr()))])
    if kind == "hyperparameter":  # the search can fail: a planted value in a tag is found
        from mlflow import MlflowClient

        client = MlflowClient(store)
        (exp,) = [e for e in client.search_experiments() if e.name == "leak"]
        run = client.search_runs([exp.experiment_id], max_results=1)[0]
        client.set_tag(run.info.run_id, "oops", planted["OPENAI_API_KEY"])
        with pytest.raises(AssertionError, match="OPENAI_API_KEY leaked into run"):
            _assert_nowhere(planted, _store_texts(store, tmp_path / "again"))


def test_ui_binds_loopback(capsys: pytest.CaptureFixture[str], store: str) -> None:
    assert main(["ui", "--tracking-uri", store, "--print-only"]) == 0
    first = capsys.readouterr().out.strip().splitlines()[0]  # the command `ui` runs
    assert " 127.0.0.1 " in f" {first} " or "--host 127.0.0.1" in first, first
    assert "0.0.0.0" not in first


def test_local_ray_has_no_dashboard_and_binds_loopback() -> None:
    """connect() starts a local Ray without a dashboard, on 127.0.0.1 (checked live in
    tests/actors/test_ray_runtime.py::test_local_ray_is_loopback_only)."""
    import inspect

    from perturbo.actors import ray_runtime

    src = inspect.getsource(ray_runtime.connect)
    assert "include_dashboard=False" in src and '_node_ip_address="127.0.0.1"' in src
