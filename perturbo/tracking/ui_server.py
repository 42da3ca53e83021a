"""The MLflow UI for ``perturbo ui``, in one process: ``python -m perturbo.tracking.ui_server
- HOST PORT`` (the store URI and access token on standard input: :func:`read_settings`).

Why not ``mlflow ui``: in MLflow 3.17 it starts a CLI process, a uvicorn supervisor with 4
workers that each import the whole server (~10 s of CPU apiece), and a huey job runner; on
a busy 2-core machine the first HTTP 200 comes after 50-60 s (and more: uvicorn kills a
worker that misses its 5 s health check, and starts another). Here one uvicorn process
serves MLflow's own ASGI app (``mlflow.server.fastapi_app``), jobs off.

MLflow 3.17's UI picks the GenAI or the classic (runs) view from ``workflowType`` in the
URL, else from the browser's ``localStorage["mlflow.workflowType_v1"]`` (default: GenAI); the
experiment's ``mlflow.experimentKind`` tag no longer decides it (its feature flag reads
the global workflow type), and on 127.0.0.1 the assistant panel opens itself on first load.
So the index page gets a few lines of script that set both defaults where the browser has
no choice stored yet; a choice made in the UI is kept. Campaign experiments also get the
``mlflow.experimentKind`` tag and a description (:func:`mark_campaigns`), for other UIs.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from perturbo.tracking.layout import KIND_TAG, NOTE_TAG, VIEW_TAG, VIEW_VALUE

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[
    [Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]
]

UI_DEFAULTS = {
    "mlflow.workflowType_v1": '"machine_learning"',
    "mlflow.assistant.fab.autoOpenedOnFirstLoad_v1": "true",
}
"""localStorage defaults (MLflow 3.17 key ``<key>_v<version>``, JSON values): the runs view,
and the assistant panel counted as already shown once."""

_SCRIPT = (
    "<script>(function(){try{var d=%s;for(var k in d){if(localStorage.getItem(k)===null)"
    "{localStorage.setItem(k,d[k]);}}}catch(e){}})();</script>"
)


def server_env(uri: str) -> dict[str, str]:
    """What ``mlflow server`` hands its workers (``mlflow.server.constants``), for ``uri``."""
    from perturbo.tracking.uri import sqlite_path

    db = sqlite_path(uri)
    root = {"_MLFLOW_SERVER_ARTIFACT_ROOT": (db.resolve().parent / "mlruns").as_uri()} if db else {}
    return {
        **root,
        "_MLFLOW_SERVER_FILE_STORE": uri,
        "_MLFLOW_SERVER_REGISTRY_STORE": uri,
        "_MLFLOW_SERVER_SERVE_ARTIFACTS": "true",
        "_MLFLOW_SGI_NAME": "uvicorn",
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "MLFLOW_ENABLE_WORKSPACES": "false",
    }


def _check_env_names() -> None:
    """The names above are MLflow's internal contract: fail loudly if a new MLflow renamed them."""
    from mlflow.server import constants

    names = (constants.BACKEND_STORE_URI_ENV_VAR, constants.REGISTRY_STORE_URI_ENV_VAR)
    if names != ("_MLFLOW_SERVER_FILE_STORE", "_MLFLOW_SERVER_REGISTRY_STORE"):
        raise RuntimeError(
            f"this MLflow names its server store variables {names}: update ui_server"
        )


def inject_defaults(html: bytes) -> bytes:
    """``html`` with the localStorage defaults set before MLflow's scripts run."""
    import json

    tag = (_SCRIPT % json.dumps(UI_DEFAULTS)).encode()
    i = html.find(b"<head>")
    return html[: i + 6] + tag + html[i + 6 :] if i >= 0 else tag + html


def with_defaults(app: ASGIApp) -> ASGIApp:
    """ASGI middleware: HTML pages get :func:`inject_defaults` (everything else passes)."""

    async def wrapped(scope: Scope, receive: Any, send: Any) -> None:
        if scope.get("type") != "http" or scope.get("method") != "GET":
            await app(scope, receive, send)
            return
        # no 304 for the page: a copy cached from a plain `mlflow ui` would lack the script
        scope["headers"] = [
            (k, v)
            for k, v in scope.get("headers", [])
            if k not in (b"if-none-match", b"if-modified-since")
        ]
        start: dict[str, Any] = {}
        body: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                ctype = dict(message.get("headers", [])).get(b"content-type", b"")
                if not ctype.startswith(b"text/html"):
                    start["pass"] = True
                    await send(message)
                    return
                start.update(message)
                return
            if start.get("pass"):
                await send(message)
                return
            body.append(message.get("body", b""))
            if message.get("more_body"):
                return
            html = inject_defaults(b"".join(body))
            headers = [
                (k, v) for k, v in start.get("headers", []) if k not in (b"content-length", b"etag")
            ]
            headers.append((b"content-length", str(len(html)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": html})

        await app(scope, receive, capture)

    return wrapped


def mark_campaigns(uri: str, summaries: bool = True) -> int:
    """Give every campaign experiment in ``uri`` the runs-view tag and a description where it
    has none; with ``summaries``, write the full summary of finished campaigns recorded before
    perturbo wrote one (in a background thread: the server does not wait). Returns how many
    experiments were changed."""
    from perturbo.tracking.reader import find_parent
    from perturbo.tracking.summary import start_description
    from perturbo.tracking.uri import make_client

    c = make_client(uri)
    changed, todo = 0, []
    for exp in c.search_experiments(max_results=50_000):
        tags = dict(exp.tags)
        if KIND_TAG not in tags:
            continue
        new: dict[str, str] = {}
        if tags.get(VIEW_TAG) != VIEW_VALUE:
            new[VIEW_TAG] = VIEW_VALUE
        parent = find_parent(c, exp.experiment_id)
        if NOTE_TAG not in tags:
            planner = parent.data.params.get("planner", "") if parent is not None else ""
            new[NOTE_TAG] = start_description(exp.name, tags.get(KIND_TAG, ""), planner, None)
        for k, v in new.items():
            c.set_experiment_tag(exp.experiment_id, k, v)
        changed += bool(new)
        if parent is not None and NOTE_TAG not in parent.data.tags:
            todo.append((exp, parent))
    if summaries and todo:
        threading.Thread(target=_summarise_old, args=(uri, todo), daemon=True).start()
    return changed


def _summarise_old(uri: str, todo: list[tuple[Any, Any]]) -> None:
    """The summary of campaigns recorded before the recorder wrote one (best effort)."""
    from perturbo.tracking.layout import round_base
    from perturbo.tracking.reader import MlflowStore, load_series
    from perturbo.tracking.summary import CampaignFacts, write_summary

    store = MlflowStore(uri)
    for exp, parent in todo:
        try:
            p, t = parent.data.params, parent.data.tags
            objective = p.get("objective", "")
            facts = CampaignFacts(
                campaign=exp.name,
                kind=t.get(KIND_TAG, ""),
                experiment_id=exp.experiment_id,
                run_id=parent.info.run_id,
                status=parent.info.status,
                history=list(store.history(exp.name)),
                series=load_series(store.client, parent.info.run_id, round_base(t)),
                round_base=round_base(t),
                objective=objective.split(",")[0],
                direction=p.get("direction", "max").split(",")[0],
                objectives=tuple(objective.split(",")) if "," in objective else (),
                directions=tuple(p.get("direction", "max").split(",")),
                params=dict(p),
                nesting=t.get("perturbo.nesting", "trial"),
                planner=p.get("planner", ""),
            )
            write_summary(store.client, facts)
        except Exception:  # noqa: BLE001 - an old campaign is shown as it is
            continue


def build_app(uri: str) -> ASGIApp:
    """MLflow's server app on ``uri``, with the UI defaults. MLflow's handlers read
    :func:`server_env` from the process environment: :func:`main` (this server's entry
    point) sets it first."""
    _check_env_names()
    from mlflow.server.fastapi_app import app
    from mlflow.server.handlers import initialize_backend_stores

    initialize_backend_stores(uri, uri, server_env(uri).get("_MLFLOW_SERVER_ARTIFACT_ROOT"))
    return with_defaults(app)


def read_settings(first: str) -> tuple[str, str | None]:
    """The store URI and token: ``-`` reads them from standard input (one line: JSON
    ``{"uri": ..., "token": ...}``, or the URI alone), so a password in the URI never shows in
    the process list (``ps`` shows every user a command line); else ``first`` is the URI."""
    import json

    if first != "-":
        return first, None
    line = sys.stdin.readline().strip()
    if line.startswith("{"):
        given = json.loads(line)
        return str(given["uri"]), given.get("token") or None
    return line, None


def main(argv: list[str] | None = None) -> int:
    """``python -m perturbo.tracking.ui_server URI|- HOST PORT``: serve until SIGINT/SIGTERM,
    behind an access token (:mod:`perturbo.tracking.ui_token`; drawn here, and the link to
    open printed, when standard input gave none)."""
    import logging
    import warnings

    from perturbo.config import apply_env, prepare_process
    from perturbo.tracking.ui_token import new_token, with_token

    first, host, port = (argv if argv is not None else sys.argv[1:])[:3]
    uri, token = read_settings(first)
    if token is None:
        token = new_token()
        print(f"open http://{host}:{port}/?token={token}", flush=True)
    prepare_process()  # this process's MLflow client settings (mark_campaigns reads the store)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    # MLflow's server imports Starlette APIs that Starlette deprecates with a UserWarning
    # subclass: a warning about MLflow's code, printed to a user who cannot act on it
    from starlette.exceptions import StarletteDeprecationWarning  # (a UserWarning)

    warnings.filterwarnings("ignore", category=StarletteDeprecationWarning)
    try:
        mark_campaigns(uri)
    except Exception as e:  # noqa: BLE001 - browsing must not depend on it
        print(f"perturbo ui: could not tag the campaigns ({e})", file=sys.stderr)
    apply_env(server_env(uri))  # what `mlflow server` hands its workers, read per request
    app = with_token(build_app(uri), token, port)
    import uvicorn

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    uvicorn.run(app, host=host, port=int(port), workers=1, log_level="warning", access_log=False)
    return 0


__all__ = [
    "UI_DEFAULTS",
    "build_app",
    "inject_defaults",
    "main",
    "mark_campaigns",
    "read_settings",
    "server_env",
]

if __name__ == "__main__":
    raise SystemExit(main())
