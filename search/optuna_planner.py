"""An adapter over Optuna's ask/tell: TPE, GP, CMA-ES, NSGA-II (or random) as a perturbo Planner.

perturbo owns the loop and the history; Optuna keeps an in-memory study that mirrors it.
Each proposal is an ``optuna`` trial left RUNNING until its observation is told, so samplers
that account for running trials (TPE's constant liar) see the in-flight batch. On resume,
observations the study never asked for are added with ``study.add_trial``.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from perturbo.objective import Objective
from perturbo.search import optuna_notes as notes
from perturbo.search.unseen import REPLACED, Unseen
from perturbo.space import Categorical, Float, Int, SearchSpace
from perturbo.types import ExperimentSpec, InvalidSpec, Observation, PerturboError, Status

SAMPLERS = ("tpe", "gp", "cmaes", "nsga2", "random")


def make_sampler(name: str, seed: int, multi: bool = False, deterministic: bool = False) -> Any:
    """An Optuna sampler by short name (see :data:`SAMPLERS`); ``deterministic``: the objective
    is noise-free (``GPSampler``'s ``deterministic_objective``)."""
    import optuna

    name = name.lower().replace("-", "").replace("_", "")
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, constant_liar=True)
    if name == "gp":
        with warnings.catch_warnings():  # "experimental argument": noise on a user's terminal
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.GPSampler(seed=seed, deterministic_objective=deterministic)
    if name in ("cmaes", "cma"):
        if multi:
            raise PerturboError(
                "optuna sampler 'cmaes' is single-objective; use 'nsga2', 'tpe' or 'gp' for several objectives"
            )
        return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    if name in ("nsga2", "nsgaii"):
        return optuna.samplers.NSGAIISampler(seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    raise PerturboError(f"unknown optuna sampler {name!r}; choose one of {', '.join(SAMPLERS)}")


def distributions(space: SearchSpace) -> dict[str, Any]:
    import optuna.distributions as d

    out: dict[str, Any] = {}
    for p in space.params:
        if isinstance(p, Float):
            out[p.name] = d.FloatDistribution(p.low, p.high, log=p.log)
        elif isinstance(p, Int):
            out[p.name] = d.IntDistribution(p.low, p.high, log=p.log)
        elif isinstance(p, Categorical):
            out[p.name] = d.CategoricalDistribution(p.choices)
    return out


def suggest(trial: Any, space: Any) -> dict[str, Any]:
    """``trial``'s values for ``space``'s active parameters, through Optuna's
    ``suggest_float/int/categorical`` (log scales kept; conditional parameters only when active)."""
    params: dict[str, Any] = {}
    for p in space.params:
        if not p.active(params):
            continue
        if isinstance(p, Float):
            params[p.name] = trial.suggest_float(p.name, p.low, p.high, log=p.log)
        elif isinstance(p, Int):
            params[p.name] = trial.suggest_int(p.name, p.low, p.high, log=p.log)
        else:
            params[p.name] = trial.suggest_categorical(p.name, p.choices)
    return params


class OptunaPlanner:
    """``sampler``: one of :data:`SAMPLERS`. Multi-objective where ``objective`` names several."""

    def __init__(
        self,
        space: SearchSpace,
        kind: str = "",
        seed: int = 0,
        objective: str | Sequence[str] = "value",
        direction: str | Sequence[str] = "max",
        sampler: str = "tpe",
        deterministic: bool = False,
    ) -> None:
        import optuna

        logging.getLogger("optuna").setLevel(logging.WARNING)
        # GPSampler's optimiser says at import that it runs its L-BFGS-B restarts one after
        # another without the optional `greenlet` (the same optimum, a little slower): a
        # line a user can do nothing with, printed mid-campaign (Optuna's own format)
        logging.getLogger("optuna._gp.batched_lbfgsb").setLevel(logging.ERROR)
        self._optuna = optuna
        self._space, self._kind = space, kind
        self._objective = Objective.of(objective, direction)
        self.name = f"optuna-{sampler.lower()}"
        self._dists = distributions(space)
        self.study = optuna.create_study(
            directions=[
                "maximize" if d == "max" else "minimize" for d in self._objective.directions
            ],
            sampler=make_sampler(sampler, seed, self._objective.multi, deterministic),
        )
        self._running: dict[str, list[Any]] = {}
        self._rng = np.random.default_rng(seed)
        self._sampler, self._seed, self._asked = sampler, seed, False
        self._deterministic = deterministic
        self._unseen = Unseen(space)  # configs told, avoided while unseen ones remain

    def _suggest(self, trial: Any) -> dict[str, Any]:
        return suggest(trial, self._space)

    def ask(self, n: int, pending: Sequence[ExperimentSpec]) -> list[ExperimentSpec]:
        """``n`` new trials. A suggestion repeating a pending (or same-batch) config, or one
        already told while the space has unseen configs, is told FAIL ("duplicate") and asked
        again, up to 3 times; then a random config avoiding them is enqueued
        (``study.enqueue_trial``) so the study records what actually runs. Each proposal's note
        says which part of the sampler made it (search/optuna_notes.py) and any replacement."""
        TS = self._optuna.trial.TrialState
        if not self._asked and (told := len(self.study.get_trials(deepcopy=False))):
            self._resumed(told)
        self._asked = True
        taken = {self._space.key(s.params) for s in pending}
        out = []
        for _ in range(n):
            avoid = self._unseen.avoid(taken)
            for attempt in range(4):
                if attempt == 3:
                    self.study.enqueue_trial(self._unseen.pick(self._rng, avoid))
                trial = self.study.ask()
                params = self._suggest(trial)
                key = self._space.key(params)
                if key not in avoid or attempt == 3:
                    break
                what = "a pending" if key in taken else "a told"
                trial.set_user_attr("perturbo", f"duplicate of {what} config")
                self.study.tell(trial, state=TS.FAIL)
            note = notes.note(self.study, trial, params, self._space, fixed=attempt == 3)
            if attempt:
                how = (
                    REPLACED if attempt == 3 else "duplicate candidate replaced by a new suggestion"
                )
                note = f"{note}; {how}"
            taken.add(key)
            self._running.setdefault(key, []).append(trial)
            out.append(ExperimentSpec(params, self._kind, planner=self.name, note=note))
        return out

    def _resumed(self, told: int) -> None:
        """A planner told a history before its first ask (a resumed campaign) draws streams of
        its own, seeded by (seed, history length) as RandomPlanner does: the sampler's fresh
        stream would replay the campaign's first configs while it is still in its startup
        phase (Optuna's samplers sample at random for their first trials)."""
        seed = int(np.random.SeedSequence([self._seed, told]).generate_state(1)[0])
        self.study.sampler = make_sampler(
            self._sampler, seed, self._objective.multi, self._deterministic
        )
        if isinstance(self.study.sampler, self._optuna.samplers.CmaEsSampler):
            # CMA-ES keeps its state in attributes of its own trials, which a history added
            # with add_trial lacks: restart it around the best config told instead of the
            # space's centre (its warm start, source_trials, refuses mixed spaces). x0 is
            # deprecated since Optuna 4.9, to go in 6.0 (pinned: 5.0.0).
            import warnings

            done = self.study.get_trials(states=(self._optuna.trial.TrialState.COMPLETE,))
            if done:
                best = dict(self.study.best_trial.params)
                with warnings.catch_warnings():
                    warnings.filterwarnings("ignore", "`x0` has been deprecated", FutureWarning)
                    self.study.sampler = self._optuna.samplers.CmaEsSampler(
                        seed=seed, warn_independent_sampling=False, x0=best
                    )
        self._rng = np.random.default_rng([self._seed, told])

    def _values(self, o: Observation) -> list[float] | None:
        y = self._objective.signed(o)
        return None if y is None else list(y * self._objective.signs)

    def tell(self, observations: Sequence[Observation]) -> None:
        TS = self._optuna.trial.TrialState
        self._unseen.tell(observations)
        for o in observations:
            trials = self._running.get(self._space.key(o.spec.params))
            trial = trials.pop(0) if trials else None
            values = self._values(o)
            status = o.outcome.status
            if trial is not None:
                for step, v in enumerate(o.outcome.intermediate):
                    if not self._objective.multi and v == v:
                        trial.report(float(v), step)
                if status is Status.COMPLETED and values is not None:
                    self.study.tell(trial, values)
                elif status is Status.PRUNED and not self._objective.multi:
                    self.study.tell(trial, state=TS.PRUNED)
                else:
                    self.study.tell(trial, state=TS.FAIL)
                continue
            if status is Status.REJECTED:
                continue  # never ran and Optuna never asked for it: nothing to learn
            try:
                params = self._space.validate(o.spec.params)
            except InvalidSpec:
                continue
            dists = {k: self._dists[k] for k in params}
            inter = {i: float(v) for i, v in enumerate(o.outcome.intermediate) if v == v}
            if status is Status.COMPLETED and values is not None:
                t = self._optuna.trial.create_trial(
                    params=params,
                    distributions=dists,
                    values=values,
                    intermediate_values=inter if not self._objective.multi else None,
                )
            elif status is Status.PRUNED and not self._objective.multi:
                t = self._optuna.trial.create_trial(
                    params=params, distributions=dists, state=TS.PRUNED, intermediate_values=inter
                )
            else:
                t = self._optuna.trial.create_trial(
                    params=params, distributions=dists, state=TS.FAIL
                )
            self.study.add_trial(t)
