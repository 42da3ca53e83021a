"""A campaign recorded through an MLflow tracking server keeps its files (rounds'
experiments, hits, plots, config) on that server (``mlflow-artifacts:`` URIs); read with a
direct database URI (``postgresql://``, the server's sqlite file) only the database is there.
:mod:`perturbo.tracking.reader` then counts rounds from the metrics and raises
:class:`FilesOnServer` for what only the server has, and ``perturbo show`` prints the rest."""

from __future__ import annotations

from perturbo.tracking.uri import shown_uri
from perturbo.types import PerturboError

SERVED = "mlflow-artifacts:"


class FilesOnServer(PerturboError):
    """The campaign's files are on the tracking server, which this URI does not reach."""


def files_on_server(uri: str, artifact_uri: str | None) -> bool:
    """True where ``artifact_uri`` is served by a tracking server that ``uri`` does not name."""
    return str(artifact_uri or "").startswith(SERVED) and not uri.startswith(
        ("http://", "https://")
    )


def files_on_server_error(uri: str, campaign: str) -> FilesOnServer:
    return FilesOnServer(
        f"the files of campaign {campaign!r} (its experiments, hits, plots, config) are on the "
        f"MLflow tracking server that recorded it, not in the database {shown_uri(uri)!r}: pass "
        "--tracking-uri http://HOST:PORT of that server to read them"
    )


__all__ = ["FilesOnServer", "files_on_server", "files_on_server_error"]
