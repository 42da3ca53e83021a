"""The command line never prints the password of a tracking URI (job logs are read by anyone
with dashboard access): every command's lines and errors, with the URI from the flag or from
MLFLOW_TRACKING_URI; and a database URI whose driver is missing says which and the fix."""

from __future__ import annotations

import importlib.util
import socket

import pytest

from perturbo.cli import main

PW = "hunter2pw"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def uri() -> str:
    return f"http://user:{PW}@127.0.0.1:{_closed_port()}"


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "hyperparameter", "--task", "branin", "--trials", "4", "--batch", "2", "--local"],
        ["resume", "pg1", "--local"],
        ["show"],
        ["show", "pg1"],
        ["status"],
        ["status", "--all"],
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_no_command_prints_the_password(
    capsys: pytest.CaptureFixture[str], uri: str, argv: list[str]
) -> None:
    rc = main([*argv, "--tracking-uri", uri])
    out, err = capsys.readouterr()
    assert rc == 2, err
    assert PW not in out + err, out + err
    last = err.strip().splitlines()[-1]
    assert last.startswith("perturbo: error: ") and "unreachable" in last, err
    assert "user:***@127.0.0.1" in last, err


def test_ui_prints_no_password(capsys: pytest.CaptureFixture[str], uri: str) -> None:
    for argv in (["ui"], ["ui", "--print-only"]):
        main([*argv, "--tracking-uri", uri])
        out, err = capsys.readouterr()
        assert PW not in out + err, out + err
        assert "user:***@127.0.0.1" in out


def test_ui_print_only_of_a_database_store_reads_the_variable(
    capsys: pytest.CaptureFixture[str],
) -> None:
    rc = main(["ui", "--print-only", "--tracking-uri", f"postgresql+psycopg2://m:{PW}@127.0.0.1/m"])
    out, _ = capsys.readouterr()
    assert rc == 0
    assert PW not in out
    assert """printf '%s\\n' "$MLFLOW_TRACKING_URI" | """ in out  # not in the command line
    assert "ui_server - 127.0.0.1" in out
    assert '--backend-store-uri "$MLFLOW_TRACKING_URI"' in out


def test_a_uri_from_the_environment_is_named_without_the_password(
    capsys: pytest.CaptureFixture[str], uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    rc = main(["show"])
    _, err = capsys.readouterr()
    assert rc == 2
    assert PW not in err
    assert "MLFLOW_TRACKING_URI=http://user:***@127.0.0.1" in err  # still says where it came from


@pytest.mark.skipif(
    importlib.util.find_spec("psycopg") is not None, reason="psycopg (3) is installed here"
)
def test_postgresql_without_its_driver_is_one_line_with_the_fix(
    capsys: pytest.CaptureFixture[str],
) -> None:
    uri = f"postgresql://mlflow:{PW}@127.0.0.1:{_closed_port()}/mlflow"
    rc = main(["run", "hyperparameter", "--task", "branin", "--trials", "4", "--batch", "2",
               "--local", "--tracking-uri", uri])  # fmt: skip
    _, err = capsys.readouterr()
    assert rc == 2
    last = err.strip().splitlines()[-1]
    assert "driver 'psycopg'" in last and "pip install 'psycopg[binary]'" in last, err
    assert "please report" not in err and PW not in err
