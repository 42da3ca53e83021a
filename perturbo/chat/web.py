"""``perturbo chat --web``: the same agent in a browser, served on 127.0.0.1.

FastAPI + one static page (fastapi and uvicorn are already perturbo's dependencies; Gradio
would add ~100 MB and seconds of import for a chat box). ``POST /api/chat`` streams the
agent's events (steps, facts, prose tokens, plots, pending actions) as JSON lines; an action
runs only through ``POST /api/confirm``, which the page's Confirm button sends: the model has
no way to call it. A lab's results come as a CSV the page uploads with its message
(:mod:`perturbo.chat.web_lab`): previewed, recorded only on Confirm, then the next batch.

No door for other pages (see :class:`Door`): every request must name this chat's own host
(127.0.0.1, localhost, [::1], or a name passed with ``--allow-host``) in ``Host`` and, where a
browser sends one, in ``Origin``; and must carry the session's token, made at start and
printed in the URL as Jupyter does (``/?token=...``). The page keeps the token and sends it
in the ``X-Perturbo-Token`` header, which no other site's page can set or read. Anything else
is answered 403. An answer has a time limit (``--answer-timeout``): past it the page gets a
clear message instead of a spinner; SIGTERM or Ctrl-C stops the server within a second.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel, Field

__all__ = ["LOOPBACK", "TOKEN_HEADER", "Door", "create_app", "event_json", "serve"]

STATIC = Path(__file__).with_name("static")
LOOPBACK = ("127.0.0.1", "localhost", "::1")
TOKEN_HEADER = "x-perturbo-token"
STOP_WITHIN_S = 0.9
"""After SIGTERM or Ctrl-C the process is gone within this long, answer running or not."""


class Confirm(BaseModel):
    """The page's answer to a proposed action (its token; yes or no)."""

    token: str
    yes: bool = False


class Ask(BaseModel):
    """A question from the page."""

    message: str = Field(min_length=1, max_length=8000)


def event_json(event: Any) -> dict[str, Any]:
    """An agent event as the page reads it: ``{"type": "step"|"facts"|..., ...}``."""
    d = {k: v for k, v in asdict(event).items() if k != "results"}
    d["type"] = type(event).__name__.lower()
    return d


def _hostname(host: str) -> str:
    """``127.0.0.1:8765`` -> ``127.0.0.1``; ``[::1]:8765`` -> ``::1``; lower case."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else ""
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class Door:
    """ASGI middleware: 403 unless ``Host`` (and ``Origin``, where sent) name this chat's own
    host and port, and the session token comes in the ``X-Perturbo-Token`` header (the page
    itself, ``GET /``, takes it from ``?token=``). Stops DNS rebinding (a foreign ``Host``),
    other sites' pages (a foreign ``Origin``, and no token) and other local users' requests."""

    def __init__(self, app: Any, token: str, port: int, hosts: Iterable[str] = ()) -> None:
        self.app = app
        self.token = token
        self.port = port
        self.hosts = frozenset((*LOOPBACK, *(_hostname(h) for h in hosts)))

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        why = self.refusal(scope)
        if why is None:
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":
            await send({"type": "websocket.close", "code": 1008})
            return
        body = f"403 forbidden: {why}\n".encode()
        await send(
            {
                "type": "http.response.start",
                "status": 403,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                    (b"cache-control", b"no-store"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def refusal(self, scope: dict[str, Any]) -> str | None:
        """Why a request is refused, or None."""
        headers: dict[str, str] = {}
        for k, v in scope.get("headers", []):
            name = k.decode("latin-1").lower()
            if name in headers and name in ("host", "origin", TOKEN_HEADER):
                return f"more than one {name} header"
            headers[name] = v.decode("latin-1")
        url = f"http://127.0.0.1:{self.port}/?token=..."
        host = headers.get("host", "")
        if _hostname(host) not in self.hosts:
            return f"Host {host!r} is not this chat's; open the URL perturbo printed ({url})"
        origin = headers.get("origin")
        if origin is not None and not self._own_origin(origin):
            return f"Origin {origin!r} is not this chat's page"
        token = headers.get(TOKEN_HEADER, "")
        if scope.get("path") == "/" and scope.get("method") == "GET" and not token:
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            token = (query.get("token") or [""])[0]
        if not token or not secrets.compare_digest(token.encode(), self.token.encode()):
            return f"missing or wrong token; open the URL perturbo printed ({url})"
        return None

    def _own_origin(self, origin: str) -> bool:
        try:
            u = urlsplit(origin)
            port = u.port or 80
        except ValueError:
            return False
        return u.scheme == "http" and (u.hostname or "") in self.hosts and port == self.port


def _line(d: dict[str, Any]) -> bytes:
    return (json.dumps(d, default=str) + "\n").encode()


def _late(limit_s: float, busy: bool) -> str:
    what = (
        "the previous answer is still running past its time limit"
        if busy
        else f"no answer within {limit_s:g} s: the model is too slow here"
    )
    return (
        f"{what}. Ask again (/list, /show NAME answer at once), ask a shorter question, "
        "use the tiny model (--llm-model smollm2-135m), or raise --answer-timeout."
    )


async def answer_lines(
    agent: Any, message: str, gate: threading.Lock, limit_s: float
) -> AsyncIterator[bytes]:
    """The agent's events for ``message`` as JSON lines, as they come, ending with
    ``{"type": "end"}``; past ``limit_s`` a ``{"type": "timeout"}`` line ends it (the agent
    stops at its next event). ``gate``: one answer at a time (one conversation)."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
    stop, started = threading.Event(), threading.Event()

    def put(item: dict[str, Any] | None) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # the server stopped meanwhile
            pass

    def work() -> None:
        if not gate.acquire(timeout=limit_s):
            return
        started.set()
        try:
            events = agent.respond(message)
            try:
                for ev in events:
                    if stop.is_set():
                        break
                    put(event_json(ev))
            finally:
                close = getattr(events, "close", None)
                if close is not None:
                    close()
        except Exception as e:  # never a dead stream: the page shows the error
            put({"type": "facts", "text": f"error: {type(e).__name__}: {e}", "ok": False})
        finally:
            gate.release()
            put(None)

    threading.Thread(target=work, name="perturbo-chat-answer", daemon=True).start()
    deadline = loop.time() + limit_s
    try:
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), max(0.0, deadline - loop.time()))
            except TimeoutError:
                yield _line({"type": "timeout", "text": _late(limit_s, not started.is_set())})
                break
            if item is None:
                break
            yield _line(item)
    finally:
        stop.set()
    yield _line({"type": "end"})


def create_app(
    agent: Any,
    tools: Any,
    token: str,
    port: int,
    hosts: Iterable[str] = (),
    answer_timeout: float = 60.0,
) -> Any:
    """The web chat as an ASGI app, behind its :class:`Door`."""
    from fastapi import FastAPI, HTTPException
    from fastapi.responses import FileResponse, HTMLResponse, StreamingResponse

    app = FastAPI(title="perturbo chat", docs_url=None, redoc_url=None, openapi_url=None)
    gate = threading.Lock()  # one conversation: one answer at a time
    page_headers = {
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",  # the token in the URL goes nowhere
        "X-Frame-Options": "DENY",  # no other page frames the Confirm button
        "Content-Security-Policy": "frame-ancestors 'none'",
    }

    @app.get("/", response_class=HTMLResponse)
    def index() -> HTMLResponse:
        return HTMLResponse((STATIC / "index.html").read_text(), headers=page_headers)

    @app.get("/api/campaigns")
    def campaigns() -> dict[str, Any]:
        res = tools.call("list_campaigns", {})
        return {"ok": res.ok, "text": res.text, **res.data}

    @app.post("/api/chat")
    def chat(body: Ask) -> Any:
        return StreamingResponse(
            answer_lines(agent, body.message, gate, answer_timeout),
            media_type="application/x-ndjson",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    @app.post("/api/confirm")
    def confirm(body: Confirm) -> dict[str, Any]:
        from perturbo.types import PerturboError

        if not body.yes:
            tools.launcher.decline(body.token)
            return {"ok": True, "text": "declined: nothing was started"}
        try:
            return {"ok": True, "text": tools.launcher.confirm(body.token)}
        except PerturboError as e:
            return {"ok": False, "text": str(e)}

    from perturbo.chat.web_lab import add_lab_routes

    add_lab_routes(app, tools, agent)  # results upload -> preview -> confirm; the batch sheet

    @app.get("/api/plot")
    def plot(path: str) -> Any:
        p = Path(path).resolve()
        root = Path(tools.plots_dir).resolve()
        if root not in p.parents or p.suffix != ".png" or not p.is_file():
            raise HTTPException(404, "not a plot of this chat")
        return FileResponse(p, media_type="image/png")

    return Door(app, token, port, hosts)


def _bind(port: int) -> socket.socket:
    from perturbo.types import PerturboError

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except (OSError, OverflowError) as e:
        sock.close()
        why = getattr(e, "strerror", None) or "not a port number"
        raise PerturboError(
            f"--port {port}: cannot listen on 127.0.0.1:{port} ({why}); pick another port "
            "(1024-65535), or --port 0 for any free one"
        ) from None
    return sock


def serve(
    tools: Any,
    llm_config: dict[str, Any],
    mode: str = "auto",
    prose_tokens: int = 0,
    port: int = 8765,
    *,
    hosts: Iterable[str] = (),
    answer_timeout: float = 60.0,
    agent: Any = None,
) -> int:
    """Load the model (unless ``agent`` is given), then serve the chat on 127.0.0.1:``port``
    until SIGTERM or Ctrl-C; the URL with the session token is printed once it listens."""
    import uvicorn

    sock = _bind(port)  # a port in use is said now, not after minutes of loading the model
    port = int(sock.getsockname()[1])
    if agent is None:
        from perturbo.chat.build import make_agent
        from perturbo.tracking.uri import shown_uri

        print(
            f"perturbo chat --web on {shown_uri(tools.store.uri)}: loading the model "
            f"({llm_config.get('llm')}) ...",
            flush=True,
        )
        agent = make_agent(tools, llm_config, mode, prose_tokens)
    token = secrets.token_urlsafe(24)
    app = create_app(agent, tools, token, port, hosts, answer_timeout)
    config = uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=0.3)
    server = _server_class()(config)

    def announce() -> None:
        while not server.started and not server.should_exit:
            time.sleep(0.02)
        if server.started:
            print(
                f"open http://127.0.0.1:{port}/?token={token} (this URL is the key: share it with "
                "no one; Ctrl-C stops it)",
                flush=True,
            )

    threading.Thread(target=announce, name="perturbo-chat-announce", daemon=True).start()
    server.run(sockets=[sock])
    return 0


def _server_class() -> type:
    import uvicorn

    class Server(uvicorn.Server):  # type: ignore[misc]
        """uvicorn's server, gone within :data:`STOP_WITHIN_S` of SIGTERM or Ctrl-C: a
        running answer (a model mid-generation) or an open stream does not hold it."""

        def handle_exit(self, sig: int, frame: Any) -> None:
            if not self.should_exit:
                print(
                    f"stopping ({signal.Signals(sig).name}); campaigns started from this chat "
                    "keep running and recording",
                    flush=True,
                )
                stop = threading.Timer(STOP_WITHIN_S, os._exit, (128 + int(sig),))
                stop.daemon = True
                stop.start()
            super().handle_exit(sig, frame)

    return Server
