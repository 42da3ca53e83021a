"""The multi-fidelity benchmark's peers (``benchmarks/multi_fidelity.py``): Optuna's
``HyperbandPruner``, SMAC3's Hyperband (``MultiFidelityFacade``) and DEHB, each at its
documented defaults with eta 3 and fidelities 1..max epochs, driven ask/tell (Optuna one trial
at a time) until it has paid the budget. Each returns its trace: ``(cost so far, epochs run,
val_loss at them, config key)`` per evaluation.

SMAC3 and DEHB are benchmark extras, not product dependencies: ``smac`` from
``.peers/smac`` and ``dehb`` from ``.peers/dehb`` (``pip install --no-deps --target``; DEHB's
metadata asks for numpy < 2, but with ``--no-deps`` it runs on the product's numpy 2 - it
needs ``loguru`` beside it and ConfigSpace/dask/distributed from the SMAC folder).
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

from mf_trainer import Spend, Trainer


def _configspace(tr: Trainer, seed: int) -> Any:
    import ConfigSpace as CS

    from perturbo.space import Categorical, Float, Int

    cs = CS.ConfigurationSpace(seed=seed)
    hps = {}
    for p in tr.space.params:
        if isinstance(p, Float):
            hps[p.name] = CS.Float(p.name, (p.low, p.high), log=p.log)
        elif isinstance(p, Int):
            hps[p.name] = CS.Integer(p.name, (p.low, p.high), log=p.log)
        elif isinstance(p, Categorical):
            hps[p.name] = CS.Categorical(p.name, list(p.choices))
    cs.add(list(hps.values()))
    for p in tr.space.params:
        for parent, values in p.when or ():
            cs.add(CS.InCondition(hps[p.name], hps[parent], list(values)))
    return cs


def run_optuna(tr: Trainer, seed: int, budget: float, spend: Spend) -> list[Any]:
    """Optuna's ``TPESampler`` with ``HyperbandPruner(1, max, 3)``: a trial continues until
    pruned, so a trial stopped at epoch e costs e."""
    import optuna

    from perturbo.search.optuna_planner import suggest

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="minimize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.HyperbandPruner(
            min_resource=1, max_resource=tr.max_e, reduction_factor=3
        ),
    )
    trace: list[Any] = []

    def objective(trial: Any) -> float:
        cfg = tr.space.validate(suggest(trial, tr.space))

        def stop(e: int, v: float) -> bool:
            trial.report(v, e)
            return trial.should_prune()

        vals = tr.curve(cfg, tr.max_e, stop=stop)
        key = tr.space.key(cfg)
        spend.pay(key, len(vals), kept=len(vals) == tr.max_e)
        trace.append((spend.total, len(vals), vals[-1], key))
        if len(vals) < tr.max_e:
            raise optuna.TrialPruned()
        return vals[-1]

    while spend.total < budget:
        study.optimize(objective, n_trials=1)
    return trace


def run_smac(tr: Trainer, seed: int, budget: float, spend: Spend) -> list[Any]:
    """SMAC3's ``MultiFidelityFacade`` (random forest + Hyperband, eta 3: BOHB-like), ask/tell.
    Its Hyperband runs a promoted config again at the higher budget; what that costs is
    :class:`Spend`'s (the new epochs only where the trainer continues runs)."""
    from smac import MultiFidelityFacade, Scenario
    from smac.runhistory.dataclasses import TrialValue

    logging.getLogger("smac").setLevel(logging.ERROR)
    cs = _configspace(tr, seed)
    with tempfile.TemporaryDirectory() as tmp:
        scenario = Scenario(
            cs, deterministic=True, n_trials=100_000, min_budget=1, max_budget=tr.max_e,
            seed=seed, output_directory=Path(tmp) / "smac",
        )  # fmt: skip
        smac = MultiFidelityFacade(
            scenario,
            target_function=lambda config, seed=0, budget=tr.max_e: 0.0,
            intensifier=MultiFidelityFacade.get_intensifier(scenario, eta=3),
            overwrite=True,
            logging_level=40,
        )
        trace: list[Any] = []
        while spend.total < budget:
            info = smac.ask()
            e = int(round(info.budget or tr.max_e))
            cfg = tr.space.validate(dict(info.config))
            v = tr.curve(cfg, e)[-1]
            key = tr.space.key(cfg)
            spend.pay(key, e)
            trace.append((spend.total, e, v, key))
            smac.tell(info, TrialValue(cost=v))
    return trace


def run_dehb(tr: Trainer, seed: int, budget: float, spend: Spend) -> list[Any]:
    """DEHB (differential evolution + Hyperband; its defaults: mutation 0.5, crossover 0.5,
    rand1_bin), ask/tell with one worker, fidelities 1..max, eta 3."""
    import warnings

    from dehb import DEHB

    warnings.filterwarnings("ignore", category=DeprecationWarning)
    cs = _configspace(tr, seed)
    with tempfile.TemporaryDirectory() as tmp:
        dehb = DEHB(
            cs=cs, dimensions=len(list(cs.values())), min_fidelity=1, max_fidelity=tr.max_e,
            eta=3, n_workers=1, seed=seed, output_path=tmp, save_freq="end", log_level="ERROR",
        )  # fmt: skip
        trace: list[Any] = []
        while spend.total < budget:
            job = dehb.ask()
            e = int(round(job["fidelity"]))
            cfg = tr.space.validate(dict(job["config"]))  # a ConfigSpace Configuration
            v = tr.curve(cfg, e)[-1]
            key = tr.space.key(cfg)
            spend.pay(key, e)
            trace.append((spend.total, e, v, key))
            dehb.tell(job, {"fitness": v, "cost": float(e)})
    return trace


__all__ = ["run_dehb", "run_optuna", "run_smac"]
