"""A Python callable as a hyperparameter campaign's objective (``perturbo.Campaign(fn, ...)``).

The Python API registers the callable under its import path
(:func:`~perturbo.kinds.hyperparameter.tasks.register_function`); the kind's ``build`` then
hands the pool a factory that carries the callable itself (pickled to Ray actors with it), so
the parts are complete when ``build`` returns and a resume in the same process runs the same
function. Without a registered callable the task is a plain ``module:function`` import.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from perturbo.kinds.hyperparameter.executor import TaskRecipe, TrialFactory
from perturbo.types import Observation


@dataclass(frozen=True)
class CallableFactory:
    """Picklable factory of executors that run ``fn`` (the recipe's space, objectives and
    epochs; ``rungs``: ASHA's, or None). It runs in this process with ``local``: the callable
    is the user's own, given directly, not code imported by name."""

    fn: Callable[..., Any]
    recipe: TaskRecipe
    rungs: Any

    def resume(self, history: Sequence[Observation]) -> None:
        if self.rungs is not None and hasattr(self.rungs, "seed"):
            self.rungs.seed(history)

    def __call__(self) -> Any:
        from perturbo.kinds.hyperparameter.executor import HyperparameterExecutor
        from perturbo.kinds.hyperparameter.tasks import UserTask
        from perturbo.space import SearchSpace

        space = SearchSpace.from_dict(self.recipe.space or {})
        task = UserTask(
            self.recipe.task,
            space,
            self.recipe.objective,
            self.recipe.direction,
            self.recipe.max_epochs or 0,
            _fn=self.fn,
        )
        return HyperparameterExecutor(
            task,
            self.rungs,
            self.recipe.objectives,
            self.recipe.desirability,
            self.recipe.fidelity,
        )


def trial_factory(recipe: TaskRecipe, rungs: Any) -> TrialFactory | CallableFactory:
    """The executor factory of a campaign: the registered callable's, else the task's."""
    from perturbo.kinds.hyperparameter.tasks import registered_function

    fn = registered_function(recipe.task)
    return TrialFactory(recipe, rungs) if fn is None else CallableFactory(fn, recipe, rungs)


__all__ = ["CallableFactory", "trial_factory"]
