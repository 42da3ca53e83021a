"""Tracking URIs: what a URI may be, whether its store can be used, and the one way a client
is made (with MLflow's retries cut down to seconds).

Nothing here imports mlflow at module import time.
"""

from __future__ import annotations

import logging
import os
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

from perturbo.types import PerturboError

if TYPE_CHECKING:
    from mlflow import MlflowClient

_QUIET_LOGGERS = ("mlflow.store.db.utils", "alembic.runtime.migration", "mlflow.tracking")


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:`` URI (``None`` for any other URI)."""
    if not uri.startswith("sqlite:"):
        return None
    rest = uri[len("sqlite:") :]
    if rest.startswith("///"):
        return Path(rest[3:])  # sqlite:///rel.db -> rel.db; sqlite:////abs.db -> /abs.db
    raise PerturboError(
        f"tracking URI {uri!r} is not a sqlite file URI: use sqlite:///relative/path.db "
        "or sqlite:////absolute/path.db"
    )


def store_exists(uri: str) -> bool:
    """False only for a sqlite file that is not there yet (reading must not create it)."""
    db = sqlite_path(uri)
    return db is None or db.exists()


def default_spool_dir(uri: str) -> Path:
    """Where rounds go when the store cannot be written: beside a sqlite store
    (``<dir>/perturbo-unsent``), else ``~/.cache/perturbo/unsent``."""
    db = sqlite_path(uri)
    if db is not None:
        return db.resolve().parent / "perturbo-unsent"
    return Path.home() / ".cache" / "perturbo" / "unsent"


def artifact_location(uri: str, campaign: str) -> str | None:
    """Beside the sqlite file (``<dir>/mlruns/<campaign>``), not in whatever directory the
    process happens to run in; a server decides for itself."""
    db = sqlite_path(uri)
    if db is None:
        return None
    return (db.resolve().parent / "mlruns" / slug(campaign)).as_uri()


def slug(name: str) -> str:
    """``name`` safe as one path component."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def check_reachable(uri: str, timeout_s: float = 3.0) -> None:
    """Fail fast, with the URI and the fix, where the store cannot be used."""
    db = sqlite_path(uri)
    if db is not None:
        parent = db.resolve().parent
        if not parent.is_dir():
            raise PerturboError(
                f"tracking URI {uri!r}: directory {str(parent)!r} does not exist: create it "
                "or pass another --tracking-uri (default: sqlite:///mlflow.db)"
            )
        if not os.access(parent, os.W_OK):
            raise PerturboError(
                f"tracking URI {uri!r}: directory {str(parent)!r} is not writable: "
                "pass a --tracking-uri in a writable directory"
            )
        return
    if uri.startswith(("http://", "https://")):
        base = uri.rstrip("/")
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=timeout_s) as r:  # noqa: S310
                r.read(64)
        except urllib.error.HTTPError as e:
            if e.code in (401, 403):
                return  # reachable; auth is MLflow's business (MLFLOW_TRACKING_TOKEN...)
            if e.code != 404:
                raise _unreachable(uri, f"HTTP {e.code}") from None
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise _unreachable(uri, str(reason)) from None
        return
    if uri.startswith("file:") or "://" not in uri:
        raise PerturboError(
            f"tracking URI {uri!r} is a file store, which MLflow 3 no longer writes by default: "
            "use a sqlite file instead, e.g. --tracking-uri sqlite:///mlflow.db"
        )
    scheme = uri.split("://", 1)[0].split("+", 1)[0].lower()
    if scheme not in _DB_SCHEMES:
        raise PerturboError(
            f"--tracking-uri {uri!r}: {scheme!r} is not a tracking store MLflow knows: use "
            "sqlite:///path.db, http(s)://host:port (an MLflow server) or a database URI "
            "(postgresql://..., mysql://...)"
        )


_DB_SCHEMES = ("postgresql", "mysql", "mssql", "databricks", "databricks-uc")
"""Stores MLflow opens directly besides sqlite and HTTP servers."""


def _unreachable(uri: str, reason: str) -> PerturboError:
    return PerturboError(
        f"MLflow tracking server {uri!r} is unreachable ({reason}): start it "
        "(`mlflow server --host 127.0.0.1 --port 5000`) or pass another --tracking-uri "
        "(default: a local sqlite file, sqlite:///mlflow.db)"
    )


def limit_http_retries() -> None:
    """MLflow retries an unreachable server 7 times with back-off (minutes). A tracking write
    that cannot succeed should fail in seconds: the round is spooled, not lost. A value the
    user set in the environment is kept."""
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "20")
    # tqdm bars for every artifact download would tear through the progress display
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    # agent traces are written with their round, before the round counts as recorded
    os.environ.setdefault("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING", "false")


def make_client(uri: str) -> MlflowClient:
    """A client of the store at ``uri``, after :func:`check_reachable`."""
    check_reachable(uri)
    limit_http_retries()
    from mlflow import MlflowClient

    # "Creating initial MLflow database tables..." on every new store: noise on a progress display
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    return MlflowClient(tracking_uri=uri)


def store_flag(uri: str) -> str:
    """`` --tracking-uri URI`` where ``uri`` is not the default store (so a printed command
    works when pasted), else ``""``."""
    import shlex

    from perturbo.config import default_tracking_uri

    return "" if uri == default_tracking_uri() else f" --tracking-uri {shlex.quote(uri)}"


def wrap_error(uri: str, what: str, e: Exception) -> PerturboError:
    """A store failure (not the user's input) as one clear line naming the URI."""
    msg = str(e).splitlines()[0] if str(e) else type(e).__name__
    return PerturboError(
        f"MLflow at {uri!r} failed while {what} ({msg[:300]}): check the tracking store "
        "(server running? disk full?) and pass a working --tracking-uri"
    )


def unknown_campaign(uri: str, campaign: str) -> PerturboError:
    if not store_exists(uri):
        return PerturboError(
            f"no campaign named {campaign!r}: the tracking store {uri!r} does not exist yet; "
            "pass the --tracking-uri the campaign ran with"
        )
    return PerturboError(
        f"no campaign named {campaign!r} in {uri!r}: `perturbo show` lists the campaigns there"
    )
