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
