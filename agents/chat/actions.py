"""Actions that change something (launch, resume, stop, pin) wait for a person's yes.

A tool never runs an action: it hands :meth:`Launcher.propose` a :class:`PendingAction` and
gets back its token. Only the front end's confirm step (``y`` in the terminal, the button on
the web page, an MCP client's second call echoing the token) calls :meth:`Launcher.confirm`;
the model has no tool that confirms. Campaigns start as background ``perturbo run|resume``
processes (the chat stays responsive) or, with a Ray ``address``, as ``ray job submit`` jobs;
stop is SIGINT to that process (the campaign records KILLED and resumes); a campaign started
elsewhere is asked to stop through the store (``perturbo stop``).

No door for code: settings from a chat or an MCP client can never allow user code or name a
``module:function`` (user code is launched from the command line only), may name files only
inside the working folder (one message whether a file outside exists or not), and a campaign
of the store that runs user code is not resumed from here. A launch's settings stay in memory
until its confirmation, which writes them under a name no other proposal shares; the token
carries a digest of exactly what will run, checked again at confirm.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from perturbo.agents.chat.ended import EARLY_EXIT_S, LAB_STEP_S, ended, is_lab
from perturbo.names import check_name, inside, within
from perturbo.tracking.interrupts import SIGINT_ENV
from perturbo.types import PerturboError

__all__ = ["Job", "Launcher", "PendingAction", "refuse_user_code"]

ActionKind = Literal["launch", "resume", "stop", "pin", "tell"]

PENDING_TTL_S = 1800.0
"""A proposal not confirmed within this long is dropped (ask again)."""
MAX_PENDING = 64

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")
_URL = re.compile(r"^https?://[^\s]+$")
_CODE = re.compile(r"^\s*[A-Za-z_][\w.]*\s*:\s*[A-Za-z_][\w.]*\s*$")  # module:function
_FILE_SUFFIXES = {
    ".csv", ".tsv", ".txt", ".npz", ".npy", ".pt", ".pth", ".toml", ".json", ".gz", ".h5",
    ".pkl", ".zip", ".parquet", ".db", ".sqlite", ".yaml", ".yml", ".onnx",
}  # fmt: skip
_CLI_ONLY = (
    "user code runs only when launched from the command line (`perturbo run KIND ... "
    "--allow-user-code`); the chat and MCP never launch it"
)


def refuse_user_code(where: str, value: object) -> None:
    """A :class:`PerturboError` if ``value`` (a setting, or a stored config) allows user code
    or names a ``module:function``: those run only when launched from the command line."""
    if isinstance(value, dict):
        for k, v in value.items():
            if "user_code" in str(k).lower() and v not in (False, None, 0, "", "false"):
                raise PerturboError(f"{where}: {k} = {v!r} is refused: {_CLI_ONLY}")
            refuse_user_code(f"{where}: {k}" if where else str(k), v)
    elif isinstance(value, list | tuple):
        for v in value:
            refuse_user_code(where, v)
    elif isinstance(value, str) and _CODE.match(value):
        raise PerturboError(f"{where} = {value!r} names code (module:function): {_CLI_ONLY}")


@dataclass(frozen=True)
class PendingAction:
    """What would run once confirmed: ``argv`` after ``perturbo``, for campaign ``campaign``."""

    token: str
    kind: ActionKind
    campaign: str
    argv: tuple[str, ...]
    description: str
    created: float = field(default_factory=time.time)
    settings: str | None = None
    """A launch's TOML settings, held here until the confirmation writes them to the
    ``--config`` path in ``argv`` (a name no other proposal shares)."""

    def command(self) -> str:
        return "perturbo " + shlex.join(self.argv) if self.argv else f"stop {self.campaign}"

    def digest(self) -> str:
        """SHA-256 of exactly what would run: the action, the campaign, the argv, the settings."""
        what = [self.kind, self.campaign, list(self.argv), self.settings]
        return hashlib.sha256(json.dumps(what).encode()).hexdigest()


@dataclass
class Job:
    """A campaign process this chat started (a launch that ends within its first seconds is
    said as it ended, never as started: :mod:`perturbo.agents.chat.ended`)."""

    campaign: str
    command: str
    process: subprocess.Popen[bytes]
    log: Path
    started: float = field(default_factory=time.time)
    offset: int = 0
    """Where this job's output starts in ``log`` (a campaign's log is appended to)."""

    def state(self) -> str:
        rc = self.process.poll()
        return "running" if rc is None else f"exited with code {rc}"


class Launcher:
    """Holds pending actions and the processes confirmed ones started.

    ``tracking_uri``: the store every campaign records to; ``local``: pass ``--local``
    (in-process, no Ray); ``address``: a Ray cluster, where campaigns go by ``ray job submit``;
    ``workdir``: where TOML settings and logs are written; ``python``: the interpreter that
    runs ``perturbo`` (this one by default); ``root``: the working folder (default: the
    current one), where campaigns run and the only place besides ``workdir`` whose files a
    chat's settings may name."""

    def __init__(
        self,
        tracking_uri: str,
        *,
        local: bool = False,
        address: str | None = None,
        workdir: str | Path | None = None,
        python: str = sys.executable,
        root: str | Path | None = None,
    ) -> None:
        self.tracking_uri = tracking_uri
        self.local = local
        self.address = address
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="perturbo-chat-")).absolute()
        self.root = Path(root or Path.cwd()).absolute()
        self.python = python
        self.pending: dict[str, PendingAction] = {}
        self.jobs: dict[str, Job] = {}
        self._staged: dict[str, str] = {}  # settings path -> TOML text, until proposed
        self.early_exit_s = EARLY_EXIT_S
        self.handlers: dict[str, Callable[[PendingAction], str]] = {}
        """Action kinds confirmed in this process instead of a background ``perturbo``
        (``tell``: the lab tools record a round and answer with the next batch)."""
        self._lock = threading.Lock()

    # -- what tools may do
    def check_settings(self, values: dict[str, object]) -> dict[str, object]:
        """A chat's launch settings, refused where they would allow user code or name a file
        outside the working folder; file names come back absolute. Call it before anything
        reads the settings (a validator that opens a file would otherwise say if it exists)."""
        out: dict[str, object] = {}
        for key, value in values.items():
            if not isinstance(key, str) or not _KEY.match(key):
                raise PerturboError(f"setting {key!r}: a setting is a flag name, e.g. rounds")
            refuse_user_code("settings", {key: value})
            out[key] = self._paths(key, value)
        return out

    def _paths(self, key: str, value: object) -> object:
        if isinstance(value, list | tuple):
            return [self._paths(key, v) for v in value]
        if isinstance(value, dict):
            raise PerturboError(
                f"setting {key}: give a number, text, true/false or a list, not a table"
            )
        if not isinstance(value, str) or _URL.match(value.strip()):
            return value
        looks = (
            any(c in value for c in "/\\") or value.startswith(("~", "."))
            or Path(value).suffix.lower() in _FILE_SUFFIXES or value in ("..", ".")
        )  # fmt: skip
        if not looks and not (self.root / value).exists():
            return value
        roots = [self.root, self.workdir] if self.root.parent != self.root else [self.workdir]
        return str(within(value, roots, f"setting {key}"))  # a chat started in / reads workdir

    def stage_settings(self, name: str, values: dict[str, object]) -> Path:
        """The ``--config`` path a launch of ``name`` will run with, unique to this proposal;
        its TOML text stays in memory and is written only when the launch is confirmed."""
        values = self.check_settings(values)
        check_name(name)
        path = inside(self.workdir, f"{name}-{secrets.token_hex(4)}", ".toml")
        text = "".join(f"{k} = {_toml(v)}\n" for k, v in values.items() if v is not None)
        with self._lock:
            self._staged[str(path)] = text
        return path

    write_settings = stage_settings  # the old name: it stages too (nothing on disk until yes)

    def propose(
        self, kind: ActionKind, campaign: str, argv: list[str], description: str
    ) -> PendingAction:
        check_name(campaign)
        args = tuple(str(a) for a in argv)
        _refuse_argv(args)
        if kind in ("resume", "pin"):
            self._refuse_stored_user_code(campaign)
        with self._lock:
            settings = None
            if "--config" in args:
                settings = self._staged.pop(args[args.index("--config") + 1], None)
                if settings is None:
                    raise PerturboError("a launch's settings must be staged by stage_settings")
            now = time.time()
            for t, a in list(self.pending.items()):
                if now - a.created > PENDING_TTL_S:
                    del self.pending[t]
            if len(self.pending) >= MAX_PENDING:
                raise PerturboError(
                    f"{len(self.pending)} actions await an answer: confirm or decline them first"
                )
            draft = PendingAction("", kind, campaign, args, description, now, settings)
            token = secrets.token_hex(6) + draft.digest()[:10]
            action = PendingAction(token, kind, campaign, args, description, now, settings)
            self.pending[token] = action
        return action

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
            action = self.pending.pop(str(token), None)
        if action is None or time.time() - action.created > PENDING_TTL_S:
            raise PerturboError(
                f"no pending action {token!r}: it was already confirmed or declined, expired, "
                "or never proposed; ask again"
            )
        if not secrets.compare_digest(action.token[12:], action.digest()[:10]):
            raise PerturboError(f"action {token!r} changed since it was proposed: ask again")
        if action.kind in ("resume", "pin"):
            self._refuse_stored_user_code(action.campaign)
        if action.kind == "stop":
            return self.stop(action.campaign)
        if action.kind in self.handlers:
            return self.handlers[action.kind](action)
        lab = action.kind == "resume" and is_lab(self.tracking_uri, action.campaign)
        job = self._start(action)
        said = ended(job, LAB_STEP_S if lab else self.early_exit_s)
        if said is not None:
            return said
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
            f"`perturbo resume {shlex.quote(campaign)}` continues it"
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
            f"runs and ends KILLED; `perturbo resume {shlex.quote(campaign)}` continues it"
        )

    def _refuse_stored_user_code(self, campaign: str) -> None:
        """A stored campaign that runs user code (anyone sharing the store can create one)
        is resumed from the command line only."""
        from perturbo.tracking import open_store

        try:
            config = open_store(self.tracking_uri).config(campaign)
        except PerturboError:
            return  # no such campaign or config: `perturbo resume` itself will say so
        try:
            refuse_user_code("", dict(config))
        except PerturboError:
            raise PerturboError(
                f"campaign {campaign!r} runs user code (its settings allow it or name a "
                f"module:function): resume it from the command line, `perturbo resume "
                f"{campaign}`, if you trust it; the chat and MCP never launch user code"
            ) from None

    def running(self) -> list[Job]:
        return [j for j in self.jobs.values() if j.process.poll() is None]

    def close(self, stop: bool = False) -> None:
        for job in self.running():
            if stop:
                os.kill(job.process.pid, signal.SIGINT)

    def _write_settings(self, action: PendingAction) -> None:
        """Write a confirmed launch's settings to its own new file (never over another's)."""
        if action.settings is None:
            return
        path = Path(action.argv[action.argv.index("--config") + 1])
        if path.parent != self.workdir.resolve() and path.parent != self.workdir:
            raise PerturboError(f"settings path {path} is not in {self.workdir}: ask again")
        self.workdir.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            with open(path, "x", encoding="utf-8") as f:  # O_EXCL: a new file, or nothing
                f.write(action.settings)
        except FileExistsError:
            raise PerturboError(f"settings file {path} exists already: ask again") from None

    def _start(self, action: PendingAction) -> Job:
        argv = list(action.argv)
        self._write_settings(action)
        if self.address:
            cmd = [
                "ray", "job", "submit", "--address", self.address, "--submission-id",
                _job_id(action.campaign), "--working-dir", str(self.workdir), "--", "perturbo", *argv,
            ]  # fmt: skip
        else:
            cmd = [self.python, "-m", "perturbo.cli", *argv]
        self.workdir.mkdir(parents=True, exist_ok=True, mode=0o700)
        log = inside(self.workdir, action.campaign, ".log")
        offset = log.stat().st_size if log.exists() else 0
        with open(log, "ab") as out:
            proc = subprocess.Popen(
                cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                cwd=self.root,  # relative names in the settings mean the working folder
                start_new_session=True,  # Ctrl-C in the chat does not stop the campaign
                # the stop is SIGINT: honour it even where this chat ignores SIGINT (a chat
                # started with `&` from a script inherits SIG_IGN, and so would the campaign)
                env={**os.environ, SIGINT_ENV: "1"},
            )  # fmt: skip
        job = Job(action.campaign, "perturbo " + shlex.join(argv), proc, log, offset=offset)
        self.jobs[action.campaign] = job
        return job


_FREE_VALUES = ("--tracking-uri", "--address", "--pin", "--config", "--name")
"""Flags whose values may hold ':' (a URI, JSON, a path, a name): checked where they are made."""


def _refuse_argv(args: tuple[str, ...]) -> None:
    """An action's command line never allows user code nor names a module:function."""
    for i, a in enumerate(args):
        flag, eq, value = a.partition("=")
        if flag.startswith("--allow") or "user-code" in flag or "user_code" in flag:
            raise PerturboError(f"{a} is refused: {_CLI_ONLY}")
        if flag.startswith("--") and eq and flag not in _FREE_VALUES:
            refuse_user_code(f"argument {flag}", value)
        elif i >= 2 and args[i - 1] not in _FREE_VALUES and flag not in _FREE_VALUES:
            refuse_user_code(f"argument {args[i - 1]}", a)


def _job_id(campaign: str) -> str:
    return "perturbo-" + "".join(c if c.isalnum() or c in "-_" else "-" for c in campaign)


def _toml(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    return json.dumps(str(v), ensure_ascii=False)  # a TOML basic string: every control escaped
