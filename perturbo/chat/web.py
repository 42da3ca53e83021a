"""``perturbo chat --web``: the same agent in a browser, served on 127.0.0.1.

FastAPI + server-sent events + one static page (fastapi, uvicorn and sse-starlette are
already perturbo's dependencies; Gradio would add ~100 MB and several seconds of import for
a chat box). ``GET /api/chat?message=...`` streams the agent's events (steps, facts, prose
tokens, plots, pending actions) as SSE; an action runs only through ``POST /api/confirm``,
which the page's Confirm button sends: the model has no way to call it.
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any

from pydantic import BaseModel

__all__ = ["create_app", "event_json", "serve"]

STATIC = Path(__file__).with_name("static")


class Confirm(BaseModel):
    """The page's answer to a proposed action (its token; yes or no)."""

    token: str
    yes: bool = False


def event_json(event: Any) -> dict[str, Any]:
    """An agent event as the page reads it: ``{"type": "step"|"facts"|..., ...}``."""
    d = {k: v for k, v in asdict(event).items() if k != "results"}
    d["type"] = type(event).__name__.lower()
    return d


def create_app(agent: Any, tools: Any) -> Any:
    from fastapi import FastAPI, HTTPException
    from fastapi.responses import FileResponse, HTMLResponse
    from sse_starlette.sse import EventSourceResponse
    from starlette.concurrency import iterate_in_threadpool

    app = FastAPI(title="perturbo chat", docs_url=None, redoc_url=None)
    lock = threading.Lock()  # one conversation: one answer at a time

    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        return (STATIC / "index.html").read_text()

    @app.get("/api/campaigns")
    def campaigns() -> dict[str, Any]:
        res = tools.call("list_campaigns", {})
        return {"ok": res.ok, "text": res.text, **res.data}

    @app.get("/api/chat")
    def chat(message: str) -> Any:
        def events() -> Any:
            with lock:
                try:
                    for ev in agent.respond(message):
                        yield {"event": "message", "data": json.dumps(event_json(ev), default=str)}
                except Exception as e:  # never a dead stream: the page shows the error
                    err = {"type": "facts", "text": f"error: {type(e).__name__}: {e}", "ok": False}
                    yield {"event": "message", "data": json.dumps(err)}
            yield {"event": "end", "data": "{}"}

        return EventSourceResponse(iterate_in_threadpool(events()))

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

    @app.get("/api/plot")
    def plot(path: str) -> Any:
        p = Path(path).resolve()
        root = Path(tools.plots_dir).resolve()
        if root not in p.parents or p.suffix != ".png" or not p.is_file():
            raise HTTPException(404, "not a plot of this chat")
        return FileResponse(p, media_type="image/png")

    return app


def serve(
    tools: Any,
    llm_config: dict[str, Any],
    mode: str = "auto",
    prose_tokens: int = 48,
    port: int = 8765,
) -> int:
    import uvicorn

    from perturbo.agents.chat.build import make_agent

    print(
        f"perturbo chat --web on {tools.store.uri}: loading the model ({llm_config.get('llm')}) ...",
        flush=True,
    )
    agent = make_agent(tools, llm_config, mode, prose_tokens)
    app = create_app(agent, tools)
    print(f"open http://127.0.0.1:{port} (Ctrl-C stops it)", flush=True)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
    return 0
