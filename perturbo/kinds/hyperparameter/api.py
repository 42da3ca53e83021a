"""The hyperparameter kind's Python API: ``Campaign(...).run()`` — sugar over the same parts
``perturbo run hyperparameter`` builds.

    from perturbo import Campaign
    from perturbo.space import Float, Int, SearchSpace

    def train(params, report):              # report(epoch, value) -> False: stop (ASHA)
        ...
        return {"accuracy": acc}

    best = Campaign(train, space=SearchSpace([Float("lr", 1e-4, 1e-1, log=True), Int("width", 8, 256)]),
                    objective="accuracy", direction="max", trials=40, batch=4, planner="bo").run().best

A built-in task is named by string (``Campaign("digits-cnn", asha=True)``). Trials run
in-process by default (``workers=1``), on a thread pool with ``workers>1``, or on Ray actors
with ``ray=True`` (a local Ray on 127.0.0.1, or ``address``). With ``tracking_uri`` the campaign
is recorded in MLflow (a parent run, one nested run per trial) and ``perturbo resume``/
``perturbo show`` work on it — for a named task or ``module:function``; a Python callable
cannot be rebuilt on resume, so its config records its import path.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from perturbo.history import History
from perturbo.space import SearchSpace
from perturbo.types import Observation, PerturboError, Status


@dataclass(frozen=True)
class Result:
    """What :meth:`Campaign.run` returns: the history and the best trial (of the first
    objective), and, for several objectives, the :attr:`pareto` front."""

    history: History
    objective: str
    direction: str
    objectives: tuple[str, ...] = ()
    directions: tuple[str, ...] = ()

    @property
    def pareto(self) -> list[Observation]:
        """Completed trials no other completed trial beats on every objective."""
        from perturbo.objective import pareto_set

        return pareto_set(
            self.history,
            self.objectives or (self.objective,),
            self.directions or (self.direction,),
        )

    @property
    def completed(self) -> list[Observation]:
        return [
            o
            for o in self.history
            if o.outcome.status is Status.COMPLETED and self.objective in o.outcome.metrics
        ]

    @property
    def best(self) -> Observation | None:
        done = self.completed
        if not done:
            return None
        sign = 1.0 if self.direction == "max" else -1.0
        return max(done, key=lambda o: sign * o.outcome.metrics[self.objective])

    @property
    def best_params(self) -> dict[str, Any]:
        b = self.best
        if b is None:
            raise PerturboError(
                "no trial completed, so there is no best config; look at the failed trials' errors"
            )
        return dict(b.spec.params)

    @property
    def best_value(self) -> float:
        b = self.best
        return float("nan") if b is None else float(b.outcome.metrics[self.objective])


class Campaign:
    """One hyperparameter campaign (see the module docstring).

    ``task``: a built-in task name, ``"module:function"``, or a callable
    ``f(params) -> float | {metric: float}`` (optionally ``f(params, report)``).
    ``objective``/``direction``: one metric, or several (a list, or comma-separated) for a
    multi-objective campaign; :attr:`Result.pareto` is then its Pareto front.
    """

    def __init__(
        self,
        task: str | Callable[..., Any] = "digits-cnn",
        *,
        space: SearchSpace | Mapping[str, Any] | str | None = None,
        planner: str = "bo",
        trials: int = 50,
        batch: int = 4,
        seed: int = 0,
        objective: str | Sequence[str] | None = None,
        direction: str | Sequence[str] | None = None,
        asha: bool = False,
        max_epochs: int | None = None,
        eta: float = 3.0,
        workers: int = 1,
        ray: bool = False,
        address: str | None = None,
        tracking_uri: str | None = None,
        name: str | None = None,
        allow_user_code: bool = False,
    ) -> None:
        self.fn = task if callable(task) else None
        if self.fn is not None and space is None:
            raise PerturboError(
                "a callable objective needs a search space: Campaign(fn, space=SearchSpace([...]))"
            )
        table: Any = (
            space.to_dict()
            if isinstance(space, SearchSpace)
            else (dict(space) if isinstance(space, Mapping) else space)
        )
        task_name = (
            f"{getattr(task, '__module__', 'main')}:{getattr(task, '__qualname__', 'objective')}"
            if self.fn is not None
            else str(task)
        )
        self.config: dict[str, Any] = {
            "task": task_name,
            "planner": planner,
            "trials": trials,
            "batch": batch,
            "seed": seed,
            "space": table,
            "asha": asha,
            "eta": eta,
            "max_epochs": max_epochs,
            "objective": _plain(objective),
            "direction": _plain(direction),
            "allow_user_code": allow_user_code or self.fn is not None,
        }
        self.workers, self.ray, self.address = workers, ray, address
        self.tracking_uri, self.name = tracking_uri, name

    def parts(self) -> Any:
        """The :class:`~perturbo.parts.CampaignParts` (built fresh on every call)."""
        from perturbo.kinds.hyperparameter.compose import build

        if self.fn is None:
            return build(self.config)
        from perturbo.kinds.hyperparameter.tasks import register_function

        register_function(self.config["task"], self.fn)
        parts = build(self.config)
        f = parts.executor_factory
        parts.executor_factory = _CallableFactory(self.fn, f.recipe, f.rungs)
        return parts

    def run(self, progress: bool = False) -> Result:
        from perturbo.actors import open_pool

        parts = self.parts()
        opened = open_pool(
            parts.executor_factory,
            local=not (self.ray or self.address),
            address=self.address,
            workers=self.workers if (self.workers > 1 or not self.ray) else None,
        )
        try:
            recorder = None
            if self.tracking_uri:
                from perturbo import tracking

                name = self.name or f"hyperparameter-{uuid.uuid4().hex[:8]}"
                from perturbo.kinds.hyperparameter.spec import KIND

                recorder = tracking.MlflowRecorder.from_parts(
                    parts,
                    self.tracking_uri,
                    name,
                    nesting=KIND.nesting,
                    plotters=tuple(KIND.plotters),
                    headline=tuple(KIND.headline),
                    subject=KIND.subject,
                )
                recorder.start({"pool": opened.where, "workers": self.workers})
            from contextlib import nullcontext

            from perturbo.history import History
            from perturbo.progress import RoundProgress

            display: Any = (  # entered, or it printed nothing; counts trials against the budget
                RoundProgress.for_stop(parts.stop, History(), title=self.name or "campaign")
                if progress
                else nullcontext()
            )
            with display as on_round:
                hist = parts.run(opened.pool, recorder=recorder, on_round=on_round, poll_s=0.05)
        finally:
            opened.close()
        return Result(hist, parts.objective, parts.direction, parts.objectives, parts.directions)


def _plain(names: str | Sequence[str] | None) -> str | list[str] | None:
    """One name, or several as a JSON list (the config is logged to MLflow)."""
    return names if names is None or isinstance(names, str) else list(names)


@dataclass(frozen=True)
class _CallableFactory:
    fn: Callable[..., Any]
    recipe: Any
    rungs: Any

    def resume(self, history: Any) -> None:
        if self.rungs is not None and hasattr(self.rungs, "seed"):
            self.rungs.seed(history)

    def __call__(self) -> Any:
        from perturbo.kinds.hyperparameter import HyperparameterExecutor
        from perturbo.kinds.hyperparameter.tasks import UserTask

        space = SearchSpace.from_dict(self.recipe.space)
        task = UserTask(
            self.recipe.task,
            space,
            self.recipe.objective,
            self.recipe.direction,
            self.recipe.max_epochs or 0,
            _fn=self.fn,
        )
        return HyperparameterExecutor(task, self.rungs, self.recipe.objectives)


__all__ = ["Campaign", "Result"]
