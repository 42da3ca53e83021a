"""The note of an Optuna proposal: which part of the sampler made it, read from the sampler's
own settings (start-up trials, population size) and from what it sampled jointly.

Optuna's samplers sample at random until they have data (TPE's and GP's ``n_startup_trials``,
NSGA-II's first generation of ``population_size``, CMA-ES's ``n_startup_trials``), and
CMA-ES, GP and NSGA-II sample whatever their joint model leaves out (CMA-ES: every
categorical) with their independent, random, sampler. A user comparing planners must be
able to see that, as bo's notes say "sobol initial design".
"""

from __future__ import annotations

from typing import Any

from perturbo.space import Categorical, SearchSpace

_LABELS = {
    "TPESampler": "TPE",
    "GPSampler": "GP",
    "CmaEsSampler": "CMA-ES",
    "NSGAIISampler": "NSGA-II",
    "RandomSampler": "random",
}


def _count(study: Any, *states: Any) -> int:
    return len(study.get_trials(deepcopy=False, states=states))


def note(
    study: Any, trial: Any, params: dict[str, Any], space: SearchSpace, fixed: bool = False
) -> str:
    """A short note for ``trial`` (just asked, its ``params`` suggested) of ``study``;
    ``fixed``: its params were enqueued, not sampled."""
    import optuna

    TS = optuna.trial.TrialState
    sampler = study.sampler
    kind = type(sampler).__name__
    label = f"optuna {_LABELS.get(kind, kind)}"
    if isinstance(sampler, optuna.samplers.RandomSampler):
        return f"{label}: sampled at random"
    running = _count(study, TS.RUNNING)  # this trial included
    if isinstance(sampler, optuna.samplers.NSGAIISampler):
        key = sampler._get_generation_key()
        gen = study._storage.get_trial(trial._trial_id).system_attrs.get(key)
        size = sampler.population_size
        if gen == 0:
            done = sum(
                t.system_attrs.get(key) == 0
                for t in study.get_trials(deepcopy=False, states=(TS.COMPLETE,))
            )
            return f"{label}: random population ({_nth(done + running, size)})"
        return f"{label}: generation {gen}"
    start = getattr(sampler, "_n_startup_trials", 0)
    states = (TS.COMPLETE, TS.PRUNED) if kind == "TPESampler" else (TS.COMPLETE,)
    done = _count(study, *states)
    if done < start:
        return f"{label}: random start-up ({_nth(done + running, start)})"
    text = f"{label} on {done} trials"
    if kind == "TPESampler" or fixed:
        return text  # its independent sampling is TPE too, not random
    joint = trial.relative_params or {}
    alone = [
        n
        for n in params
        if n not in joint
        and not (isinstance(space[n], Categorical) and len(space[n].choices) == 1)
        and not (not isinstance(space[n], Categorical) and space[n].low == space[n].high)
    ]
    if not alone:
        return text
    if all(isinstance(space[n], Categorical) for n in alone) and kind == "CmaEsSampler":
        what = "categorical parameters"
    else:
        what = ", ".join(alone)
    every = " (every parameter)" if len(alone) == len(params) else ""
    return f"{text}; {what} sampled at random{every}"


def _nth(n: int, of: int) -> str:
    return f"{n} of {of}" if n <= of else f"{n}th; the model starts after {of}"


__all__ = ["note"]
