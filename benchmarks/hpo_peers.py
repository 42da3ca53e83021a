"""Peer HPO libraries for ``benchmarks/hyperparameter.py``, each through its OWN ask/tell API.

One function per peer builds that library's optimiser on a perturbo ``SearchSpace`` and returns
an object with ``ask(k) -> [(handle, params)]`` and ``tell([(handle, params, value)])``;
:func:`drive` runs it: ``batch`` asks (the earlier ones pending), then their tells.

Space translation, the same for every peer:

- ``Float`` -> the library's float (log scale where ``log``); ``Int`` -> its integer;
- unordered ``Categorical`` -> its categorical (one-hot or its own categorical kernel);
- ordered ``Categorical`` (a numeric grid, e.g. HPOBench's) -> an integer over the grid index,
  so the peer knows the order (as the Optuna adapter does);
- conditional params (``when``): Optuna asks them only when active (define-by-run); SMAC3 gets
  ConfigSpace conditions; HEBO and Ax have flat spaces: they suggest every param and the
  inactive ones are dropped before the evaluation.

Peers (settings from each library's documentation):

- ``optuna-tpe``: ``TPESampler(multivariate=True, constant_liar=True, seed=seed)``
  (the settings Optuna 5.0 recommends for batch/parallel use);
- ``optuna-gp``: ``GPSampler(seed=seed)``, its defaults, with ``deterministic_objective=True``
  on the noise-free synthetic functions (perturbo's ``bo`` gets ``--deterministic`` there);
- ``smac``: SMAC3 ``HyperparameterOptimizationFacade``, its default initial design,
  ``deterministic=True`` for noise-free tasks (synthetic functions, seeded trainers), ``False``
  for the tabular lookups (a recorded training seed drawn at random);
- ``hebo``: ``HEBO(space, scramble_seed=seed).suggest(n_suggestions=batch)`` / ``observe``;
- ``ax``: Ax's ``Client`` with its default generation strategy
  (``configure_experiment`` / ``get_next_trials(max_trials=batch)`` / ``complete_trial``).

HEBO, SMAC3 and Ax are not in the product's environment: ``make bench-peers`` installs them
into ``.peers/lib`` (``pip --target --no-deps``, so nothing of the product's pins changes) and
:func:`peer_path` puts that folder on ``sys.path``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from hpo_tasks import noise_free

from perturbo.space import Categorical, Float, Int, SearchSpace

__all__ = ["PEERS", "drive", "make_peer", "peer_path", "peer_versions"]

PEER_DIR = Path(__file__).resolve().parent.parent / ".peers" / "lib"
PEERS = ("optuna-tpe", "optuna-gp", "smac", "hebo", "ax")
_DIST = {
    "optuna-tpe": "optuna",
    "optuna-gp": "optuna",
    "smac": "smac",
    "hebo": "HEBO",
    "ax": "ax-platform",
}


def peer_path() -> None:
    """Put ``.peers/lib`` (``make bench-peers``) at the END of ``sys.path``: the product's own
    packages (numpy, torch, botorch...) win over anything there."""
    if PEER_DIR.is_dir() and str(PEER_DIR) not in sys.path:
        sys.path.append(str(PEER_DIR))


def peer_versions(peers: list[str]) -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    peer_path()
    out = {}
    for p in peers:
        if p in _DIST:
            try:
                out[p] = version(_DIST[p])
            except PackageNotFoundError:
                out[p] = "?"
    return out


def _sign(task: Any) -> float:
    """Multiply a value by this to get a cost (every peer here minimises)."""
    return -1.0 if task.direction == "max" else 1.0


def _from_index(p: Any, v: Any) -> Any:
    return p.choices[int(v)] if isinstance(p, Categorical) and p.ordered else v


def _active(space: SearchSpace, full: dict[str, Any]) -> dict[str, Any]:
    return {p.name: full[p.name] for p in space.active(full)}


def _py(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


# -- Optuna --------------------------------------------------------------------------------------


class _Optuna:
    def __init__(self, task: Any, seed: int, kind: str) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        smp = (
            optuna.samplers.TPESampler(multivariate=True, constant_liar=True, seed=seed)
            if kind == "tpe"
            # deterministic_objective on noise-free functions: the information bo gets there
            else optuna.samplers.GPSampler(seed=seed, deterministic_objective=noise_free(task))
        )
        direction = "maximize" if task.direction == "max" else "minimize"
        self.study = optuna.create_study(direction=direction, sampler=smp)
        self.space = task.space()

    def _suggest(self, trial: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for p in self.space.params:  # define-by-run: a conditional param only when active
            if p.when and any(out.get(k) not in vs for k, vs in p.when):
                continue
            if isinstance(p, Float):
                out[p.name] = trial.suggest_float(p.name, p.low, p.high, log=p.log)
            elif isinstance(p, Int):
                out[p.name] = trial.suggest_int(p.name, p.low, p.high, log=p.log)
            elif p.ordered:
                out[p.name] = p.choices[trial.suggest_int(p.name, 0, len(p.choices) - 1)]
            else:
                out[p.name] = trial.suggest_categorical(p.name, list(p.choices))
        return out

    def ask(self, k: int) -> list[tuple[Any, dict[str, Any]]]:
        return [(t, self._suggest(t)) for t in (self.study.ask() for _ in range(k))]

    def tell(self, done: list[tuple[Any, dict[str, Any], float]]) -> None:
        for t, _, y in done:
            self.study.tell(t, y)


# -- SMAC3 ---------------------------------------------------------------------------------------


class _Smac:
    def __init__(self, task: Any, seed: int, evals: int) -> None:
        import ConfigSpace as CS
        from smac import HyperparameterOptimizationFacade, Scenario

        self.space, self.sign = task.space(), _sign(task)
        cs = CS.ConfigurationSpace(seed=seed)
        hps = {}
        for p in self.space.params:
            if isinstance(p, Float):
                hp = CS.Float(p.name, (p.low, p.high), log=p.log)
            elif isinstance(p, Int):
                hp = CS.Integer(p.name, (p.low, p.high), log=p.log)
            elif p.ordered:
                hp = CS.Integer(p.name, (0, len(p.choices) - 1))
            else:
                hp = CS.Categorical(p.name, [_py(c) for c in p.choices])
            hps[p.name] = hp
            cs.add(hp)
        for p in self.space.params:
            for parent, vals in p.when:
                cs.add(CS.InCondition(hps[p.name], hps[parent], [_py(v) for v in vals]))
        self._tmp = tempfile.TemporaryDirectory(prefix="smac-")
        scenario = Scenario(
            cs,
            deterministic=not hasattr(task, "true_value"),  # tabular lookups are noisy
            n_trials=evals,
            seed=seed,
            output_directory=Path(self._tmp.name) / "out",
        )
        self.smac = HyperparameterOptimizationFacade(
            scenario, lambda config, seed=0: 0.0, overwrite=True, logging_level=40
        )

    def ask(self, k: int) -> list[tuple[Any, dict[str, Any]]]:
        out = []
        for _ in range(k):
            info = self.smac.ask()
            cfg = dict(info.config)
            out.append((info, {n: _from_index(self.space[n], v) for n, v in cfg.items()}))
        return out

    def tell(self, done: list[tuple[Any, dict[str, Any], float]]) -> None:
        from smac.runhistory.dataclasses import TrialValue

        for info, _, y in done:
            self.smac.tell(info, TrialValue(cost=self.sign * y), save=False)


# -- HEBO ----------------------------------------------------------------------------------------


class _Hebo:
    def __init__(self, task: Any, seed: int) -> None:
        import torch
        from hebo.design_space.design_space import DesignSpace
        from hebo.optimizers.hebo import HEBO

        np.random.seed(seed)  # HEBO draws from the global numpy / torch streams
        torch.manual_seed(seed)
        self.space, self.sign = task.space(), _sign(task)
        spec = []
        for p in self.space.params:
            if isinstance(p, Float):
                spec.append({"name": p.name, "type": "pow" if p.log else "num"})
                spec[-1].update(lb=p.low, ub=p.high)
            elif isinstance(p, Int):
                spec.append({"name": p.name, "type": "pow_int" if p.log else "int"})
                spec[-1].update(lb=p.low, ub=p.high)
            elif p.ordered:
                spec.append({"name": p.name, "type": "int", "lb": 0, "ub": len(p.choices) - 1})
            else:  # categories by position: HEBO's one-hot encoder wants strings
                spec.append({"name": p.name, "type": "cat", "categories": _cat_labels(p)})
        self.opt = HEBO(DesignSpace().parse(spec), scramble_seed=seed)

    def ask(self, k: int) -> list[tuple[Any, dict[str, Any]]]:
        rec = self.opt.suggest(n_suggestions=k)
        out = []
        for i in range(len(rec)):
            row = rec.iloc[[i]]
            full = {}
            for p in self.space.params:
                v = _py(row[p.name].iloc[0])
                if isinstance(p, Categorical) and not p.ordered:
                    v = p.choices[_cat_labels(p).index(str(v))]
                elif isinstance(p, Int):
                    v = int(v)
                full[p.name] = _from_index(p, v)
            out.append((row, _active(self.space, full)))
        return out

    def tell(self, done: list[tuple[Any, dict[str, Any], float]]) -> None:
        import pandas as pd

        rows = pd.concat([r for r, _, _ in done])
        self.opt.observe(rows, np.array([[self.sign * y] for _, _, y in done]))


def _quiet(prefix: str) -> None:
    """Ax sets INFO on each of its loggers (one line per trial): warnings only."""
    import logging

    for name in list(logging.root.manager.loggerDict):
        if name.split(".")[0] == prefix:
            logging.getLogger(name).setLevel(logging.WARNING)


def _cat_labels(p: Categorical) -> list[str]:
    return [str(c) for c in p.choices]


# -- Ax ------------------------------------------------------------------------------------------


class _Ax:
    def __init__(self, task: Any, seed: int) -> None:
        from ax.api.client import Client
        from ax.api.configs import ChoiceParameterConfig, RangeParameterConfig

        self.space, self.task = task.space(), task
        params: list[Any] = []
        for p in self.space.params:
            if isinstance(p, (Float, Int)):
                params.append(
                    RangeParameterConfig(
                        name=p.name,
                        parameter_type="float" if isinstance(p, Float) else "int",
                        bounds=(p.low, p.high),
                        scaling="log" if p.log else "linear",
                    )
                )
            elif p.ordered:
                params.append(
                    RangeParameterConfig(
                        name=p.name, parameter_type="int", bounds=(0, len(p.choices) - 1)
                    )
                )
            else:
                params.append(
                    ChoiceParameterConfig(
                        name=p.name,
                        parameter_type="str",
                        values=_cat_labels(p),
                        is_ordered=False,
                    )
                )
        self.client = Client(random_seed=seed)
        _quiet("ax")
        self.client.configure_experiment(parameters=params, name="perturbo-bench")
        self.client.configure_optimization(objective=("" if task.direction == "max" else "-") + "y")

    def ask(self, k: int) -> list[tuple[Any, dict[str, Any]]]:
        out = []
        for idx, raw in self.client.get_next_trials(max_trials=k).items():
            full = {}
            for p in self.space.params:
                v = raw[p.name]
                if isinstance(p, Categorical) and not p.ordered:
                    v = p.choices[_cat_labels(p).index(str(v))]
                full[p.name] = _from_index(p, v)
            out.append((idx, _active(self.space, full)))
        return out

    def tell(self, done: list[tuple[Any, dict[str, Any], float]]) -> None:
        for idx, _, y in done:
            self.client.complete_trial(trial_index=idx, raw_data={"y": float(y)})


# -- driver --------------------------------------------------------------------------------------


def make_peer(name: str, task: Any, seed: int, evals: int) -> Any:
    peer_path()
    makers: dict[str, Callable[[], Any]] = {
        "optuna-tpe": lambda: _Optuna(task, seed, "tpe"),
        "optuna-gp": lambda: _Optuna(task, seed, "gp"),
        "smac": lambda: _Smac(task, seed, evals),
        "hebo": lambda: _Hebo(task, seed),
        "ax": lambda: _Ax(task, seed),
    }
    return makers[name]()


def drive(
    name: str, task: Any, seed: int, evals: int, batch: int, true_value: Callable[..., float]
) -> tuple[list[float], list[tuple[int, float, float]]]:
    """Run peer ``name`` for ``evals`` evaluations in rounds of ``batch`` (``batch`` asks, the
    earlier ones pending, then their tells). Returns (noise-free value of each evaluated
    config, [(observations told, CPU s per proposal, wall s per proposal) per round])."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    peer = make_peer(name, task, seed, evals)
    vals: list[float] = []
    times: list[tuple[int, float, float]] = []
    n = 0
    while n < evals:
        k = min(batch, evals - n)
        t0, c0 = time.perf_counter(), time.process_time()
        asked = peer.ask(k)
        times.append((n, (time.process_time() - c0) / k, (time.perf_counter() - t0) / k))
        done = []
        for handle, params in asked:
            y = float(task.evaluate(params)[task.objective])
            done.append((handle, params, y))
            vals.append(true_value(task, params, y))
        peer.tell(done)
        n += len(asked)
    return vals, times
