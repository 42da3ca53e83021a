"""Secrets in the environment never reach the tracking store (issue 10, item 7), what
perturbo serves binds 127.0.0.1 by default, and no entry is a door (issue 17, item 2): campaign
names, settings paths, user code and confirmation tokens, tried as an attacker would.

A campaign runs with fake API keys and tokens planted in the environment; then every
experiment and run name, param, tag, metric name, every artifact (downloaded), the raw store
file and the CLI's own output are searched for them.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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

    src = inspect.getsource(ray_runtime)  # connect() and the helpers it calls
    assert "include_dashboard=False" in src and '_node_ip_address="127.0.0.1"' in src


# --------------------------------------------------------------------------- no door (issue 17)
# Campaign names, settings paths, user code and confirmation tokens, tried as an attacker
# would through each entry: the CLI, the Python API, the chat's tools (the web chat and MCP
# call the same ones; their own doors are in tests/chat/test_web_door.py and test_mcp.py).

BAD_NAMES = [
    "../../x", "a/b", "/abs", "a\\b", "..", ".", "x..y", ".hidden", "-rf", "--allow-user-code",
    "a\x00b", "a\nb", "tab\there", "bell\x07", "\x1b[31mred", "rtl\u202eexe.txt", "zero\u200bwidth",
    "", "   ", " lead", "trail ", "x" * 201,
]  # fmt: skip
GOOD_NAMES = [
    "screen-ifng bo 1",
    "genetic-Scharenberg22-bo-s0-20261205-104300",
    "ünïcode_ok",
    "a.b",
]


def test_names_are_checked_in_one_place() -> None:
    from perturbo.names import check_name, inside
    from perturbo.types import PerturboError

    for bad in BAD_NAMES:
        with pytest.raises(PerturboError, match="campaign name"):
            check_name(bad)
    for good in GOOD_NAMES:
        assert check_name(good) == good
        assert inside("/tmp/folder", good, ".toml").parent == Path("/tmp/folder").resolve()


def test_a_link_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    from perturbo.names import inside
    from perturbo.types import PerturboError

    (tmp_path / "plots").mkdir()
    (tmp_path / "plots" / "camp").symlink_to(tmp_path)
    with pytest.raises(PerturboError, match="link out of it"):
        inside(tmp_path / "plots", "camp")


def _nothing_outside(tmp_path: Path) -> None:
    for f in tmp_path.parent.iterdir():  # '../x' from tmp_path, or from its sub-folders
        assert f.name not in ("x", "x.toml", "x.log", "escape"), f


@pytest.mark.parametrize("bad", ["../x", "a/b", "x\x1b[2J", "-x"])
def test_cli_and_api_refuse_a_bad_name(
    capsys: pytest.CaptureFixture[str], store: str, tmp_path: Path, bad: str
) -> None:
    from perturbo import Campaign
    from perturbo.api import run_campaign
    from perturbo.tracking import open_store
    from perturbo.types import PerturboError

    argv = ["run", "hyperparameter", "--task", "branin", "--trials", "2", "--local",
            "--no-progress", "--tracking-uri", store, f"--name={bad}"]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "campaign name" in err[0], err
    assert main(["resume", "--tracking-uri", store, "--local", "--", bad]) == 2
    assert "campaign name" in capsys.readouterr().err
    with pytest.raises(PerturboError, match="campaign name"):
        run_campaign("hyperparameter", name=bad, tracking_uri=store, local=True, task="branin")
    with pytest.raises(PerturboError, match="campaign name"):  # recorders check it too
        Campaign("branin", planner="random", trials=2, batch=1, tracking_uri=store, name=bad).run()
    assert open_store(store).list_campaigns() == []  # nothing recorded
    _nothing_outside(tmp_path)


def _chat_tools(store: str, tmp_path: Path) -> Any:
    from perturbo.chat.build import make_tools

    (tmp_path / "root").mkdir(exist_ok=True)
    tools = make_tools(store, local=True, workdir=tmp_path / "work")
    tools.launcher.root = tmp_path / "root"
    return tools


@pytest.mark.parametrize("bad", BAD_NAMES[:8] + BAD_NAMES[10:14])
def test_the_chat_refuses_a_bad_name_and_writes_nothing(
    store: str, tmp_path: Path, bad: str
) -> None:
    tools = _chat_tools(store, tmp_path)
    res = tools.call(
        "launch_campaign", {"kind": "hyperparameter", "settings": {"task": "branin"}, "name": bad}
    )
    assert not res.ok and "campaign name" in res.text, res.text
    assert not tools.launcher.pending
    assert not (tmp_path / "work").exists() or not list((tmp_path / "work").iterdir())
    _nothing_outside(tmp_path)


USER_CODE = [
    {"task": "subprocess:run", "allow_user_code": True},
    {"task": "subprocess:run"},
    {"task": "os:system", "allow_user_code": "true"},
    {"allow_user_code": True},
    {"allow-user-code": 1},
    {"task": " builtins : exec "},
]


@pytest.mark.parametrize("settings", USER_CODE, ids=lambda s: json.dumps(s))
def test_the_chat_never_launches_user_code(store: str, tmp_path: Path, settings: dict) -> None:
    tools = _chat_tools(store, tmp_path)
    res = tools.call("launch_campaign", {"kind": "hyperparameter", "settings": settings})
    assert not res.ok and "command line" in res.text, res.text
    res = tools.call("launch_campaign", {"kind": "attack", "settings": {"model": "subprocess:run"}})
    assert not res.ok and "command line" in res.text, res.text
    assert not tools.launcher.pending


def test_a_proposal_cannot_smuggle_user_code_into_its_command(tmp_path: Path) -> None:
    from perturbo.agents.chat.actions import Launcher
    from perturbo.types import PerturboError

    launcher = Launcher("sqlite:///unused.db", workdir=tmp_path)
    for argv in (
        ["run", "hyperparameter", "--allow-user-code", "--task", "m:f"],
        ["run", "hyperparameter", "--task", "subprocess:run"],
        ["run", "attack", "--model=os:system"],
    ):
        with pytest.raises(PerturboError, match="command line"):
            launcher.propose("launch", "x", argv, "sneaky")
    assert not launcher.pending


def test_a_stored_campaign_with_user_code_is_not_resumed_from_the_chat(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Anyone sharing the store can record a campaign whose config runs their code."""
    from perturbo import tracking
    from perturbo.agents.chat.actions import Launcher
    from perturbo.types import PerturboError

    class Shared:  # a store someone else wrote: only its config matters here
        def config(self, name: str) -> dict[str, Any]:
            return {"kind": "hyperparameter", "task": "subprocess:run", "allow_user_code": True}

    monkeypatch.setattr(tracking, "open_store", lambda uri: Shared())
    launcher = Launcher("sqlite:///unused.db", workdir=tmp_path)
    for kind in ("resume", "pin"):
        with pytest.raises(PerturboError, match="runs user code"):
            launcher.propose(kind, "theirs", ["resume", "theirs"], "resume theirs")
    assert not launcher.pending


def _fake_python(tmp_path: Path) -> tuple[str, Path]:
    """An interpreter stand-in: records its argv and the settings file it was given."""
    record = tmp_path / "ran.txt"
    script = tmp_path / "fake-python"
    script.write_text(
        f'#!/bin/sh\necho "ARGV $@" >> {record}\nprev=""\n'
        f'for a in "$@"; do [ "$prev" = "--config" ] && cat "$a" >> {record}; prev="$a"; done\n'
    )
    script.chmod(0o755)
    return str(script), record


def test_a_token_runs_exactly_what_it_was_shown(store: str, tmp_path: Path) -> None:
    """The issue's swap: a second proposal with the same name overwrote the first's settings
    file, so confirming a token described as task=branin ran other code. Now nothing is
    written before a confirmation, each proposal keeps its own settings, and a token whose
    action changed is refused."""
    from dataclasses import replace

    from perturbo.types import PerturboError

    tools = _chat_tools(store, tmp_path)
    tools.launcher.python, record = _fake_python(tmp_path)
    first = tools.call(
        "launch_campaign",
        {"kind": "hyperparameter", "settings": {"task": "branin", "trials": 2}, "name": "same"},
    )
    second = tools.call(
        "launch_campaign",
        {"kind": "hyperparameter", "settings": {"task": "hartmann6", "trials": 9}, "name": "same"},
    )
    assert first.ok and second.ok, (first.text, second.text)
    work = tmp_path / "work"
    assert not work.exists() or not list(work.iterdir()), "written before any confirmation"
    assert "task=branin" in first.pending.description
    tools.launcher.confirm(first.pending.token)
    tools.launcher.jobs["same"].process.wait(timeout=60)
    ran = record.read_text()
    assert 'task = "branin"' in ran and "trials = 2" in ran and "hartmann6" not in ran, ran
    # an action changed after it was proposed (in memory) is refused, and runs nothing
    token = second.pending.token
    tools.launcher.pending[token] = replace(
        tools.launcher.pending[token], settings='task = "branin"\n'
    )
    with pytest.raises(PerturboError, match="changed since it was proposed"):
        tools.launcher.confirm(token)
    assert record.read_text() == ran
    assert len(list(work.glob("*.toml"))) == 1  # the confirmed one only


def test_settings_paths_stay_in_the_working_folder_and_are_no_oracle(
    store: str, tmp_path: Path
) -> None:
    """/etc/shadow was accepted and a missing file refused: the chat told which files exist.
    Now any path outside the working folder gets one message, existing or not."""
    tools = _chat_tools(store, tmp_path)
    outside = tmp_path / "outside.csv"
    outside.write_text("SECRET-FIRST-LINE,xyz\n")
    (tmp_path / "root" / "link.csv").symlink_to(outside)
    (tmp_path / "root" / ".ssh").mkdir()
    (tmp_path / "root" / ".ssh" / "id.csv").write_text("SECRET-KEY,x\n")
    (tmp_path / "root" / ".env.csv").write_text("SECRET-TOKEN,x\n")
    said = {}
    for path in ("/etc/shadow", "/etc/no-such-file", str(outside), "../outside.csv",
                 "../no-such.csv", "~/x.csv", "link.csv", ".ssh/id.csv", ".env.csv",
                 ".ssh/missing.csv"):  # fmt: skip
        res = tools.call("launch_campaign", {"kind": "genetic", "settings": {"screen": path}})
        assert not res.ok and "SECRET" not in res.text, res.text
        said[path] = res.text.replace(repr(path), "PATH")
    assert len(set(said.values())) == 1, said
    assert "only inside" in next(iter(said.values()))
    assert not tools.launcher.pending


def test_a_bad_screen_csv_does_not_echo_its_first_line(
    capsys: pytest.CaptureFixture[str], store: str, tmp_path: Path
) -> None:
    csv = tmp_path / "notes.csv"
    csv.write_text("SECRET-FIRST-LINE,password123\nIFNG,1.0\n")
    argv = ["run", "genetic", "--screen", str(csv), "--rounds", "1", "--batch", "1", "--local",
            "--no-progress", "--tracking-uri", store]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "no Gene" in err and "SECRET" not in err and "password" not in err, err


@pytest.mark.slow
def test_a_stored_name_with_dots_cannot_move_a_plot_out(
    capsys: pytest.CaptureFixture[str], store: str, tmp_path: Path
) -> None:
    """Anyone sharing an MLflow server can name a campaign '../../escape': the plot tool wrote
    the download outside its folder. Now it is refused, and so is resuming it."""
    from mlflow import MlflowClient

    argv = ["run", "hyperparameter", "--task", "branin", "--planner", "random", "--trials", "2",
            "--batch", "2", "--local", "--no-progress", "--tracking-uri", store, "--name", "ok"]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    client = MlflowClient(store)
    exp = client.get_experiment_by_name("ok")
    client.rename_experiment(exp.experiment_id, "../../escape")
    tools = _chat_tools(store, tmp_path)
    tools.plots_dir = tmp_path / "work" / "plots" / "in"
    res = tools.call("show_plot", {"name": "../../escape"})
    assert not res.ok and "campaign name" in res.text, res.text
    assert not (tmp_path / "work" / "escape").exists() and not (tmp_path / "escape").exists()
    res = tools.call("resume_campaign", {"name": "../../escape"})
    assert not res.ok and not tools.launcher.pending, res.text
    assert main(["resume", "../../escape", "--tracking-uri", store, "--local"]) == 2
    assert "campaign name" in capsys.readouterr().err


def test_a_spool_folder_is_never_dot_or_dot_dot() -> None:
    """The spool keeps a campaign's unsaved rounds in <root>/<key>/<slug(name)>: '..' (a name
    anyone sharing the store may give) made it the key folder's parent."""
    from perturbo.tracking.uri import slug

    for name in ("..", ".", "", "...", "../x", "a/../../b"):
        s = slug(name)
        assert s not in ("", ".", "..") and "/" not in s, (name, s)
