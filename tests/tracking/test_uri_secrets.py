"""Tracking URIs with credentials: the password is never printed, a server behind basic auth is
reachable, and a missing database driver is named with its fix.

- :func:`perturbo.tracking.uri.shown_uri` hides the password of every URI form, and leaves a URI
  without one as it is;
- the reachability probe sends ``user:password@`` as HTTP basic auth, not as part of the host;
- a database URI whose SQLAlchemy driver is not installed is one line naming the driver.
"""

from __future__ import annotations

import base64
import http.server
import socket
import threading
from collections.abc import Iterator

import pytest

from perturbo.tracking.uri import check_reachable, has_password, shown_uri, store_flag, wrap_error
from perturbo.types import PerturboError

PW = "s3cretPGpw"


@pytest.mark.parametrize(
    ("uri", "shown"),
    [
        (f"postgresql+psycopg2://mlflow:{PW}@127.0.0.1:55432/mlflow",
         "postgresql+psycopg2://mlflow:***@127.0.0.1:55432/mlflow"),
        (f"postgresql://mlflow:{PW}@db.lab/mlflow?sslmode=require",
         "postgresql://mlflow:***@db.lab/mlflow?sslmode=require"),
        (f"mysql+pymysql://root:{PW}@db:3306/m", "mysql+pymysql://root:***@db:3306/m"),
        (f"http://user:{PW}@127.0.0.1:5055", "http://user:***@127.0.0.1:5055"),
        (f"https://user:{PW}@mlflow.lab/", "https://user:***@mlflow.lab/"),
        (f"https://user:{PW}@x@mlflow.lab/a@b", "https://user:***@mlflow.lab/a@b"),  # raw '@'
        (f"redis://:{PW}@h:6379", "redis://:***@h:6379"),
        (f"postgresql://h/db?user=u&password={PW}&sslmode=require",
         "postgresql://h/db?user=u&password=***&sslmode=require"),
        (f"mssql+pyodbc://sa:{PW}@[::1]:1433/db", "mssql+pyodbc://sa:***@[::1]:1433/db"),
    ],
)  # fmt: skip
def test_shown_uri_hides_the_password_keeps_the_rest(uri: str, shown: str) -> None:
    assert shown_uri(uri) == shown
    assert PW not in shown_uri(uri)
    assert shown_uri(shown_uri(uri)) == shown  # idempotent
    assert has_password(uri)


@pytest.mark.parametrize(
    "uri",
    [
        "sqlite:///mlflow.db",
        "sqlite:////abs/dir/mlflow.db",
        "sqlite:////tmp/odd:name@x.db",  # a path, not credentials
        "file:///tmp/mlruns",
        "/tmp/mlruns",
        "databricks",
        "databricks://profile:prefix",
        "databricks-uc",
        "http://127.0.0.1:5000",
        "https://token@mlflow.lab",  # a user name alone is not hidden (as MLflow shows it)
        "postgresql+psycopg2://mlflow@127.0.0.1/mlflow",
    ],
)
def test_shown_uri_leaves_uris_without_a_password(uri: str) -> None:
    assert shown_uri(uri) == uri
    assert not has_password(uri)


def test_shown_uri_scrubs_every_uri_in_a_message() -> None:
    msg = f"store 'http://a:{PW}@h:1' then postgresql://b:{PW}2@k/db (x), and sqlite:///m.db"
    assert shown_uri(msg) == (
        "store 'http://a:***@h:1' then postgresql://b:***@k/db (x), and sqlite:///m.db"
    )


def test_printed_commands_never_carry_the_password() -> None:
    flag = store_flag(f"postgresql+psycopg2://mlflow:{PW}@127.0.0.1/mlflow")
    assert PW not in flag
    assert flag == ' --tracking-uri "$MLFLOW_TRACKING_URI"'
    assert store_flag("http://127.0.0.1:5000") == " --tracking-uri http://127.0.0.1:5000"


def test_store_errors_never_carry_the_password() -> None:
    uri = f"postgresql+psycopg2://mlflow:{PW}@127.0.0.1/mlflow"
    for e in (
        ConnectionError(f"could not connect to {uri}"),
        ValueError("malformed"),
        RuntimeError(f"boom at {uri}"),
    ):
        text = str(wrap_error(uri, "claiming campaign 'pg1'", e))
        assert PW not in text and "mlflow:***@127.0.0.1" in text, text


# -- the probe: credentials as basic auth --------------------------------------------------


@pytest.fixture
def health_server() -> Iterator[tuple[int, list[tuple[str, str | None]]]]:
    """An HTTP server on 127.0.0.1 answering ``/health`` 200; records (path, Authorization)."""
    seen: list[tuple[str, str | None]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append((self.path, self.headers.get("Authorization")))
            ok = self.path == "/health"
            self.send_response(200 if ok else 404)
            self.end_headers()
            self.wfile.write(b"OK" if ok else b"")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        yield server.server_address[1], seen
    finally:
        server.shutdown()
        server.server_close()


def test_a_server_with_credentials_in_the_uri_is_reachable(
    health_server: tuple[int, list[tuple[str, str | None]]],
) -> None:
    port, seen = health_server
    check_reachable(f"http://user:hunter2pw@127.0.0.1:{port}")
    check_reachable(f"http://user:p%40ss@127.0.0.1:{port}/")  # percent-encoded, as MLflow takes it
    check_reachable(f"http://127.0.0.1:{port}")  # none: no header
    basic = "Basic " + base64.b64encode(b"user:hunter2pw").decode()
    assert seen == [
        ("/health", basic),
        ("/health", "Basic " + base64.b64encode(b"user:p@ss").decode()),
        ("/health", None),
    ]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_server_with_credentials_is_named_without_them() -> None:
    with pytest.raises(PerturboError) as e:
        check_reachable(f"http://user:{PW}@127.0.0.1:{_closed_port()}", timeout_s=2)
    assert "unreachable" in str(e.value) and "user:***@127.0.0.1" in str(e.value)
    assert "refused" in str(e.value).lower()  # the port, not "Name or service not known"
    assert PW not in str(e.value)


# -- a database driver that is not installed -----------------------------------------------


def _installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


@pytest.mark.skipif(_installed("psycopg"), reason="psycopg (3) is installed here")
def test_a_missing_driver_is_named_with_its_fix() -> None:
    uri = f"postgresql://mlflow:{PW}@127.0.0.1:{_closed_port()}/mlflow"
    with pytest.raises(PerturboError) as e:
        check_reachable(uri)
    text = str(e.value)
    assert "'psycopg'" in text and "pip install 'psycopg[binary]'" in text, text
    if _installed("psycopg2"):
        assert "postgresql+psycopg2://mlflow:***@" in text, text
    assert PW not in text and "report" not in text


def test_a_missing_driver_met_later_is_one_line_not_report_this() -> None:
    uri = f"mysql://root:{PW}@127.0.0.1/m"
    err = ModuleNotFoundError("No module named 'MySQLdb'", name="MySQLdb")
    text = str(wrap_error(uri, "claiming campaign 'pgd'", err))
    assert text.startswith("claiming campaign 'pgd': ")
    assert "'MySQLdb'" in text and "pip install 'mysqlclient'" in text, text
    assert "report" not in text and "not a connection problem" not in text
    assert PW not in text


def test_an_unknown_scheme_suggests_uris_that_work() -> None:
    with pytest.raises(PerturboError, match=r"postgresql\+psycopg2://"):
        check_reachable("postgres1://x@h/db")
