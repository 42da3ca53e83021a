"""The progress display counts what the stop rule counts, under every schedule: real campaigns
through the CLI (branin, random planner) into a real MLflow sqlite store, the lines the
display printed read back. Under the asynchronous schedule a round is a group of completions,
so a budget of 8 trials in batches of 2 took 8 rounds and the bar said ``8/4`` (``8/2`` with
Ray, ``4/1`` in-process)."""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from stores import *  # noqa: F403

from perturbo.campaign import StopRule
from perturbo.cli import main
from perturbo.history import History
from perturbo.progress import RoundProgress

ROUND = re.compile(r"^round (\d+) \((\d+)/(\d+) (rounds|experiments)\):", re.M)
BAR = re.compile(r"(\d+)/(\d+) (?:rounds|experiments)\b")


def _campaign(capfd: pytest.CaptureFixture[str], store: str, *extra: str) -> str:
    rc = main(
        [
            "run", "hyperparameter", "--task", "branin", "--planner", "random",
            "--trials", "8", "--batch", "2", "--seed", "0", "--tracking-uri", store, *extra,
        ]
    )  # fmt: skip
    err = capfd.readouterr().err
    assert rc == 0, err
    return err


def _check_counts(err: str, trials: int) -> list[tuple[int, int]]:
    """Every round line's done/total: in experiments, growing, never above the total, and
    the last one complete; the bar's own M/N never above its N."""
    rows = [(int(d), int(t), unit) for _, d, t, unit in ROUND.findall(err)]
    assert rows, f"no round line with a done/total count:\n{err}"
    assert {unit for *_, unit in rows} == {"experiments"}
    counts = [(d, t) for d, t, _ in rows]
    assert all(d <= t for d, t in counts), counts
    assert [d for d, _ in counts] == sorted({d for d, _ in counts}), counts  # growing
    assert counts[-1] == (trials, trials), counts
    for done, total in BAR.findall(err):
        assert int(done) <= int(total), (done, total, err)
    return counts


@pytest.mark.parametrize("schedule", ["sync", "async"])
def test_in_process_totals_are_experiments(
    capfd: pytest.CaptureFixture[str], store: str, schedule: str
) -> None:
    err = _campaign(capfd, store, "--local", "--schedule", schedule, "--name", f"p-{schedule}")
    counts = _check_counts(err, 8)
    if schedule == "sync":
        assert [d for d, _ in counts] == [2, 4, 6, 8]  # four rounds of two
        # resumed with a larger budget: it says so at once, and counts on from what is recorded
        rc = main(["resume", "p-sync", "--trials", "12", "--local", "--tracking-uri", store])
        again = capfd.readouterr().err
        assert rc == 0, again
        assert again.startswith("resuming campaign 'p-sync'"), again
        assert _check_counts(again, 12)[0][0] > 8, again
    # the work after the last round is announced, before the line that says it is done
    assert err.index("recording the final metrics") < err.index("done: 8 experiments")


@pytest.mark.slow
def test_ray_async_totals_are_experiments(
    capfd: pytest.CaptureFixture[str], store: str, ray_runtime: Any
) -> None:
    err = _campaign(capfd, store, "--workers", "2", "--schedule", "async", "--name", "p-ray")
    _check_counts(err, 8)


def test_resumed_and_round_budgets_never_show_done_above_total() -> None:
    """A resumed campaign starts from what is recorded; a rounds budget counts rounds."""
    from perturbo.types import ExperimentSpec, Observation, Outcome, Status

    history = History(
        [
            Observation(
                ExperimentSpec({"x": i}, "hyperparameter", f"r{i}", i),
                Outcome(Status.COMPLETED, {}),
            )
            for i in range(5)
        ]
    )
    by_exp = RoundProgress.for_stop(StopRule(max_experiments=4), history, enabled=False)
    assert by_exp.by_experiments and by_exp.count() == "5/5 experiments"  # never 5/4
    by_rounds = RoundProgress.for_stop(StopRule(rounds=8), history, enabled=False)
    assert not by_rounds.by_experiments and by_rounds.count() == "5/8 rounds"
    open_ended = RoundProgress.for_stop(StopRule(wall_clock_s=60), history, enabled=False)
    assert open_ended.count() == "5 rounds"


def test_python_api_progress_prints_counts(capfd: pytest.CaptureFixture[str]) -> None:
    """``Campaign(...).run(progress=True)`` printed nothing (its display was never entered)."""
    from perturbo import Campaign

    Campaign("branin", planner="random", trials=6, batch=2, name="api").run(progress=True)
    _check_counts(capfd.readouterr().err, 6)


class _Staggered:
    """The k-th experiment (``calls``: one count the workers' executors share) sleeps
    0.15 * (1 + k % 4) s, so a batch of four ends one by one."""

    def __init__(self, calls: Iterator[int]) -> None:
        self.calls = calls

    def run(self, spec: Any) -> Any:
        from perturbo.types import Outcome, Status

        time.sleep(0.15 * (1 + next(self.calls) % 4))
        return Outcome(Status.COMPLETED, {"value": float(spec.params["x"])})


@pytest.mark.parametrize("schedule", ["sync", "async"])
def test_async_lines_say_how_many_still_run(
    capfd: pytest.CaptureFixture[str], schedule: str
) -> None:
    """Under the asynchronous schedule a round is one group of completions, so a batch of 4
    printed ``ran=1`` four times and read as if the batch were ignored: each line now says
    how many still run. Four workers, a batch of 4 whose experiments end 0.15 s apart."""
    from perturbo.actors import LocalExecutorPool
    from perturbo.campaign import run
    from perturbo.search.registry import make_planner
    from perturbo.space import Float, SearchSpace

    space = SearchSpace([Float("x", 0.0, 1.0)])
    calls = itertools.count()
    pool = LocalExecutorPool(lambda: _Staggered(calls), n_workers=4)
    try:
        with RoundProgress(None, title="t", total_experiments=8) as progress:
            run(planner=make_planner("random", space, kind="toy", seed=0), pool=pool,
                space=space, batch=4, stop=StopRule(max_experiments=8), on_round=progress,
                schedule=schedule, poll_s=0.02)  # fmt: skip
    finally:
        pool.close()
    err = capfd.readouterr().err
    lines = re.findall(r"ran=(\d+)(?: running=(\d+))?", err)
    assert sum(int(r) for r, _ in lines) == 8, err
    running = [int(k or 0) for _, k in lines]
    assert all(int(r) + k <= 4 for (r, _), k in zip(lines, running, strict=True)), err
    if schedule == "sync":
        assert running == [0, 0] and [int(r) for r, _ in lines] == [4, 4], err
    else:  # the first of a batch ends while the other three run
        assert max(running) == 3 and len(lines) > 2, err
