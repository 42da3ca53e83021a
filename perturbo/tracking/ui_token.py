"""The access token of ``perturbo ui``'s server, as Jupyter does it.

The server listens on 127.0.0.1, but every user of the machine (and anyone with an SSH
forward to it) reaches 127.0.0.1, and MLflow's UI writes: it deletes runs and experiments,
edits tags and notes. So each start draws a random token; ``perturbo ui`` prints the link
with ``?token=...``. The first request that carries it gets a cookie (HttpOnly, SameSite=Lax:
sent by the browser's own navigations and same-origin requests, not by another site's forms)
and, for a GET, a redirect to the same address without the token, so it leaves the address
bar and the history. Every other request needs the cookie, ``Authorization: Token <token>``
(or ``Bearer``), or ``?token=``; else 403 with one line saying what to open. ``/health``
answers without a token (it says nothing of the store: ``perturbo ui`` waits on it).

The cookie is named after the port: cookies are scoped by host, not port, and two servers on
one machine must not answer each other's.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, urlencode

__all__ = ["cookie_name", "new_token", "with_token"]

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]
OPEN_PATHS = ("/health",)


def new_token() -> str:
    """A fresh token: 192 random bits, URL-safe."""
    return secrets.token_urlsafe(24)


def cookie_name(port: int | str) -> str:
    return f"perturbo_ui_{port}"


def _same(given: str | None, token: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


def _header(scope: Scope, name: bytes) -> str | None:
    for k, v in scope.get("headers", []):
        if k.lower() == name:
            return v.decode("latin-1")
    return None


def _from_cookie(scope: Scope, name: str) -> str | None:
    raw = _header(scope, b"cookie")
    if not raw:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except Exception:  # noqa: BLE001 - a malformed cookie header is no token
        return None
    return jar[name].value if name in jar else None


def _from_authorization(scope: Scope) -> str | None:
    raw = _header(scope, b"authorization") or ""
    scheme, _, value = raw.partition(" ")
    return value.strip() if scheme.lower() in ("token", "bearer") and value.strip() else None


async def _send_text(send: Any, status: int, text: str, headers: list | None = None) -> None:
    body = text.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def with_token(app: ASGIApp, token: str, port: int | str) -> ASGIApp:
    """ASGI middleware: ``app`` behind ``token`` (see the module docstring)."""
    name = cookie_name(port)
    refused = (
        "perturbo ui: this server needs its access token: open the link `perturbo ui` printed "
        f"(http://127.0.0.1:{port}/?token=...)\n"
    )

    async def wrapped(scope: Scope, receive: Any, send: Any) -> None:
        kind = scope.get("type")
        if kind == "lifespan" or (kind == "http" and scope.get("path") in OPEN_PATHS):
            await app(scope, receive, send)
            return
        if kind != "http":  # MLflow serves no websockets: nothing else is let through
            if kind == "websocket":
                await send({"type": "websocket.close", "code": 1008})
            return
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        in_query = next((v for k, v in query if k == "token"), None)
        if _same(in_query, token):
            cookie = f"{name}={token}; Path=/; HttpOnly; SameSite=Lax".encode()
            if scope.get("method") == "GET":  # the token leaves the address bar
                rest = urlencode([(k, v) for k, v in query if k != "token"])
                where = scope.get("path", "/") + (f"?{rest}" if rest else "")
                headers = [(b"location", where.encode()), (b"set-cookie", cookie)]
                await _send_text(send, 302, "", headers)
                return
            await app(scope, receive, send)
            return
        if _same(_from_cookie(scope, name), token) or _same(_from_authorization(scope), token):
            await app(scope, receive, send)
            return
        await _send_text(send, 403, refused)

    return wrapped
