"""The hyperparameter kind: one experiment trains and evaluates one config on a task.

:class:`HyperparameterExecutor` runs a trial of a task from :mod:`perturbo.kinds.hyperparameter.tasks`
(on CUDA where torch sees a GPU, else on the CPU with one thread), records the objective
after every epoch in ``Outcome.intermediate`` and, when given a rung keeper (ASHA, see
:mod:`perturbo.search.asha` and :mod:`perturbo.actors.rungs`), stops a trial the keeper
rejects: it ends ``Status.PRUNED`` with its metrics so far. An objective that raises or
returns NaN/inf ends ``Status.FAILED`` with the reason; the campaign goes on.

Executors never see planners or MLflow: the rung keeper is a plain object with
``report(trial_id, epoch, value) -> bool``.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from perturbo.kinds.hyperparameter.rung_link import LinkedRungs, link_rungs
from perturbo.kinds.hyperparameter.tasks import Task, make_task
from perturbo.kinds.hyperparameter.user_call import ObjectiveReturnError
from perturbo.objective import FIDELITY_SHARE, at_top_fidelity, missing_metric
from perturbo.space import SearchSpace
from perturbo.types import (
    ExperimentSpec,
    Observation,
    Outcome,
    Status,
    describe_error,
    failed,
)


class Rungs(Protocol):
    def report(self, trial_id: str, epoch: int, value: float) -> bool: ...


@dataclass(frozen=True)
class TaskRecipe:
    """A picklable recipe for a task (what each Ray actor rebuilds once)."""

    task: str
    seed: int = 0
    space: Mapping[str, Any] | None = None  # SearchSpace.to_dict(), for user objectives
    allow_user_code: bool = False
    objective: str = "value"
    direction: str = "max"
    max_epochs: int | None = None
    objectives: tuple[str, ...] = ()
    """Every metric a trial must return (a multi-objective campaign's; empty: ``objective``)."""
    desirability: str | None = None
    """A desirability spec (:mod:`perturbo.desirability`): each trial also records its
    ``d_<name>`` and overall ``desirability``."""
    fidelity: tuple[str, float] | None = None
    """An ``mf-bo`` campaign's fidelity param and its top value: each trial also records
    ``fidelity_share`` (its value over the top), so a best is chosen among full trainings."""

    def build(self) -> Task:
        space = SearchSpace.from_dict(self.space) if self.space else None
        return make_task(
            self.task,
            seed=self.seed,
            space=space,
            allow_user_code=self.allow_user_code,
            objective=self.objective,
            direction=self.direction,
            max_epochs=self.max_epochs,
        )


class HyperparameterExecutor:
    """Trains/evaluates one config per :meth:`run`. The task (and its data) is built once."""

    def __init__(
        self,
        recipe: TaskRecipe | Task,
        rungs: Rungs | None = None,
        objectives: tuple[str, ...] = (),
        desirability: str | None = None,
        fidelity: tuple[str, float] | None = None,
    ) -> None:
        from perturbo.desirability import parse_desirability

        self.task: Task = recipe.build() if isinstance(recipe, TaskRecipe) else recipe
        self.rungs = rungs
        if not objectives and isinstance(recipe, TaskRecipe):
            objectives = recipe.objectives
        if desirability is None and isinstance(recipe, TaskRecipe):
            desirability = recipe.desirability
        self.desirability = parse_desirability(desirability) if desirability else None
        if fidelity is None and isinstance(recipe, TaskRecipe):
            fidelity = recipe.fidelity
        self.fidelity = fidelity
        # the task's objective first, then any other objective of a multi-objective campaign
        self.objectives = tuple(dict.fromkeys((self.task.objective, *objectives)))
        self.device = "cpu"
        try:  # torch's threads are the process's, set by its entry point (one per worker)
            import torch

            self.device = "cuda" if torch.cuda.is_available() else "cpu"
        except ImportError:  # pragma: no cover - torch is a dependency
            pass
        if hasattr(self.task, "device"):
            self.task.device = self.device  # type: ignore[attr-defined]

    def run(self, spec: ExperimentSpec) -> Outcome:
        t0 = time.perf_counter()
        intermediate: list[float] = []
        pruned = False
        top = int(getattr(self.task, "max_epochs", 0) or 0) if self.rungs is not None else 0

        def report(epoch: int, value: float) -> bool:
            nonlocal pruned
            intermediate.append(float(value))
            if self.rungs is not None and not self.rungs.report(spec.id, epoch, float(value)):
                pruned = True
                return False
            # a full trial is --max-epochs long under ASHA: its rungs and savings assume so
            return not (top and epoch >= top)

        def ended(reason: str, kept: Mapping[str, Any] | None = None) -> Outcome:
            out = failed(reason, time.perf_counter() - t0)
            return replace(out, metrics=_finite(kept), intermediate=tuple(intermediate))

        try:
            metrics = self.task.evaluate(dict(spec.params), report)
        except ObjectiveReturnError as e:  # what came back, not where perturbo noticed it
            return ended(str(e))
        except Exception as e:  # noqa: BLE001 - the objective's failure is the trial's outcome
            return ended(f"objective raised {describe_error(e)}")
        except SystemExit as e:  # sys.exit() in the objective ends its trial, not the campaign
            return ended(f"objective called sys.exit({e.code!r}) (at {_where(e)})")
        dt = time.perf_counter() - t0
        for obj in self.objectives:  # a rejected result keeps the metrics it did return
            v = metrics.get(obj) if isinstance(metrics, Mapping) else None
            if v is None:
                return ended(missing_metric(obj, metrics), metrics)
            try:
                v = float(v)
            except (TypeError, ValueError):
                return ended(f"objective {obj!r} is not a number: {v!r}", metrics)
            if not math.isfinite(v):
                return ended(f"objective {obj!r} is {v} (diverged or invalid)", metrics)
        finite = _finite(metrics)
        if self.desirability is not None:  # beside the raw objectives, never instead of them
            finite.update(self.desirability.values(finite))
        fid = self.fidelity
        if fid is not None and isinstance(spec.params.get(fid[0]), int | float):
            finite[FIDELITY_SHARE] = float(spec.params[fid[0]]) / fid[1]
        status = Status.PRUNED if pruned else Status.COMPLETED
        return Outcome(status, finite, tuple(intermediate), duration_s=dt)


def _finite(metrics: Any) -> dict[str, float]:
    """The finite numeric metrics of what an objective returned (nothing from a non-mapping)."""
    if not isinstance(metrics, Mapping):
        return {}
    return {
        str(k): float(x)
        for k, x in metrics.items()
        if isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
    }


def _where(exc: BaseException) -> str:
    """``file:line in func`` of the frame that raised ``exc``, for a one-line reason."""
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "an unknown place"
    f = frames[-1]
    return f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} in {f.name}"


@dataclass(frozen=True)
class TrialFactory:
    """Picklable zero-argument factory for :class:`HyperparameterExecutor` (one per actor)."""

    recipe: TaskRecipe
    rungs: Rungs | None = None

    def __call__(self) -> HyperparameterExecutor:
        return HyperparameterExecutor(self.recipe, self.rungs)

    @property
    def runs_user_code(self) -> bool:
        """A ``module:function`` objective: ``--local`` runs it in a child process, so a crash
        of it is a FAILED trial, not a dead driver (:func:`perturbo.actors.open_pool`). With
        ASHA too: pickled for a child, the rungs go as a link to the driver's (below)."""
        return ":" in self.recipe.task

    def __getstate__(self) -> dict[str, Any]:
        """Pickled where no Ray runs (the ``--local`` child-process pool pickles it for its
        children), the rungs travel as a link to this driver's keeper
        (:mod:`~perturbo.kinds.hyperparameter.rung_link`): every child then reports to the
        rungs the driver seeded on resume, not to rungs of its own. On Ray they stay a
        handle on the campaign's rung actor."""
        state = dict(self.__dict__)
        ray = sys.modules.get("ray")
        on_ray = ray is not None and ray.is_initialized()
        if self.rungs is not None and not on_ray and not isinstance(self.rungs, LinkedRungs):
            state["rungs"] = link_rungs(self.rungs)
        return state

    def resume(self, history: Sequence[Observation]) -> None:
        """Rebuild ASHA's rungs from the recorded per-epoch values (called on resume)."""
        if self.rungs is not None and hasattr(self.rungs, "seed"):
            self.rungs.seed(history)


@dataclass
class HyperparameterMetrics:
    """Round metrics: best objective so far, trial counts, and ASHA's savings
    (:func:`epoch_savings`). With several ``objectives`` (a Pareto campaign) no trial is
    best, so there is no ``best_<objective>``: the front's size and, per objective, the
    front's best value (``front_best_<name>``) and the round's (``round_best_<name>``)."""

    objective: str
    direction: str = "max"
    max_epochs: int = 0
    objectives: tuple[str, ...] = ()
    directions: tuple[str, ...] = ()
    _sign: float = field(init=False, default=1.0)

    def __post_init__(self) -> None:
        self._sign = 1.0 if self.direction == "max" else -1.0

    @property
    def pareto(self) -> bool:
        return len(self.objectives) > 1 and len(self.directions) == len(self.objectives)

    def __call__(
        self, round_obs: Sequence[Observation], history: Sequence[Observation]
    ) -> dict[str, float]:
        done = [o for o in history if o.outcome.status is Status.COMPLETED]
        out: dict[str, float] = {}
        if self.pareto:  # first: the progress display shows the leading keys
            out.update(self._front(at_top_fidelity(done)))
        else:
            vals = [o.outcome.value(self.objective) for o in at_top_fidelity(done)]
            vals = [v for v in vals if math.isfinite(v)]
            if vals:
                out[f"best_{self.objective}"] = self._sign * max(self._sign * v for v in vals)
        out.update(
            {
                "n_completed": float(len(done)),
                "n_failed": float(sum(o.outcome.status is Status.FAILED for o in history)),
                "n_pruned": float(sum(o.outcome.status is Status.PRUNED for o in history)),
            }
        )
        in_round = [o for o in round_obs if o.outcome.status is Status.COMPLETED]
        named = (
            zip(self.objectives, self.directions, strict=True)
            if self.pareto
            else [(self.objective, self.direction)]
        )
        for name, way in named:
            rv = _best([o.outcome.value(name) for o in in_round], way)
            if rv is not None:
                out[f"round_best_{name}"] = rv
        if self.max_epochs:
            out.update(epoch_savings(history, self.max_epochs))
        return out

    def _front(self, done: Sequence[Observation]) -> dict[str, float]:
        """``front_size`` and each objective's best on the Pareto front of ``done``."""
        from perturbo.objective import pareto_set  # numpy: lazily

        front = pareto_set(done, self.objectives, self.directions)
        out = {"front_size": float(len(front))}
        for name, way in zip(self.objectives, self.directions, strict=True):
            best = _best([o.outcome.value(name) for o in front], way)
            if best is not None:
                out[f"front_best_{name}"] = best
        return out


def _best(values: Sequence[float], direction: str) -> float | None:
    """The best finite one of ``values`` (``direction``: "max" or "min"); None if none is."""
    vals = [v for v in values if math.isfinite(v)]
    if not vals:
        return None
    return max(vals) if direction == "max" else min(vals)


def epoch_savings(history: Sequence[Observation], max_epochs: int) -> dict[str, float]:
    """Epochs the trials reported against what they would have trained unstopped: only what
    was reported counts (a function that reports no epoch claims nothing), and only a trial
    ASHA stopped (PRUNED) saved anything, ``max_epochs`` less what it ran; a completed or
    failed trial's full training is what it ran. So ``epochs_saved_frac`` is never negative
    and never claims epochs nobody reported."""
    spent = full = 0
    for o in history:
        ran = len(o.outcome.intermediate)
        if not ran or o.outcome.status is Status.REJECTED:
            continue
        spent += ran
        full += max(ran, max_epochs) if o.outcome.status is Status.PRUNED else ran
    return {
        "epochs_spent": float(spent),
        "epochs_full": float(full),
        "epochs_saved_frac": 0.0 if not full else 1.0 - spent / full,
    }


__all__ = [
    "HyperparameterExecutor",
    "HyperparameterMetrics",
    "Rungs",
    "TaskRecipe",
    "TrialFactory",
    "epoch_savings",
]
