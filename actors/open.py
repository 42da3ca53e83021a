"""Open the pool a campaign runs on: in-process (``local``) or Ray actors (a local Ray on
127.0.0.1, or the cluster at ``address``). The one place the CLI and the Python API choose."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from perturbo.protocols import ExecutorFactory, ExecutorPool

__all__ = ["OpenPool", "local_workers", "open_pool"]


@dataclass
class OpenPool:
    """A pool and the Ray runtime this process started for it (``None`` when local).
    ``where`` says in words where experiments run, for logs and MLflow."""

    pool: ExecutorPool
    runtime: Any
    where: str
    job_id: str = ""
    """The Ray job this driver is (``ray list jobs`` / the dashboard), on Ray."""

    def close(self) -> None:
        """Stop the actors, then only the Ray this process started."""
        try:
            self.pool.close()
        finally:
            if self.runtime is not None and not getattr(self.pool, "head_lost", False):
                self.runtime.shutdown()  # (a lost head cannot be asked: shutdown would hang)


def open_pool(
    executor_factory: ExecutorFactory,
    *,
    local: bool = False,
    address: str | None = None,
    workers: int | None = None,
    num_gpus_per_worker: float = 0.0,
    batch: int | None = None,
) -> OpenPool:
    """``local``: where the factory runs user code (its ``runs_user_code`` is true: a
    ``module:function`` objective), in child processes, so a crash of that code is a FAILED
    experiment and not a dead driver; ``workers`` of them, by default :func:`local_workers`
    (``min(batch, CPUs)``). Otherwise in this process, with ``workers`` threads (default 1).
    Without ``local``: Ray actors, one per CPU unless ``workers`` says; GPUs are requested
    only where the cluster has them."""
    import perturbo.actors as actors  # the public names (lazy: Ray loads only when used)

    if local and getattr(executor_factory, "runs_user_code", False):
        from perturbo.actors.process_pool import ProcessExecutorPool

        n = workers or local_workers(batch)
        pool = ProcessExecutorPool(executor_factory, n_workers=n)
        return OpenPool(pool, None, f"local (user code in {_counted(n)})")
    if local:
        pool = actors.LocalExecutorPool(executor_factory, n_workers=workers or 1)
        return OpenPool(pool, None, "local")
    runtime = actors.connect(address)  # the pool runs on the Ray this connected to
    try:
        gpus = num_gpus_per_worker if runtime.has_gpu() else 0.0
        pool = actors.RayExecutorPool(executor_factory, n_workers=workers, num_gpus_per_worker=gpus)
    except BaseException:
        runtime.shutdown()
        raise
    return OpenPool(pool, runtime, f"ray {address or '127.0.0.1 (local)'}", _job_id())


def local_workers(batch: int | None) -> int:
    """The child processes a ``--local`` campaign of user code runs by default: one per
    trial of a batch, at most one per CPU (``--batch`` says trials run in parallel; a Ray
    Tune user gets as many concurrent trials as CPUs; Optuna's ``n_jobs=1`` default runs
    threads, which user code holding the GIL would not use). Each child sets torch to one
    thread, so more children than CPUs would only queue. Built-in tasks stay one at a time in
    this process: threads there share its GIL and its torch, so they gain little and would
    make a run harder to follow; ``--workers`` or Ray runs them in parallel."""
    import os

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(batch or 1, cpus or 1))


def _counted(n: int) -> str:
    """``1 child process`` / ``3 child processes``, for :attr:`OpenPool.where`."""
    return f"{n} child process" + ("" if n == 1 else "es")


def _job_id() -> str:
    try:
        import ray

        return str(ray.get_runtime_context().get_job_id() or "")
    except Exception:  # noqa: BLE001 - a label only
        return ""
