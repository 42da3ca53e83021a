"""A confirmed launch that ends at once is said as it ended, never as started.

``perturbo run|resume`` refuses bad input in its first seconds (one ``perturbo: error:`` line
in its log, exit 2); the chat watches a launch until its log says its checks passed, for at
most :data:`EARLY_EXIT_S`, before it answers "started", and one that exited says its log's
error line instead. The resume of a lab campaign is one short step with no process left
running (:mod:`perturbo.lab.extend`: a new budget, the next batch proposed and its sheet
written): it is waited for and said as done.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from perturbo.types import PerturboError

if TYPE_CHECKING:
    from perturbo.agents.chat.actions import Job

__all__ = ["EARLY_EXIT_S", "LAB_STEP_S", "ended", "is_lab"]

EARLY_EXIT_S = 10.0
"""How long, at most, a confirmed launch is watched before it is said started: its checks
(reading the store, the settings' files) take a few seconds, the interpreter's start included."""
UNDER_WAY = "starting the executor pool"
"""The line a launch logs once its checks passed (:func:`perturbo.launch.run_parts`): from
then on it is said started without waiting longer."""
POLL_S = 0.1
LAB_STEP_S = 300.0
"""How long the resume of a lab campaign is waited for (a step waits up to 2 min for another
``ask``/``tell`` holding the campaign)."""
LAB_TAG = "perturbo.lab"
"""A lab campaign's parent-run tag (:data:`perturbo.lab.pending.LAB_TAG`; named here, as the
chat sits below the lab loop)."""


def is_lab(tracking_uri: str, campaign: str) -> bool:
    """Whether ``campaign`` is a lab campaign (its resume is one short step)."""
    from perturbo.tracking import open_store

    try:
        return open_store(tracking_uri).summary(campaign).run_tags.get(LAB_TAG) == "1"
    except PerturboError:
        return False  # no such campaign: `perturbo resume` itself will say so


def ended(job: Job, wait_s: float) -> str | None:
    """What ``job`` said if it ended within ``wait_s``: its last output lines where it exited
    0; else a :class:`PerturboError` with its log's error line. ``None``: it still runs (said
    started), past ``wait_s`` or once its log says it is under way (:data:`UNDER_WAY`)."""
    deadline = time.monotonic() + wait_s
    while (rc := job.process.poll()) is None:
        if time.monotonic() >= deadline or UNDER_WAY in _output(job):
            return None
        time.sleep(POLL_S)
    lines = [x.strip() for x in _output(job).splitlines() if x.strip()]
    if rc == 0:
        return f"ran `{job.command}`: " + " ".join(lines[-6:] or ["done"])
    errors = [x for x in lines if x.startswith("perturbo: error:")] or lines[-1:]
    why = errors[-1].removeprefix("perturbo: error:").strip() if errors else "no output"
    raise PerturboError(
        f"{job.campaign!r} did not start: `{job.command}` exited with code {rc}: {why} "
        f"(log {job.log})"
    )


def _output(job: Job) -> str:
    """What ``job`` has logged so far."""
    with open(job.log, "rb") as f:
        f.seek(job.offset)
        return f.read().decode(errors="replace")
