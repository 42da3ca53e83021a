"""The planner-time protocol of ``benchmarks/planner_time.py`` (its docstring says it in
full): the mixed 6-D space and toy objective, the 200 observations, rounds of 4 with 4
pending (:func:`time_asks`), then the asynchronous schedule, one proposal per ask with 3
pending (:func:`time_async`); :func:`time_both` runs one after the other on one planner.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import numpy as np

N_OBS, BATCH, PENDING, ASKS = 200, 4, 4, 5
ASYNC_ASKS, ASYNC_PENDING = 8, 3  # the asynchronous schedule with 4 workers: see time_async


def mixed_space(fidelity: bool = False) -> Any:
    from perturbo.space import Categorical, Float, Int, SearchSpace

    params = [
        Float("lr", 1e-4, 1e-1, log=True),
        Float("dropout", 0.0, 0.5),
        Int("layers", 1, 4),
        Int("width", 8, 256, log=True),
        Categorical("activation", ["relu", "tanh", "gelu"]),
        Categorical("optimizer", ["adam", "sgd", "rmsprop"]),
    ]
    return SearchSpace([*params, Int("epochs", 1, 27)] if fidelity else params)


def toy(p: dict[str, Any]) -> float:
    v = -((np.log10(p["lr"]) + 2.5) ** 2) - (p["dropout"] - 0.2) ** 2 - abs(p["layers"] - 2) / 4
    v += (
        -((np.log2(p["width"]) - 6) ** 2) / 8
        + {"relu": 0.2, "tanh": 0.0, "gelu": 0.1}[p["activation"]]
    )
    v += {"adam": 0.2, "sgd": 0.0, "rmsprop": 0.1}[p["optimizer"]]
    if "epochs" in p:
        v -= 0.5 * (1 - p["epochs"] / 27) ** 2
    return float(v)


def _metrics(p: dict[str, Any]) -> dict[str, float]:
    """``value`` (the toy, maximised), ``size`` (layers x width, a model-size proxy that the
    two- and three-objective rows minimise beside it), ``latency`` (a made-up cost the
    three-objective rows minimise too) and ``memory`` (size times the optimizer's state: the
    four-objective rows); the other rows read ``value`` only."""
    act = {"relu": 1.0, "tanh": 1.2, "gelu": 1.5}[p["activation"]]
    return {
        "value": toy(p),
        "size": float(p["layers"] * p["width"]),
        "latency": float(p["layers"] * np.log2(p["width"]) * act * (1 + p["dropout"])),
        "memory": float(
            p["layers"] * p["width"] * {"adam": 3, "sgd": 1, "rmsprop": 2}[p["optimizer"]]
        ),
    }


def obs(params: dict[str, Any], kind: str, metrics: dict[str, float], i: int) -> Any:
    from perturbo.types import ExperimentSpec, Observation, Outcome, Status

    spec = ExperimentSpec(params, kind, id=f"t{i}", round=i // BATCH)
    return Observation(spec, Outcome(Status.COMPLETED, metrics))


def general_history(space: Any, rng: np.random.Generator) -> tuple[list[Any], list[Any]]:
    from perturbo.types import ExperimentSpec

    configs = space.sample(rng, N_OBS + PENDING, set())
    if "epochs" in space.names:
        for c in configs:
            c["epochs"] = int(rng.choice([1, 3, 9, 27], p=[0.5, 0.25, 0.15, 0.1]))
    hist = [obs(c, "toy", _metrics(c), i) for i, c in enumerate(configs[:N_OBS])]
    pending = [ExperimentSpec(c, "toy") for c in configs[N_OBS:]]
    return hist, pending


def time_asks(
    planner: Any, history: list[Any], pending: list[Any], more: list[Any] | None = None
) -> dict[str, Any]:
    """``more``: observations told ``BATCH`` at a time before each ask after the first (a
    round's results, as in a campaign: a planner that keeps its fit while nothing new is
    told would otherwise be timed on a fit it does not redo)."""
    t0, c0 = time.perf_counter(), time.process_time()
    planner.tell(history)
    tell = (time.process_time() - c0, time.perf_counter() - t0)
    cpu, wall, notes = [], [], set()
    for i in range(ASKS):
        if more and i:
            planner.tell(more[(i - 1) * BATCH : i * BATCH])
        t0, c0 = time.perf_counter(), time.process_time()
        specs = planner.ask(BATCH, pending)
        cpu.append((time.process_time() - c0) / BATCH)
        wall.append((time.perf_counter() - t0) / BATCH)
        assert len(specs) == BATCH, f"{planner!r} proposed {len(specs)}"
        notes |= {s.note.split(";")[0][:40] for s in specs if s.note}
    return {
        "cpu_med": statistics.median(cpu),
        "cpu_max": max(cpu),
        "wall_med": statistics.median(wall),
        "wall_max": max(wall),
        "tell_cpu": tell[0],
        # a model that failed (its ask's Sobol fallback costs nothing) first, never cut off
        "notes": ", ".join(sorted(notes, key=lambda n: ("fallback" not in n, n)))[:90],
    }


def fresh_results(space: Any) -> list[Any]:
    """Observations beyond the 200 (another seed), told as results come in."""
    extra, _ = general_history(space, np.random.default_rng(1))
    return [
        obs(dict(o.spec.params), "toy", o.outcome.metrics, N_OBS + i) for i, o in enumerate(extra)
    ]


def time_async(planner: Any, more: list[Any], pending: list[Any]) -> dict[str, Any]:
    """The asynchronous schedule (the hyperparameter kind's default) with 4 workers: after the
    200 observations, ``ASYNC_ASKS`` times one new result is told and one proposal asked for,
    with the other ``ASYNC_PENDING`` running. Each proposal costs its whole ask; the mean is
    the CPU a proposal costs in the long run (planners that refit every few results spread a
    fit over several asks, as a round of 4 spreads it over its 4 proposals)."""
    cpu = []
    for i in range(ASYNC_ASKS):
        planner.tell(more[i : i + 1])
        c0 = time.process_time()
        specs = planner.ask(1, pending[:ASYNC_PENDING])
        cpu.append(time.process_time() - c0)
        assert len(specs) == 1, f"{planner!r} proposed {len(specs)}"
    return {
        "async_med": statistics.median(cpu),
        "async_max": max(cpu),
        "async_mean": statistics.fmean(cpu),
    }


def time_both(planner: Any, space: Any) -> dict[str, Any]:
    """Rounds of 4 (``time_asks``), then on with one at a time (``time_async``)."""
    hist, pending = general_history(space, np.random.default_rng(0))
    more = fresh_results(space)
    rounds = BATCH * (ASKS - 1)
    return {
        **time_asks(planner, hist, pending, more[:rounds]),
        **time_async(planner, more[rounds:], pending),
    }


__all__ = [
    "ASKS",
    "ASYNC_ASKS",
    "ASYNC_PENDING",
    "BATCH",
    "N_OBS",
    "PENDING",
    "fresh_results",
    "general_history",
    "mixed_space",
    "obs",
    "time_asks",
    "time_async",
    "time_both",
    "toy",
]
