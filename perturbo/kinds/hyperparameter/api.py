"""The hyperparameter kind's Python API: ``Campaign(...).run()`` — sugar over the same parts
``perturbo run hyperparameter`` builds.

    from perturbo import Campaign
    from perturbo.space import Float, Int, SearchSpace

    def train(params, report):              # report(epoch, value) -> False: stop (ASHA)
        ...
        return {"accuracy": acc}

    best = Campaign(train, space=SearchSpace([Float("lr", 1e-4, 1e-1, log=True), Int("width", 8, 256)]),
                    objective="accuracy", direction="max", trials=40, batch=4, planner="bo").run().best

The function may also take the parameters by name, ``def train(lr, width, report=None)``
(read from its signature; one with no argument for a parameter of the space is refused before
any trial runs). A built-in task is named by string (``Campaign("digits-cnn", asha=True)``). Trials run
in-process by default (``workers=1``), on a thread pool with ``workers>1``, or on Ray actors
with ``ray=True`` (a local Ray on 127.0.0.1, or ``address``). It runs through the composition
root (:mod:`perturbo.launch`) as ``perturbo run`` does, in rounds of ``batch``. With
``tracking_uri`` the campaign is recorded in MLflow (a parent run, one nested run per trial),
a failure or Ctrl-C marks it FAILED or KILLED, and :meth:`Campaign.resume` continues it with the
same callable; ``perturbo resume``/``perturbo show`` work on it too (its config records the
callable's import path, which ``perturbo resume`` imports).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from perturbo.history import History
from perturbo.kinds.hyperparameter.settings import DEFAULTS
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
        from perturbo.tracking.summary_text import best_observation

        # the store's rule (mf-bo: among the trials trained in full), as `perturbo show` marks it
        return best_observation(self.completed, self.objective, self.direction)

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
    ``desirability``: instead of a front, one Derringer-Suich desirability term per objective
    (``"val_accuracy:max:0.90..0.98,n_params:min:1e3..5e4"``, a list of terms, or a
    :class:`perturbo.desirability.Desirabilities`; see :mod:`perturbo.desirability`): the
    planner maximises their geometric mean, each trial records ``desirability`` and
    ``d_<name>`` beside the raw metrics, and :attr:`Result.best` is the most desirable trial.
    ``ref_point`` (``planner="bo"``, several objectives): ``{objective: threshold}``, the worst
    value of each still worth having (``--ref-point``; :mod:`perturbo.search.bo_reference`).
    ``asha``, ``eta``, ``min_epochs`` (``--min-epochs``: epochs before ASHA's first rung, below
    ``max_epochs``), ``max_epochs``: ASHA's rungs, checked when the campaign is built, as the
    CLI's flags are (:mod:`perturbo.kinds.hyperparameter.trial_budget`).
    ``mo_acquisition`` (``planner="bo"``, several objectives): ``"nehvi"`` (default) or
    ``"parego"``, quicker with many objectives (``--mo-acquisition``; :mod:`perturbo.search.bo_multi`).

    The settings' defaults are read from the kind's model (``HyperparameterConfig``, as
    ``perturbo run hyperparameter``'s are); only where it runs (``workers``, ``ray``,
    ``address``, ``tracking_uri``, ``name``) is this API's own.
    """

    def __init__(
        self,
        task: str | Callable[..., Any] = DEFAULTS["task"],
        *,
        space: SearchSpace | Mapping[str, Any] | str | None = DEFAULTS["space"],
        planner: str = DEFAULTS["planner"],
        trials: int = DEFAULTS["trials"],
        batch: int = DEFAULTS["batch"],
        seed: int = DEFAULTS["seed"],
        objective: str | Sequence[str] | None = DEFAULTS["objective"],
        direction: str | Sequence[str] | None = DEFAULTS["direction"],
        asha: bool = DEFAULTS["asha"],
        max_epochs: int | None = DEFAULTS["max_epochs"],
        min_epochs: int = DEFAULTS["min_epochs"],
        eta: float = DEFAULTS["eta"],
        fidelity: str | None = DEFAULTS["fidelity"],
        workers: int = 1,
        ray: bool = False,
        address: str | None = None,
        tracking_uri: str | None = None,
        name: str | None = None,
        allow_user_code: bool = DEFAULTS["allow_user_code"],
        desirability: str | Sequence[str] | Any = DEFAULTS["desirability"],
        ref_point: str | Mapping[str, float] | None = None,
        mo_acquisition: str = "nehvi",
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
            "min_epochs": min_epochs,
            "max_epochs": max_epochs,
            "fidelity": fidelity,
            "objective": _plain(objective),
            "direction": _plain(direction),
            "desirability": (
                desirability.spec() if hasattr(desirability, "spec") else _plain(desirability)
            ),
            "allow_user_code": allow_user_code or self.fn is not None,
        }
        if ref_point is not None:  # {objective: worst value worth having}, or "a=0.9,b=5e4"
            self.config["ref_point"] = (
                ",".join(f"{k}={float(v)!r}" for k, v in ref_point.items())
                if isinstance(ref_point, Mapping)
                else str(ref_point)
            )
        if mo_acquisition != "nehvi":
            self.config["mo_acquisition"] = mo_acquisition
        self.workers, self.ray, self.address = workers, ray, address
        self.tracking_uri, self.name = tracking_uri, name

    def parts(self) -> Any:
        """The :class:`~perturbo.parts.CampaignParts` (built fresh on every call)."""
        from perturbo.kinds.hyperparameter.compose import build

        self._register()
        return build(self.config)

    def run(self, progress: bool = False) -> Result:
        """Run the campaign through the composition root (:mod:`perturbo.launch`): the same
        checks as ``perturbo run``; with ``tracking_uri`` a failure or Ctrl-C marks the record
        FAILED or KILLED, and :meth:`resume` (or ``perturbo resume``) continues it."""
        from perturbo.kinds.hyperparameter.spec import KIND
        from perturbo.launch import launched

        self._register()
        name = self.name or f"hyperparameter-{uuid.uuid4().hex[:8]}"
        ran = launched(
            KIND,
            self.config,
            self._options(progress),
            name=name,
            record=self.tracking_uri is not None,
            poll_s=0.05,
        )
        return self._result(ran)

    def resume(self, progress: bool = False, trials: int | None = None) -> Result:
        """Continue the recorded campaign ``name`` (needs ``tracking_uri`` and ``name``) from
        what the store holds, running this campaign's function; ``trials``: a larger total
        budget."""
        from perturbo.kinds.hyperparameter.spec import KIND
        from perturbo.launch import only, resumed

        if not (self.tracking_uri and self.name):
            raise PerturboError(
                "Campaign.resume() continues a recorded campaign: pass tracking_uri= and "
                "name= (the ones it ran with)"
            )
        self._register()
        ran = resumed(
            self.name,
            self._options(progress),
            {"trials": trials},
            spec_of=only(KIND),
            poll_s=0.05,
        )
        return self._result(ran)

    def _register(self) -> None:
        """Make the callable the task of this campaign's build (in this process)."""
        if self.fn is not None:
            from perturbo.kinds.hyperparameter.tasks import register_function

            register_function(self.config["task"], self.fn)

    def _options(self, progress: bool) -> Any:
        from perturbo.config import RunOptions

        return RunOptions(
            name=self.name,
            tracking_uri=self.tracking_uri,
            local=not (self.ray or self.address),
            address=self.address,
            workers=self.workers if (self.workers > 1 or not self.ray) else None,
            progress=progress,
            schedule="sync",  # the Python API runs rounds of ``batch`` (the CLI: the kind's)
        ).check()

    @staticmethod
    def _result(ran: Any) -> Result:
        p = ran.parts
        return Result(ran.history, p.objective, p.direction, p.objectives, p.directions)


def _plain(names: str | Sequence[str] | None) -> str | list[str] | None:
    """One name, or several as a JSON list (the config is logged to MLflow)."""
    return names if names is None or isinstance(names, str) else list(names)


__all__ = ["Campaign", "Result"]
