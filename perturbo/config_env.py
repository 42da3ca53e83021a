"""The environment half of :mod:`perturbo.config`: every environment variable perturbo reads,
read in one place into one typed :class:`Environment`, and the process-wide settings
(variables MLflow and Ray read, torch's thread count) computed as data.

Reading: :func:`environment` reads :data:`ENVIRONMENT` now (not cached: a test or a Ray job
that sets a variable sees it at the next read); the modules below take the values as
arguments, falling back to it only where the caller passes none.

Writing: only the process entry points apply settings to their process (:func:`apply_env`,
:func:`set_torch_threads`, :func:`prepare_process`): the CLI's ``main``, the composition root
(:mod:`perturbo.launch`, for the Python API), the worker mains (the Ray actor body, the
process pool's child), the server mains (the MLflow UI) and Ray's bootstrap
(:func:`perturbo.actors.ray_runtime.connect`: Ray reads its settings at import and its
raylet inherits the driver's environment, so there they cannot travel as data).
``tests/architecture/test_environment.py`` fails on any other reader or writer.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ENVIRONMENT",
    "MLFLOW_CLIENT_DEFAULTS",
    "EnvVar",
    "Environment",
    "apply_env",
    "child_env",
    "env_differs",
    "env_ray_address",
    "env_tracking_uri",
    "environment",
    "llm_api_key",
    "prepare_process",
    "ray_driver_env",
    "set_torch_threads",
    "worker_env",
]


@dataclass(frozen=True)
class EnvVar:
    """One environment variable perturbo reads: its name, its default, what it does."""

    name: str
    default: str
    does: str


ENVIRONMENT: tuple[EnvVar, ...] = (
    EnvVar("MLFLOW_TRACKING_URI", "sqlite:///<cwd>/mlflow.db",
           "the tracking store, where --tracking-uri and the TOML file give none"),
    EnvVar("RAY_ADDRESS", "(none: a local Ray)",
           "the Ray cluster to join, where --address and the TOML file give none; an "
           "http(s) address is also `perturbo status`'s dashboard link"),
    EnvVar("OPENAI_API_KEY", "(none)", "the key of the openai LLM backend (never logged)"),
    EnvVar("ANTHROPIC_API_KEY", "(none)", "the key of the anthropic LLM backend (never logged)"),
    EnvVar("PERTURBO_HEARTBEAT_S", "30",
           "seconds between a driver's heartbeats (at least 0.2); a campaign silent for 3 "
           "beats + 10 s counts as dead"),
    EnvVar("PERTURBO_STORE_WAIT_S", "300",
           "at a campaign's end, how long to wait for a store that is down before giving up "
           "with the spool named"),
    EnvVar("PERTURBO_SPOOL_DIR", "beside a sqlite store, else ~/.cache/perturbo/unsent",
           "where rounds the store refuses while it is down are buffered until uploaded (a "
           "persistent volume in a Kubernetes pod)"),
    EnvVar("RAY_JOB_CONFIG_JSON_ENV_VAR", "(set by Ray)",
           "the runtime env of the Ray job this driver runs in: its variables are not repeated"),
    EnvVar("RAY_TMPDIR", "$TMPDIR or /tmp", "Ray's temp dir (where `ray start` records its "
           "cluster's address, for --address auto)"),
    EnvVar("TMPDIR", "/tmp", "Ray's temp dir where RAY_TMPDIR is unset"),
    EnvVar("TERM", "(none)", "the chat shows plots inline in kitty"),
    EnvVar("TERM_PROGRAM", "(none)", "the chat shows plots inline in iTerm2"),
)  # fmt: skip
"""Every environment variable perturbo reads (the variables it *sets* for MLflow, Ray and
its workers are :data:`MLFLOW_CLIENT_DEFAULTS`, :func:`ray_driver_env`, :func:`worker_env`)."""

_API_KEY_VARS = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}


@dataclass(frozen=True)
class Environment:
    """The environment as perturbo reads it (:func:`environment`)."""

    tracking_uri: str | None = None
    ray_address: str | None = None
    api_keys: Mapping[str, str] = field(default_factory=dict, repr=False)
    heartbeat_s: float = 30.0
    store_wait_s: float = 300.0
    ray_job_runtime_env: Mapping[str, Any] = field(default_factory=dict)
    ray_job_submission_id: str | None = None
    """The submission id (``raysubmit_...``) of the Ray job this process is the driver of
    (Ray's job supervisor sets ``RAY_JOB_CONFIG_JSON_ENV_VAR`` for a submitted entrypoint);
    ``None`` outside a submitted job."""
    ray_tmpdir: str = "/tmp"
    term: str = ""
    term_program: str = ""


def environment(environ: Mapping[str, str] | None = None) -> Environment:
    """The variables of :data:`ENVIRONMENT` from ``environ`` (default: this process's), typed
    and defaulted; a value that does not parse counts as unset."""
    env = os.environ if environ is None else environ
    keys = {b: env[v] for b, v in _API_KEY_VARS.items() if env.get(v)}
    return Environment(
        tracking_uri=env.get("MLFLOW_TRACKING_URI") or None,
        ray_address=env.get("RAY_ADDRESS") or None,
        api_keys=keys,
        heartbeat_s=max(0.2, _number(env.get("PERTURBO_HEARTBEAT_S"), 30.0)),
        store_wait_s=max(0.0, _number(env.get("PERTURBO_STORE_WAIT_S"), 300.0)),
        ray_job_runtime_env=_job_runtime_env(env.get("RAY_JOB_CONFIG_JSON_ENV_VAR")),
        ray_job_submission_id=_job_submission_id(env.get("RAY_JOB_CONFIG_JSON_ENV_VAR")),
        ray_tmpdir=env.get("RAY_TMPDIR") or env.get("TMPDIR") or "/tmp",
        term=env.get("TERM", ""),
        term_program=env.get("TERM_PROGRAM", ""),
    )


def _number(raw: str | None, default: float) -> float:
    try:
        return float(raw) if raw is not None else default
    except ValueError:
        return default


def _job_runtime_env(raw: str | None) -> dict[str, Any]:
    """The runtime env of the Ray job this process is the driver of (Ray hands it over in
    ``RAY_JOB_CONFIG_JSON_ENV_VAR``); ``{}`` outside a job."""
    if not raw:
        return {}
    try:
        return dict(json.loads(raw).get("runtime_env") or {})
    except (ValueError, AttributeError, TypeError):
        return {}


def _job_submission_id(raw: str | None) -> str | None:
    """The submission id in Ray's job config (``metadata.job_submission_id``, Ray 2.x's job
    supervisor); ``None`` outside a submitted job. A job config without one (a driver Ray
    started some other way) still counts as a job: ``""``."""
    if not raw:
        return None
    try:
        meta = json.loads(raw).get("metadata") or {}
        return str(meta.get("job_submission_id") or "")
    except (ValueError, AttributeError, TypeError):
        return ""


def env_tracking_uri() -> str | None:
    return environment().tracking_uri


def env_ray_address() -> str | None:
    return environment().ray_address


def llm_api_key(backend: str) -> str | None:
    """The API key of a remote LLM backend, from its usual environment variable. Passed to
    the agent as a value; never part of a logged config."""
    return environment().api_keys.get(backend)


# -- process-wide settings, as data ---------------------------------------------------------

MLFLOW_CLIENT_DEFAULTS: Mapping[str, str] = {
    # MLflow retries an unreachable server 7 times with back-off (minutes); a tracking write
    # that cannot succeed should fail in seconds: the round is spooled, not lost
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "20",
    # tqdm bars for every artifact download would tear through the progress display
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    # agent traces are written with their round, before the round counts as recorded
    "MLFLOW_ENABLE_ASYNC_TRACE_LOGGING": "false",
}
"""What an MLflow client process needs (MLflow reads them per request): applied as defaults
(a value the user set is kept) by every entry point that records or reads a campaign."""


def worker_env(threads: int = 1) -> dict[str, str]:
    """Environment for worker processes (Ray actors, the process pool's children): one
    BLAS/OpenMP thread each (torch with more threads than cores is up to 100x slower on a
    busy machine). Handed to Ray as ``runtime_env`` data, never set here."""
    n = str(threads)
    return {"OMP_NUM_THREADS": n, "MKL_NUM_THREADS": n, "OPENBLAS_NUM_THREADS": n}


def child_env(threads: int = 1) -> dict[str, str]:
    """The environment of a child process this one starts (the process pool's): this
    process's, with :func:`worker_env`'s thread counts where the user set none (several
    children each running BLAS with a thread per core would oversubscribe the machine)."""
    return {**worker_env(threads), **os.environ}


def ray_driver_env(
    address: str | None, auth_mode: str | None, loopback_only: bool, loopback_address: bool
) -> dict[str, str]:
    """What Ray must find in the driver's environment when it is imported (and its raylet
    inherits): no usage stats; a local Ray bound to 127.0.0.1 (``loopback_only``) with
    ``RAY_AUTH_MODE=auth_mode``; joining, an explicit non-default ``auth_mode`` only, and the
    loopback binding where the address is a loopback one (``loopback_address``)."""
    env = {"RAY_USAGE_STATS_ENABLED": "0"}
    if address is None:
        if loopback_only:
            env["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # Ray 2.60: node IP = 127.0.0.1
        if auth_mode is not None:
            env["RAY_AUTH_MODE"] = auth_mode
    else:
        if auth_mode is not None and auth_mode != "disabled":
            env["RAY_AUTH_MODE"] = auth_mode  # joining: the local default is not forced
        if loopback_address:  # else Ray swaps 127.0.0.1 for this machine's LAN address
            env["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    return env


def env_differs(values: Mapping[str, str]) -> list[str]:
    """The names among ``values`` this process's environment does not hold at that value."""
    return [k for k, v in values.items() if os.environ.get(k) != v]


# -- applying them (process entry points only) ----------------------------------------------


def apply_env(values: Mapping[str, str], *, keep_set: bool = False) -> None:
    """Set ``values`` in this process's environment (inherited by the processes it starts);
    ``keep_set``: a variable already set keeps its value. For process entry points only."""
    for k, v in values.items():
        if keep_set:
            os.environ.setdefault(k, v)
        else:
            os.environ[k] = v


def set_torch_threads(n: int, *, only_if_loaded: bool = False) -> None:
    """torch's intra-op thread count for this whole process (``only_if_loaded``: only where
    torch is imported already, so an entry point that never uses it does not pay its
    import). For process entry points only."""
    torch = sys.modules.get("torch")
    if torch is None and not only_if_loaded:
        try:
            import torch  # noqa: PLC0415 - the heavy import, only where threads are set
        except ImportError:  # pragma: no cover - torch is a dependency
            return
    if torch is not None:
        torch.set_num_threads(n)


def prepare_process() -> None:
    """What every perturbo process that talks to the store needs: the MLflow client's
    defaults (:data:`MLFLOW_CLIENT_DEFAULTS`; a value the user set is kept). Idempotent and
    cheap; called by the entry points."""
    apply_env(MLFLOW_CLIENT_DEFAULTS, keep_set=True)


def env_spool_dir(environ: Mapping[str, str] | None = None) -> str | None:
    """``$PERTURBO_SPOOL_DIR``: where a campaign buffers the rounds the store refuses while it
    is down (a persistent volume in a Kubernetes pod); ``None`` (unset): beside a sqlite store,
    else ``~/.cache/perturbo/unsent``."""
    env = os.environ if environ is None else environ
    return env.get("PERTURBO_SPOOL_DIR") or None
