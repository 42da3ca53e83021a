"""A database store whose driver is not installed: one line naming the driver and the fix,
not "the store answered ... please report this line".

SQLAlchemy picks the driver from the URI's scheme: ``postgresql://`` means psycopg (3) in
SQLAlchemy 2.1, ``postgresql+psycopg2://`` psycopg2, ``mysql://`` mysqlclient (``MySQLdb``),
``mysql+pymysql://`` PyMySQL. The fix offered names what is installed here, if anything is.
"""

from __future__ import annotations

import importlib.util

from perturbo.types import PerturboError

_DRIVERS: dict[str, tuple[str, str]] = {
    # module: (pip requirement, the URI scheme that uses it)
    "psycopg": ("psycopg[binary]", "postgresql+psycopg"),
    "psycopg2": ("psycopg2-binary", "postgresql+psycopg2"),
    "MySQLdb": ("mysqlclient", "mysql+mysqldb"),
    "pymysql": ("pymysql", "mysql+pymysql"),
    "pyodbc": ("pyodbc", "mssql+pyodbc"),
    "pymssql": ("pymssql", "mssql+pymssql"),
}
_FAMILY = {"postgresql": "postgresql", "mysql": "mysql", "mssql": "mssql"}


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def driver_fix(uri: str, module: str) -> str:
    """The line for ``uri`` whose driver ``module`` cannot be imported: what is missing, and the
    fix (install it, or write the URI with a driver of the same database that is installed)."""
    from perturbo.tracking.uri import shown_uri

    top = module.split(".", 1)[0]
    scheme = uri.split("://", 1)[0]
    family = _FAMILY.get(scheme.split("+", 1)[0].lower())
    pip, _ = _DRIVERS.get(top, (top, ""))
    fixes = [f"`pip install '{pip}'`"]
    for other, (_, other_scheme) in _DRIVERS.items():
        if other != top and other_scheme.split("+")[0] == family and _installed(other):
            rest = uri.split("://", 1)[1] if "://" in uri else ""
            fixes.append(f"write the URI as {shown_uri(f'{other_scheme}://{rest}')} "
                         f"(only the scheme changes; {other} is installed)")  # fmt: skip
            break
    return (
        f"the tracking store {shown_uri(uri)!r} needs the database driver {top!r} "
        f"(for {scheme}://), which is not installed: " + ", or ".join(fixes)
    )


def missing_driver(uri: str, e: BaseException) -> str | None:
    """:func:`driver_fix`'s line where ``e`` is a database driver that is not installed, else
    ``None``."""
    if not isinstance(e, ImportError) or "://" not in uri:
        return None
    scheme = uri.split("://", 1)[0].split("+", 1)[0].lower()
    module = getattr(e, "name", None) or ""
    if scheme not in _FAMILY or module.split(".", 1)[0] not in _DRIVERS:
        return None
    return driver_fix(uri, module)


def check_driver(uri: str) -> None:
    """Refuse a database URI whose SQLAlchemy driver cannot be imported, before MLflow opens it
    (nothing else is checked: the database itself answers when MLflow connects)."""
    scheme = uri.split("://", 1)[0].split("+", 1)[0].lower()
    if scheme not in _FAMILY:
        return
    try:
        from sqlalchemy.engine import make_url

        make_url(uri).get_dialect().import_dbapi()
    except ImportError as e:
        raise PerturboError(missing_driver(uri, e) or driver_fix(uri, e.name or "?")) from None
    except Exception:  # noqa: BLE001, S110 - a URI SQLAlchemy cannot parse: MLflow says why
        pass
