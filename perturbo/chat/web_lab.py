"""The web chat's lab routes: "here are the results" with a CSV upload, and the batch sheet.

``POST /api/lab/upload`` takes the page's message and the CSV it attached, keeps the file in
the chat's folder and hands it to the ``tell_results`` tool, which previews what would be
recorded (genes, scores, hits under the campaign's rule, what stays pending) and proposes a
``tell`` action: nothing is recorded until the page's Confirm (``POST /api/confirm``), which
records the round exactly once and answers with the next batch (or, where the file left
some of the batch's genes without a result, the same batch, still waiting for them). ``GET /api/lab/sheet`` is the
pending batch sheet as a CSV download. Both sit behind the chat's :class:`~perturbo.chat.web.Door`.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from pydantic import BaseModel, Field

from perturbo.types import PerturboError

__all__ = ["Upload", "add_lab_routes", "lab_campaign"]

WAITING_TAG = "perturbo.lab.waiting"


class Upload(BaseModel):
    """Results the page uploads: the message typed with them, the file's name and text."""

    message: str = Field(default="", max_length=8000)
    filename: str = Field(default="results.csv", max_length=200)
    text: str = Field(max_length=20_000_000)


def lab_campaign(tools: Any, message: str, last: str | None = None) -> str:
    """The lab campaign a message with an upload means: the one it names, else the only one
    waiting for results, else the one the conversation was about; else a clear error."""
    from perturbo.agents.chat.names import match

    summaries = list(tools.store.list_campaigns())
    waiting = [c.name for c in summaries if c.run_tags.get(WAITING_TAG)]
    m = match(message, summaries, None) if message.strip() else None
    if m is not None and m.unknown:
        return str(m.unknown[0])  # the tool says it is unknown, listing the campaigns
    if m is not None and m.names:
        return str(m.names[0])
    if len(waiting) == 1:
        return waiting[0]
    if last in waiting:
        return str(last)
    raise PerturboError(
        "which campaign are these results for? Name it in your message"
        + (f" (waiting for results: {', '.join(waiting)})" if waiting else
           " (no lab campaign waits for results in this store)")
    )  # fmt: skip


def add_lab_routes(app: Any, tools: Any, agent: Any) -> None:
    """Add the lab routes to the web chat's ``app``."""
    from fastapi.responses import Response

    @app.post("/api/lab/upload")
    def upload(body: Upload) -> dict[str, Any]:
        try:
            name = lab_campaign(tools, body.message, getattr(agent, "last_campaign", None))
            path = tools.stage_results(body.text, body.filename)
        except PerturboError as e:
            return {"ok": False, "text": str(e)}
        res = tools.call("tell_results", {"name": name, "results": str(path)})
        out: dict[str, Any] = {"ok": res.ok, "text": res.text, "campaign": name}
        if res.ok and res.pending is not None:
            p = res.pending
            out["pending"] = {
                "token": p.token,
                "description": p.description,
                "command": p.command(),
            }
            out["campaign"] = p.campaign
            # genes of the batch this file leaves without a result: after the Confirm the
            # page offers the same batch again (it still waits for them), not a next one
            out["still_pending"] = len(res.data.get("still_pending") or ())
        return out

    @app.get("/api/lab/sheet")
    def sheet(campaign: str) -> Any:
        res = tools.call("pending_batch", {"name": campaign})
        rows = res.data.get("sheet") if res.ok else None
        if not rows:
            return Response(res.text + "\n", status_code=404, media_type="text/plain")
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
        name = "".join(c if c.isalnum() or c in "-_" else "-" for c in res.data["name"])
        return Response(
            buf.getvalue(),
            media_type="text/csv",
            headers={
                "Content-Disposition": f'attachment; filename="{name}-round{res.data["round"]}.csv"',
                "Cache-Control": "no-store",
            },
        )
