"""Actions that change something (launch, resume, stop, pin) wait for a person's yes.

A tool never runs an action: it hands :meth:`Launcher.propose` a :class:`PendingAction` and
gets back its token. Only the front end's confirm step (``y`` in the terminal, the button on
the web page, an MCP client's second call echoing the token) calls :meth:`Launcher.confirm`;
the model has no tool that confirms. Campaigns start as background ``perturbo run|resume``
processes (the chat stays responsive) or, with a Ray ``address``, as ``ray job submit`` jobs;
stop is SIGINT to that process (the campaign records KILLED and resumes); a campaign started
elsewhere is asked to stop through the store (``perturbo stop``).
"""

from __future__ import annotations

import os
import secrets
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from perturbo.types import PerturboError

__all__ = ["Job", "Launcher", "PendingAction"]

ActionKind = Literal["launch", "resume", "stop", "pin"]


@dataclass(frozen=True)
class PendingAction:
    """What would run once confirmed: ``argv`` after ``perturbo``, for campaign ``campaign``."""

    token: str
    kind: ActionKind
    campaign: str
    argv: tuple[str, ...]
    description: str
    created: float = field(default_factory=time.time)

    def command(self) -> str:
        return "perturbo " + shlex.join(self.argv) if self.argv else f"stop {self.campaign}"


@dataclass
class Job:
    """A campaign process this chat started."""

    campaign: str
    command: str
    process: subprocess.Popen[bytes]
    log: Path
    started: float = field(default_factory=time.time)

    def state(self) -> str:
        rc = self.process.poll()
        return "running" if rc is None else f"exited with code {rc}"


class Launcher:
    """Holds pending actions and the processes confirmed ones started.

    ``tracking_uri``: the store every campaign records to; ``local``: pass ``--local``
    (in-process, no Ray); ``address``: a Ray cluster, where campaigns go by ``ray job submit``;
    ``workdir``: where TOML settings and logs are written; ``python``: the interpreter that
    runs ``perturbo`` (this one by default)."""

    def __init__(
        self,
        tracking_uri: str,
        *,
        local: bool = False,
        address: str | None = None,
        workdir: str | Path | None = None,
        python: str = sys.executable,
    ) -> None:
        self.tracking_uri = tracking_uri
        self.local = local
        self.address = address
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="perturbo-chat-"))
        self.python = python
        self.pending: dict[str, PendingAction] = {}
        self.jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    # -- what tools may do
    def propose(
        self, kind: ActionKind, campaign: str, argv: list[str], description: str
    ) -> PendingAction:
        action = PendingAction(secrets.token_hex(4), kind, campaign, tuple(argv), description)
        with self._lock:
            self.pending[action.token] = action
        return action

    def write_settings(self, name: str, values: dict[str, object]) -> Path:
        """A TOML file of a launch's settings (flat keys, as ``--config`` reads them)."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        path = self.workdir / f"{name}.toml"
        path.write_text("".join(f"{k} = {_toml(v)}\n" for k, v in values.items() if v is not None))
        return path

    def run_options(self) -> list[str]:
        out = ["--tracking-uri", self.tracking_uri, "--no-progress"]
        if self.local:
            out.append("--local")
        return out

    # -- what only the confirm step does
    def decline(self, token: str) -> PendingAction | None:
        with self._lock:
            return self.pending.pop(token, None)

    def confirm(self, token: str) -> str:
        """Run the pending action ``token``; returns what happened, in one line."""
        with self._lock:
            action = self.pending.pop(token, None)
        if action is None:
            raise PerturboError(
                f"no pending action {token!r}: it was already confirmed or declined, or never "
                "proposed; ask again"
            )
        if action.kind == "stop":
            return self.stop(action.campaign)
        job = self._start(action)
        return (
            f"started {action.campaign!r} (pid {job.process.pid}): {job.command}; log {job.log}. "
            "It records to the store as it runs; ask for the campaign list to follow it."
        )

    def stop(self, campaign: str) -> str:
        job = self.jobs.get(campaign)
        if job is None or job.process.poll() is not None:
            return self._stop_through_store(campaign)
        if self.address:
            subprocess.run(
                ["ray", "job", "stop", "--address", self.address, _job_id(campaign)], check=False
            )
        else:
            os.kill(job.process.pid, signal.SIGINT)
        try:
            job.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            return f"sent SIGINT to {campaign!r} (pid {job.process.pid}); it is still finishing its round"
        return (
            f"stopped {campaign!r}: its recorded rounds are kept (KILLED); "
            f"`perturbo resume {campaign}` continues it"
        )

    def _stop_through_store(self, campaign: str) -> str:
        """A campaign this chat did not start (another terminal, a submitted job): ask its
        driver through the store, as ``perturbo stop`` does."""
        from perturbo.tracking import open_store
        from perturbo.tracking.control import live, request_stop

        store = open_store(self.tracking_uri)
        state = live(store, campaign)
        if state.state not in ("running", "stopping"):
            why = f": {state.detail}" if state.detail else ""
            raise PerturboError(
                f"campaign {campaign!r} is not running ({state.state}{why}): nothing to stop"
            )
        request_stop(store, campaign)
        return (
            f"asked {campaign!r} to stop through the store: it starts nothing new, records what "
            f"runs and ends KILLED; `perturbo resume {campaign}` continues it"
        )

    def running(self) -> list[Job]:
        return [j for j in self.jobs.values() if j.process.poll() is None]

    def close(self, stop: bool = False) -> None:
        for job in self.running():
            if stop:
                os.kill(job.process.pid, signal.SIGINT)

    def _start(self, action: PendingAction) -> Job:
        argv = list(action.argv)
        if self.address:
            cmd = [
                "ray", "job", "submit", "--address", self.address, "--submission-id",
                _job_id(action.campaign), "--working-dir", str(self.workdir), "--", "perturbo", *argv,
            ]  # fmt: skip
        else:
            cmd = [self.python, "-m", "perturbo.cli", *argv]
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = self.workdir / f"{action.campaign}.log"
        with open(log, "ab") as out:
            proc = subprocess.Popen(
                cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C in the chat does not stop the campaign
            )  # fmt: skip
        job = Job(action.campaign, "perturbo " + shlex.join(argv), proc, log)
        self.jobs[action.campaign] = job
        return job


def _job_id(campaign: str) -> str:
    return "perturbo-" + "".join(c if c.isalnum() or c in "-_" else "-" for c in campaign)


def _toml(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    s = str(v).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{s}"'
