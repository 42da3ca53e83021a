"""Tracking URIs: what a URI may be, whether its store can be used, and the one way a client
is made (with MLflow's retries cut down to seconds).

Nothing here imports mlflow at module import time.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import sqlite3
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

from perturbo.types import PerturboError

if TYPE_CHECKING:
    from mlflow import MlflowClient

_QUIET_LOGGERS = ("mlflow.store.db.utils", "alembic.runtime.migration", "mlflow.tracking")


_USERINFO_PW = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#@:'\"]*):[^\s/'\"]*@")
"""``scheme://user:PASSWORD@``: the password is everything up to the last ``@`` before the path
(an unescaped ``@`` in it included), never past a space, a quote or a ``/``."""
_QUERY_PW = re.compile(r"(?P<key>[?&](?:password|passwd|pwd)=)[^&#\s'\"]*", re.IGNORECASE)
"""``...?password=PASSWORD`` (libpq and SQLAlchemy take a password there too)."""


def shown_uri(text: str) -> str:
    """``text`` (a URI, or a message naming URIs) with every password in it replaced by ``***``:
    ``postgresql://u:pw@host:5432/db`` -> ``postgresql://u:***@host:5432/db``; user, host,
    port, path stay, and a URI without a password (sqlite, file, databricks, http) is unchanged.
    Every URI perturbo prints, puts in an error or records goes through it (MLflow, too, shows
    URIs with the credentials removed): job logs are read by whoever can see the dashboard."""
    if "@" not in text and "=" not in text:
        return text
    return _QUERY_PW.sub(r"\g<key>***", _USERINFO_PW.sub(r"\g<head>:***@", text))


def has_password(uri: str) -> bool:
    """Whether :func:`shown_uri` hides something in ``uri``."""
    return shown_uri(uri) != uri


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:`` URI (``None`` for any other URI)."""
    if not uri.startswith("sqlite:"):
        return None
    rest = uri[len("sqlite:") :]
    if rest.startswith("///"):
        return Path(rest[3:])  # sqlite:///rel.db -> rel.db; sqlite:////abs.db -> /abs.db
    raise PerturboError(
        f"tracking URI {shown_uri(uri)!r} is not a sqlite file URI: use sqlite:///relative/path.db "
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
    """``name`` safe as one path component (never ``.``, ``..`` or empty)."""
    out = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
    return out if out.strip(".") else out.replace(".", "_") or "_"


def check_reachable(uri: str, timeout_s: float = 3.0) -> None:
    """Fail fast, with the URI and the fix, where the store cannot be used."""
    db = sqlite_path(uri)
    if db is not None:
        parent = db.resolve().parent
        if not parent.is_dir():
            raise PerturboError(
                f"tracking URI {shown_uri(uri)!r}: directory {str(parent)!r} does not exist: create it "
                "or pass another --tracking-uri (default: sqlite:///mlflow.db)"
            )
        if not os.access(parent, os.W_OK):
            raise PerturboError(
                f"tracking URI {shown_uri(uri)!r}: directory {str(parent)!r} is not writable: "
                "pass a --tracking-uri in a writable directory"
            )
        if db.is_dir():
            raise PerturboError(
                f"tracking URI {shown_uri(uri)!r}: {str(db)!r} is a directory, not a sqlite file: "
                "pass the path of a .db file, e.g. --tracking-uri sqlite:///mlflow.db"
            )
        return
    if uri.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(_health_request(uri), timeout=timeout_s) as r:  # noqa: S310
                r.read(64)
        except urllib.error.HTTPError as e:
            if e.code in (401, 403):
                return  # reachable; auth is MLflow's business (MLFLOW_TRACKING_TOKEN...)
            if e.code != 404:
                raise _unreachable(uri, f"HTTP {e.code}") from None
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise _unreachable(uri, shown_uri(str(reason))) from None
        return
    if uri.startswith("file:") or "://" not in uri:
        raise PerturboError(
            f"tracking URI {shown_uri(uri)!r} is a file store, which MLflow 3 no longer writes by default: "
            "use a sqlite file instead, e.g. --tracking-uri sqlite:///mlflow.db"
        )
    scheme = uri.split("://", 1)[0].split("+", 1)[0].lower()
    if scheme not in _DB_SCHEMES:
        raise PerturboError(
            f"--tracking-uri {shown_uri(uri)!r}: {scheme!r} is not a tracking store MLflow "
            "knows: use sqlite:///path.db, http(s)://host:port (an MLflow server) or a database "
            "URI (postgresql+psycopg2://..., mysql+pymysql://...)"
        )
    from perturbo.tracking.store_errors import check_driver

    check_driver(uri)


def _health_request(uri: str) -> urllib.request.Request:
    """``GET <server>/health``, with any ``user:password@`` in ``uri`` sent as HTTP basic auth
    (as MLflow's client does) rather than left in the URL, where urllib takes it for the host."""
    import base64
    from urllib.parse import unquote, urlsplit, urlunsplit

    parts = urlsplit(uri.rstrip("/"))
    headers = {}
    if parts.username is not None or parts.password is not None:
        cred = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}"
        parts = parts._replace(netloc=parts.netloc.rpartition("@")[2])  # host[:port]
        headers["Authorization"] = "Basic " + base64.b64encode(cred.encode()).decode("ascii")
    return urllib.request.Request(f"{urlunsplit(parts)}/health", headers=headers)


_DB_SCHEMES = ("postgresql", "mysql", "mssql", "databricks", "databricks-uc")
"""Stores MLflow opens directly besides sqlite and HTTP servers."""


def _unreachable(uri: str, reason: str) -> PerturboError:
    from urllib.parse import urlsplit

    parts = urlsplit(uri)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:  # a port that is not a number: MLflow's own default in the hint
        port = 5000
    return PerturboError(
        f"MLflow tracking server {shown_uri(uri)!r} is unreachable ({reason}): start it "
        f"(on its machine: `mlflow server --host 127.0.0.1 --port {port}`) or pass another "
        "--tracking-uri "
        "(default: a local sqlite file, sqlite:///mlflow.db)"
    )


def make_client(uri: str) -> MlflowClient:
    """A client of the store at ``uri``, after :func:`check_reachable` and, for a sqlite
    store, :func:`prepare_store`. The MLflow client's process settings (few HTTP retries, no
    progress bars, traces written synchronously: :data:`perturbo.config.MLFLOW_CLIENT_DEFAULTS`)
    are the entry point's to apply (:func:`perturbo.config.prepare_process`)."""
    check_reachable(uri)
    from mlflow import MlflowClient

    # "Creating initial MLflow database tables..." on every new store: noise on a progress display
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    prepare_store(uri)
    return MlflowClient(tracking_uri=uri)


_PREPARED: set[str] = set()
_PREPARING = threading.Lock()


def lock_path(db: Path) -> Path:
    """The lock file beside a sqlite store: ``<dir>/.<name>.lock``."""
    return db.parent / f".{db.name}.lock"


@contextlib.contextmanager
def store_lock(db: Path) -> Any:
    """An exclusive ``flock`` on the lock file beside ``db`` (every process that creates or
    migrates the store takes it). Where the lock file cannot be made (a read-only folder),
    nothing can create the store there either: go on unlocked."""
    try:
        f = open(lock_path(db), "a")  # noqa: SIM115 - held for the block
    except OSError:
        yield
        return
    try:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield
    finally:
        f.close()  # releases the flock


def prepare_store(uri: str) -> None:
    """Create or migrate a sqlite store once, under :func:`store_lock`, before any client uses
    it: MLflow creates its tables on first open, and several processes opening a new file at
    once race in its schema migration (all fail, the store broken for good). Once per process
    and URI; a file that is not a database is named as damaged, not a traceback."""
    db = sqlite_path(uri)
    if db is None or uri in _PREPARED:
        return
    with _PREPARING, store_lock(db):
        if uri in _PREPARED:
            return
        _probe(uri, db)
        try:
            from mlflow.tracking._tracking_service.utils import _get_store

            _get_store(uri)  # creates / migrates the schema; MLflow caches the store
        except Exception as e:  # noqa: BLE001 - MLflow's own errors: one line, classified
            raise wrap_error(uri, "opening the store", e) from None
        _PREPARED.add(uri)


def _probe(uri: str, db: Path) -> None:
    """An existing file that SQLite cannot read as a database: damaged, named, with the fix."""
    if not db.is_file() or db.stat().st_size == 0:
        return
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
        try:
            con.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            con.close()
    except sqlite3.DatabaseError as e:
        if "locked" in str(e) or "busy" in str(e):
            return  # another process writes: MLflow waits for it
        raise PerturboError(
            f"the tracking store {shown_uri(uri)!r} is damaged: {str(db)!r} is not a readable SQLite "
            f"database ({e}); restore it from a backup, or move it aside and pass another "
            "--tracking-uri (nothing was written to it)"
        ) from None


def store_flag(uri: str) -> str:
    """`` --tracking-uri URI`` where ``uri`` is not the default store (so a printed command
    works when pasted), else ``""``. A URI with a password is never printed: the flag reads
    ``"$MLFLOW_TRACKING_URI"`` instead (set it to the URI, and the command works when pasted)."""
    import shlex

    from perturbo.config import default_tracking_uri

    if uri == default_tracking_uri():
        return ""
    if has_password(uri):  # never printed: the variable holds it (and MLflow reads it too)
        return ' --tracking-uri "$MLFLOW_TRACKING_URI"'
    return f" --tracking-uri {shlex.quote(uri)}"


_DAMAGE = ("not a database", "malformed", "no such table", "no such column", "corrupt")
"""What a store whose content is damaged (not unreachable) answers."""


def store_damaged(e: BaseException) -> bool:
    """Whether ``e`` says the store's content is damaged, rather than that it is unreachable
    (a server down, a file that cannot be opened, a disk full)."""
    text = f"{type(e).__name__} {e}".lower()
    return any(k in text for k in _DAMAGE) or isinstance(e, (ValueError, KeyError))


_UNREACHABLE = (
    "unable to open",
    "connection",
    "connect",
    "timed out",
    "timeout",
    "max retries",
    "refused",
    "unreachable",
    "disk i/o",
    "no space",
    "read-only",
    "readonly",
    "locked",
    "permission denied",
    "temporarily unavailable",
    "service unavailable",
    "name or service not known",
    "bad gateway",
    "gateway time",
)
"""What a store that cannot be reached (or written) answers: the server, the network, the disk."""


def store_unreachable(e: BaseException) -> bool:
    """Whether ``e`` says the store could not be reached or written (a server down, a network
    error, a file that cannot be opened, a full or read-only disk) rather than that a request
    to a working store failed."""
    if isinstance(e, (ConnectionError, TimeoutError, OSError)):
        return True
    text = f"{type(e).__name__} {e}".lower()
    return any(k in text for k in _UNREACHABLE)


def wrap_error(uri: str, what: str, e: Exception) -> PerturboError:
    """A store failure (not the user's input) as one clear line naming the URI, saying whether
    the store was unreachable or its content is damaged."""
    from perturbo.tracking.store_errors import missing_driver

    missing = missing_driver(uri, e)
    if missing is not None:
        return PerturboError(f"{what}: {missing}")
    msg = shown_uri(str(e).splitlines()[0] if str(e) else type(e).__name__)
    if store_damaged(e):
        return PerturboError(
            f"the tracking store {shown_uri(uri)!r} has damaged content ({msg[:300]}) while {what}: "
            "restore it from a backup, or pass another --tracking-uri; nothing was changed"
        )
    if store_unreachable(e):
        return PerturboError(
            f"the tracking store {shown_uri(uri)!r} could not be reached while {what} ({msg[:300]}): "
            "check it (server running? disk full? file readable?) and pass a working --tracking-uri"
        )
    return PerturboError(
        f"{what} failed on the tracking store {shown_uri(uri)!r} ({type(e).__name__}: {msg[:300]}); "
        "the store answered, so this is not a connection problem: what was recorded before "
        "stays, `perturbo resume` continues, and if it happens again please report this line"
    )


def unknown_campaign(uri: str, campaign: str) -> PerturboError:
    if not store_exists(uri):
        return PerturboError(
            f"no campaign named {campaign!r}: the tracking store {shown_uri(uri)!r} does not exist yet; "
            "pass the --tracking-uri the campaign ran with"
        )
    return PerturboError(
        f"no campaign named {campaign!r} in {shown_uri(uri)!r}: `perturbo show` lists the campaigns there"
    )
