"""Starting or joining Ray: the one place that calls ``ray.init``.

Locally, Ray is bound to 127.0.0.1 with authentication off and no dashboard; with an
``address`` it joins an existing cluster (``auto``, ``host:port`` or ``ray://host:port``).
A local run always starts its own Ray (``ray.init(address="local")``): plain ``ray.init()``
would join whatever cluster the last ``ray start`` on this machine wrote into
``/tmp/ray/ray_current_cluster``, and that file outlives a head that ended without
``ray stop``; joining is for ``address`` only (``--address``, or ``RAY_ADDRESS`` through
:mod:`perturbo.config`).
Ray reads some settings from the environment *when it is imported* (the loopback binding,
the auth mode), and the raylet a local Ray starts inherits the driver's environment: so
:func:`connect`, Ray's bootstrap in this process, sets them (computed from its arguments by
:func:`perturbo.config.ray_driver_env`) before importing Ray. What it reads of the
environment (a Ray job's runtime env, Ray's temp dir) comes from :mod:`perturbo.config`; the
workers' variables travel to them as ``runtime_env`` data (:func:`worker_env`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from perturbo.config_env import apply_env, env_differs, environment, ray_driver_env, worker_env
from perturbo.types import PerturboError

__all__ = ["RayRuntime", "connect", "worker_env"]

_DEFAULT_PORTS = {"ray": 10001, "": 6379}


@dataclass
class RayRuntime:
    """A connection to Ray from this process. :meth:`shutdown` stops only what
    :func:`connect` started here (``ray.shutdown()``); it never stops a cluster it joined
    or Ray that someone else started."""

    address: str
    started_here: bool
    _ray: Any = field(repr=False, default=None)

    def shutdown(self) -> None:
        if self._ray is not None and self._ray.is_initialized():
            if self.started_here or self.address:
                self._ray.shutdown()  # ends this driver's connection / the local Ray it started
        self._ray = None

    def has_gpu(self) -> bool:
        return self.resources().get("GPU", 0.0) > 0

    def cpus(self) -> int:
        return int(self.resources().get("CPU", 0.0))

    def resources(self) -> dict[str, float]:
        """The cluster's total resources (``CPU``, ``GPU``, memory...)."""
        ray = self._ray if self._ray is not None else _import_ray()
        return dict(ray.cluster_resources())

    def __enter__(self) -> RayRuntime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()


def connect(
    address: str | None = None,
    num_cpus: int | None = None,
    *,
    auth_mode: str | None = "disabled",
    loopback_only: bool = True,
    threads_per_worker: int = 1,
    object_store_memory: int | None = 512 * 2**20,
    log_to_driver: bool = False,
    timeout_s: float = 12.0,
) -> RayRuntime:
    """Start a local Ray (``address=None``) or join a running cluster.

    Local Ray: bound to 127.0.0.1 (``loopback_only``), ``RAY_AUTH_MODE=auth_mode``
    (``"disabled"``), no dashboard, workers with ``threads_per_worker`` OpenMP/BLAS threads,
    worker output not forwarded to this terminal (``log_to_driver``). Joining a cluster:
    ``address`` is ``"auto"`` (the cluster started on this machine by ``ray start``),
    ``"host:port"`` (the head's GCS, usually port 6379) or ``"ray://host:port"`` (Ray Client,
    usually port 10001); authentication is then whatever the environment says (set
    ``RAY_AUTH_MODE=token`` and ``RAY_AUTH_TOKEN`` for a token-protected cluster) unless
    ``auth_mode`` is given explicitly. An unreachable address raises
    :class:`~perturbo.types.PerturboError` naming it and the fix, within ~``timeout_s``.

    Where Ray is already initialised in this process, it is reused (and not shut down by
    :meth:`RayRuntime.shutdown`).
    """
    address = (address or "").strip() or None
    deadline = time.monotonic() + timeout_s
    if address is not None:
        _check_reachable(address, min(5.0, timeout_s))
    if "ray" in sys.modules and sys.modules["ray"].is_initialized():
        return RayRuntime(address="", started_here=False, _ray=sys.modules["ray"])
    loopback = address is not None and _is_loopback(address)
    env = ray_driver_env(address, auth_mode, loopback_only, loopback)
    if "ray" in sys.modules and env_differs(env):
        warnings.warn(
            "ray was imported before perturbo.actors.connect(): Ray read its settings "
            f"({', '.join(env)}) at import; set them in the environment before importing ray",
            stacklevel=2,
        )
    apply_env(env)  # Ray's bootstrap: read at import, inherited by the raylet it starts
    ray = _import_ray()
    if address == "auto":
        _check_address_file(min(5.0, timeout_s))
    runtime_env = _driver_runtime_env(threads_per_worker, address is not None)
    t0 = time.monotonic()
    with _keep_sigterm_handler():
        return _init(ray, address, num_cpus, loopback_only, object_store_memory, log_to_driver,
                     runtime_env, deadline, t0)  # fmt: skip


def _init(
    ray: Any,
    address: str | None,
    num_cpus: int | None,
    loopback_only: bool,
    object_store_memory: int | None,
    log_to_driver: bool,
    runtime_env: dict[str, Any],
    deadline: float,
    t0: float,
) -> RayRuntime:
    try:
        if address is None:
            ray.init(
                address="local",  # never the stale head of /tmp/ray/ray_current_cluster
                num_cpus=num_cpus,
                include_dashboard=False,
                _node_ip_address="127.0.0.1" if loopback_only else None,
                object_store_memory=object_store_memory,
                log_to_driver=log_to_driver,
                logging_level=logging.WARNING,
                runtime_env=runtime_env,
                namespace="perturbo",
            )
            return RayRuntime(address="", started_here=True, _ray=ray)
        _init_within(
            ray,
            max(1.0, deadline - time.monotonic()),
            address=address,
            log_to_driver=log_to_driver,
            logging_level=logging.WARNING,
            runtime_env=runtime_env,
            namespace="perturbo",
        )
        return RayRuntime(address=address, started_here=False, _ray=ray)
    except PerturboError:
        raise
    except Exception as e:  # noqa: BLE001 - Ray raises ConnectionError, RuntimeError, ValueError...
        if ray.is_initialized():
            ray.shutdown()
        if address is None:
            raise PerturboError(_local_failed(e)) from None
        if isinstance(e, ValueError):  # Ray answered, and refused what this driver asked
            raise PerturboError(
                f"joined the Ray cluster at --address {address!r}, but Ray refused this "
                f"driver: {_first_line(e)}"
            ) from None
        raise PerturboError(
            _unreachable(
                address,
                f"{type(e).__name__}: {_first_line(e)}, after {time.monotonic() - t0:.0f} s",
            )
        ) from None


@contextlib.contextmanager
def _keep_sigterm_handler() -> Iterator[None]:
    """``ray.init`` (in the main thread) replaces the driver's SIGTERM handler with its own
    ``sys.exit``, which ends a campaign with a stack dump and leaves it RUNNING in the store;
    the handler installed before (the CLI's: SIGTERM = Ctrl-C) is put back. A process that
    had none keeps Ray's."""
    main = threading.current_thread() is threading.main_thread()
    before = signal.getsignal(signal.SIGTERM) if main else None
    try:
        yield
    finally:
        if main and callable(before):  # always: Ray's core worker may hold it below Python
            signal.signal(signal.SIGTERM, before)


def _driver_runtime_env(threads: int, joining: bool) -> dict[str, Any]:
    """The runtime env this driver gives ``ray.init``: :func:`worker_env`, less the variables
    the Ray job it runs in (``ray job submit --runtime-env-json``) already sets. Ray refuses a
    driver whose runtime env repeats a key of its job's ("Failed to merge the Job's runtime
    env"), and the job's values are the user's explicit choice."""
    env = worker_env(threads)
    if joining:
        taken = set(_job_runtime_env().get("env_vars") or {})
        env = {k: v for k, v in env.items() if k not in taken}
    return {"env_vars": env}


def _job_runtime_env() -> dict[str, Any]:
    """The runtime env of the Ray job this process is the driver of (Ray hands it over in
    ``RAY_JOB_CONFIG_JSON_ENV_VAR``, read by :mod:`perturbo.config`); ``{}`` outside a job."""
    return dict(environment().ray_job_runtime_env)


def _local_failed(e: BaseException) -> str:
    why = f"{type(e).__name__}: {_first_line(e)}"
    if "must not be provided" in why or "existing cluster" in why:  # tried to join, not start
        return (
            f"could not start a local Ray ({why}): Ray tried to join an existing cluster "
            "instead. Fix: unset RAY_ADDRESS, or pass that cluster with --address"
        )
    return (
        f"could not start a local Ray ({why}). Fix: check free memory and space in the Ray "
        "temp dir (/tmp/ray, or $RAY_TMPDIR), or join a running cluster with --address"
    )


def _address_file() -> str:
    """Where ``ray start`` records the last cluster it started (Ray 2.60:
    ``$RAY_TMPDIR|$TMPDIR|/tmp`` + ``/ray/ray_current_cluster``)."""
    try:
        from ray._common.utils import get_ray_address_file  # private: hence the fallback

        return str(get_ray_address_file(None))
    except Exception:  # noqa: BLE001 - another Ray version: the same rule, spelled out
        return os.path.join(environment().ray_tmpdir, "ray", "ray_current_cluster")


def _check_address_file(timeout_s: float) -> None:
    """``--address auto`` joins the cluster in Ray's address file: fail fast, naming the
    file, where the head it names is gone (a ``ray start --head`` that ended without
    ``ray stop`` leaves it behind)."""
    path = _address_file()
    try:
        with open(path) as f:
            recorded = f.read().strip()
    except OSError:
        return  # no file: Ray looks for a running GCS itself, and says so if there is none
    try:
        parts = _split(recorded) if recorded else None
    except PerturboError:
        parts = None  # not an address: Ray's own error will name it
    if parts is None:
        return
    _, host, port = parts
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return
    except OSError as e:
        reason = "timed out" if isinstance(e, TimeoutError) else (e.strerror or str(e))
        raise PerturboError(
            f"--address auto: Ray's address file {path} names the cluster at {recorded}, "
            f"which does not answer ({reason}): its head ended without `ray stop`. Fix: start "
            f"that cluster again (`ray start --head`), give the live head's address with "
            f"--address, remove the stale file (rm {path}), or leave --address out to start "
            "a local Ray"
        ) from None


def _init_within(ray: Any, timeout_s: float, **kwargs: Any) -> None:
    """``ray.init(**kwargs)``, given up after ``timeout_s``: against a port that accepts TCP
    but is no Ray GCS, ``ray.init`` retries for minutes (measured: > 2 min)."""
    error: list[BaseException] = []

    def target() -> None:
        try:
            ray.init(**kwargs)
        except BaseException as e:  # noqa: BLE001 - handed to the caller's thread
            error.append(e)

    t = threading.Thread(target=target, name="perturbo-ray-init", daemon=True)
    quiet = _NotMainThreadNote()  # off the main thread Ray leaves SIGTERM to us: no news
    logging.getLogger("ray._private.worker").addFilter(quiet)
    try:
        t.start()
        t.join(timeout_s)
    finally:
        logging.getLogger("ray._private.worker").removeFilter(quiet)
    if t.is_alive():
        raise PerturboError(
            _unreachable(kwargs["address"], f"no Ray cluster answered within {timeout_s:.0f} s")
        )
    if error:
        raise error[0]


class _NotMainThreadNote(logging.Filter):
    """Drops Ray's "SIGTERM handler is not set because current thread is not the main
    thread": what we want (the CLI's handler stays), printed on every cluster run."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "SIGTERM handler is not set" not in record.getMessage()


def _is_loopback(address: str) -> bool:
    parts = _split(address)
    return parts is not None and (parts[1] == "localhost" or parts[1].startswith("127."))


def _import_ray() -> Any:
    import ray  # the heavy import, deferred until Ray is really needed

    return ray


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else ""


def _unreachable(address: str, why: str) -> str:
    return (
        f"cannot reach the Ray cluster at --address {address!r} ({why}). Fix: give the head "
        "node's address (host:6379 for the GCS, or ray://host:10001 for Ray Client), check the "
        "cluster is up (`ray status` on the head) and that this machine may connect to it "
        "(firewall; RAY_AUTH_MODE=token and RAY_AUTH_TOKEN for a token-protected cluster), "
        "or leave --address out to start a local Ray on this machine"
    )


def _split(address: str) -> tuple[str, str, int] | None:
    """``(scheme, host, port)`` of ``host:port`` / ``ray://host:port``; None for ``auto``."""
    if address == "auto":
        return None
    scheme, _, rest = address.rpartition("://")
    host, sep, port = rest.rpartition(":")
    if not sep:
        host, port = rest, str(_DEFAULT_PORTS.get(scheme, 6379))
    host = host.strip("[]")
    if scheme not in ("", "ray") or not host or not port.isdigit():
        raise PerturboError(
            f"--address {address!r} is not a Ray address. Fix: use 'auto', 'host:port' "
            "(e.g. 10.0.0.5:6379) or 'ray://host:port' (e.g. ray://10.0.0.5:10001)"
        )
    return scheme, host, int(port)


def _check_reachable(address: str, timeout_s: float) -> None:
    """Fail fast (a TCP connect) instead of letting ``ray.init`` retry for minutes."""
    parts = _split(address)
    if parts is None:
        return
    _, host, port = parts
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            pass
    except OSError as e:
        reason = "timed out" if isinstance(e, TimeoutError) else (e.strerror or str(e))
        raise PerturboError(_unreachable(address, f"{host}:{port}: {reason}")) from None
