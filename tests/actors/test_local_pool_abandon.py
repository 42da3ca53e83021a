"""A timed-out experiment's thread is stopped at its next bytecode, not left running to its
end (where, at interpreter exit, it could be inside torch: exit 134)."""

from __future__ import annotations

import threading
import time

from perturbo.actors import LocalExecutorPool
from perturbo.types import ExperimentSpec, Outcome, Status

ticks: list[float] = []
runners: list[threading.Thread] = []


class Ticker:
    """Runs ``params["n"]`` short sleeps (native calls), counting them."""

    def run(self, spec: ExperimentSpec) -> Outcome:
        runners.append(threading.current_thread())
        for _ in range(int(spec.params["n"])):
            time.sleep(0.01)
            ticks.append(time.monotonic())
        return Outcome(Status.COMPLETED, {"n": float(spec.params["n"])})


def test_abandoned_thread_stops_at_its_next_bytecode() -> None:
    ticks.clear()
    runners.clear()
    with LocalExecutorPool(Ticker, n_workers=1, experiment_timeout_s=0.2) as pool:
        pool.submit([ExperimentSpec({"n": 500}, "hyperparameter", id="long")])
        (obs,) = pool.wait(timeout_s=5)
        assert obs.outcome.status is Status.FAILED and pool.n_timed_out == 1
        (old,) = runners
        old.join(2.0)
        assert not old.is_alive()  # the abandoned thread ended (it would tick for 5 s)
        assert len(ticks) < 250  # ... 500 times
        pool.submit([ExperimentSpec({"n": 2}, "hyperparameter", id="short")])
        (obs,) = pool.wait(timeout_s=5)
        assert obs.outcome.ok  # its fresh replacement runs the next one
