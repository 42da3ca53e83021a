"""The process pool's child is a process entry point: it sets torch's threads (one per child)
once it built the executor, as the Ray actor does, so the executors need not (issue 18: the
hyperparameter executor set them for the whole process where it was built)."""

from __future__ import annotations

import time

from perturbo.types import ExperimentSpec, Outcome, Status


class TorchThreads:
    """Loads torch when built, leaving it on three threads (as a library might); reports the
    threads its experiments run on."""

    def __init__(self) -> None:
        import torch

        torch.set_num_threads(3)
        self.torch = torch

    def run(self, spec: ExperimentSpec) -> Outcome:
        return Outcome(Status.COMPLETED, {"threads": float(self.torch.get_num_threads())})


def test_the_child_runs_torch_on_one_thread() -> None:
    from perturbo.actors.process_pool import ProcessExecutorPool

    with ProcessExecutorPool(TorchThreads, n_workers=1) as pool:
        pool.submit([ExperimentSpec({"i": 0}, "hyperparameter", id="e0")])
        out, deadline = [], time.monotonic() + 120
        while not out and time.monotonic() < deadline:
            out += pool.wait(timeout_s=1.0)
    (obs,) = out
    assert obs.outcome.ok, obs.outcome.error
    assert obs.outcome.metrics["threads"] == 1.0


_BLAS_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


class BlasEnv:
    """Reports the BLAS/OpenMP thread variables its process runs with (0: not set)."""

    def run(self, spec: ExperimentSpec) -> Outcome:
        import os

        return Outcome(
            Status.COMPLETED, {k: float(os.environ.get(k, "0") or 0) for k in _BLAS_VARS}
        )


def _blas_env_of_child() -> dict[str, float]:
    from perturbo.actors.process_pool import ProcessExecutorPool

    with ProcessExecutorPool(BlasEnv, n_workers=1) as pool:
        pool.submit([ExperimentSpec({"i": 0}, "hyperparameter", id="e0")])
        out, deadline = [], time.monotonic() + 120
        while not out and time.monotonic() < deadline:
            out += pool.wait(timeout_s=1.0)
    (obs,) = out
    assert obs.outcome.ok, obs.outcome.error
    return dict(obs.outcome.metrics)


def test_the_child_runs_blas_on_one_thread(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The driver's environment sets none of them: each child still gets one thread (its
    numpy would otherwise start a thread per core, n_workers times over)."""
    for k in _BLAS_VARS:
        monkeypatch.delenv(k, raising=False)
    assert _blas_env_of_child() == dict.fromkeys(_BLAS_VARS, 1.0)


def test_a_thread_variable_the_user_set_is_kept(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for k in _BLAS_VARS:
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    got = _blas_env_of_child()
    assert got["OPENBLAS_NUM_THREADS"] == 2.0
    assert got["OMP_NUM_THREADS"] == got["MKL_NUM_THREADS"] == 1.0
