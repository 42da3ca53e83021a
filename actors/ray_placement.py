"""Where the Ray pool's actors go (a part of :class:`~perturbo.actors.ray_pool.RayExecutorPool`,
split out by responsibility): how many actors, the CPU and GPU share each asks for, and the
actor class with those options. How long an actor may wait for its place is
:mod:`perturbo.actors.ray_limits`'s.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import Any

from perturbo.actors.ray_worker import Worker

__all__ = ["actor_class", "actor_shares"]


def actor_shares(
    ray: Any, n_workers: int | None, num_gpus_per_worker: float
) -> tuple[int, float, float]:
    """``(actors, CPUs per actor, GPUs per actor)`` on the Ray this process is connected to.

    ``n_workers`` defaults to the CPUs available. GPUs are asked for only where the cluster
    has some (otherwise a warning, and 0). One CPU per actor where free; else they share what
    is free (another pool, a model host may hold CPUs): an actor asking for more than is free
    would never start (a warning says so). Warnings name the pool's caller."""
    total = ray.cluster_resources()
    if n_workers is None:
        n_workers = max(1, int(ray.available_resources().get("CPU", 1)))
    gpus = float(num_gpus_per_worker)
    if gpus > 0 and total.get("GPU", 0.0) <= 0:
        warnings.warn(
            f"num_gpus_per_worker={gpus:g} but the Ray cluster has no GPU: running on CPU",
            stacklevel=3,
        )
        gpus = 0.0
    free = float(ray.available_resources().get("CPU", 0.0))
    cpu_per = 1.0
    if n_workers > free:
        cpu_per = max(0.0, math.floor(100 * free / n_workers) / 100)
        warnings.warn(
            f"{n_workers} workers but {free:g} CPUs free in the Ray cluster: each actor "
            f"reserves {cpu_per:g} CPU and they share the cores",
            stacklevel=3,
        )
    return n_workers, cpu_per, gpus


def actor_class(ray: Any, cpu_per: float, gpus: float, resources: Mapping[str, float]) -> Any:
    """The pool's actor class (:class:`~perturbo.actors.ray_worker.Worker`) with its share,
    custom ``resources``, no restarts (the pool replaces a dead actor itself), one call at a
    time, spread over the nodes."""
    return ray.remote(Worker).options(
        num_cpus=cpu_per,
        num_gpus=gpus,
        max_restarts=0,
        max_concurrency=1,
        scheduling_strategy="SPREAD",
        resources=dict(resources),
    )
