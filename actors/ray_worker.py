"""The body of each actor of :class:`~perturbo.actors.ray_pool.RayExecutorPool` (it runs in the
actor's process): one executor, built lazily from the pool's factory, and the threads it may
use. The pool decides what runs where; this only runs what it is given. It is the actor
process's entry point, so it sets that process's thread counts (values from the pool).
"""

from __future__ import annotations

import os
import socket

from perturbo.actors._run import run_one
from perturbo.config_env import apply_env, set_torch_threads
from perturbo.protocols import Executor, ExecutorFactory
from perturbo.types import ExperimentSpec, Outcome

__all__ = ["Worker"]


class Worker:
    """The actor body: holds one executor (built lazily from the factory, so a factory that
    raises gives FAILED outcomes instead of an actor that never starts)."""

    def __init__(self, factory: ExecutorFactory, threads: int) -> None:
        apply_env({"OMP_NUM_THREADS": str(threads)}, keep_set=True)  # before torch loads libgomp
        self._factory = factory
        self._executor: Executor | None = None
        self._threads = threads
        self.name = f"{socket.gethostname()}:{os.getpid()}"

    def _get(self) -> Executor:
        if self._executor is None:
            self._executor = self._factory()
            set_torch_threads(self._threads, only_if_loaded=True)
        return self._executor

    def run_batch(self, specs: list[ExperimentSpec]) -> list[Outcome]:
        return [run_one(self._get, s, self.name) for s in specs]

    def whoami(self) -> str:
        return self.name
