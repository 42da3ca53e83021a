"""Executor pools and the Ray runtime: where experiments run.

``LocalExecutorPool`` runs in-process (tests, ``--local``); ``ProcessExecutorPool`` in child
processes (``--local`` with a ``module:function`` objective); ``RayExecutorPool`` runs on
long-lived Ray actors; ``connect`` starts a local Ray on 127.0.0.1 or joins a cluster.
Ray itself is imported only when a Ray pool or runtime is actually used.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__all__ = [
    "LocalExecutorPool",
    "OpenPool",
    "ProcessExecutorPool",
    "RayExecutorPool",
    "RayRuntime",
    "connect",
    "open_pool",
]

_HOME = {
    "LocalExecutorPool": "perturbo.actors.local_pool",
    "ProcessExecutorPool": "perturbo.actors.process_pool",
    "RayExecutorPool": "perturbo.actors.ray_pool",
    "RayRuntime": "perturbo.actors.ray_runtime",
    "connect": "perturbo.actors.ray_runtime",
    "OpenPool": "perturbo.actors.open",
    "open_pool": "perturbo.actors.open",
}

if TYPE_CHECKING:
    from perturbo.actors.local_pool import LocalExecutorPool
    from perturbo.actors.open import OpenPool, open_pool
    from perturbo.actors.process_pool import ProcessExecutorPool
    from perturbo.actors.ray_pool import RayExecutorPool
    from perturbo.actors.ray_runtime import RayRuntime, connect


def __getattr__(name: str) -> Any:
    if name in _HOME:
        value = getattr(import_module(_HOME[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'perturbo.actors' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
