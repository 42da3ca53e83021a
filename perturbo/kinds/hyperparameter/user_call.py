"""How a user's objective function takes a trial's parameters: one dict, or by name.

Perturbo's convention is one dict, ``train(params)`` (or ``train(params, report)``), as Ray
Tune's ``train(config)`` and Hyperopt's objectives take one. Many people write
``train(lr, width)`` instead, as for a plain function or Ax's and scikit-learn's keyword
style. Called with one dict, such a function gets the whole dict in its first argument and
its defaults for the rest: it runs, returns numbers, and every trial measures the same
config (seen: 24 trials, one value). So the style is read from the signature, once, on the
driver before any trial runs:

- ``"kwargs"``: the first argument is named after a parameter of the space (a dict could
  only land there by mistake). The function is called ``fn(**params)``. Every parameter of
  the space needs an argument (or ``**kwargs``), a conditional one a default (it is left out
  when its condition does not hold), and every other argument but ``report`` a default;
  otherwise :class:`PerturboError` names what is missing and both ways to write it.
- ``"dict"``: anything else, as before.

And what it returns (:func:`metrics_of`): a number, or a mapping of metric names to numbers;
anything else (a forgotten ``return``: None) fails the trial with what came back.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from perturbo.space import SearchSpace
from perturbo.types import PerturboError

__all__ = ["ObjectiveReturnError", "call_style", "metrics_of"]

_NAMED = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def call_style(fn: Callable[..., Any], space: SearchSpace, label: str = "") -> str:
    """``"kwargs"`` or ``"dict"`` for ``fn`` on ``space`` (module docstring); raises
    :class:`PerturboError` for a by-name function that cannot take every trial."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # a builtin or C callable: no signature to read
        return "dict"
    args = [p for p in sig.parameters.values() if p.kind in _NAMED and p.name != "report"]
    names = set(space.names)
    if not args or args[0].name not in names:
        return "dict"
    label = label or getattr(fn, "__name__", "the objective")
    shown = f"{label}({', '.join(p.name for p in args)})"
    first = space.names[0]
    fix = f"or take the whole dict: def {label}(params): {first} = params[{first!r}] ..."
    by_name = {p.name: p for p in args}
    any_kw = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in sig.parameters.values())
    missing = [n for n in space.names if n not in by_name and not any_kw]
    if missing:
        raise PerturboError(
            f"{shown} takes the search space's parameters by name, but has no argument for "
            f"{', '.join(map(repr, missing))}: add {'them' if len(missing) > 1 else 'it'} "
            f"(or **kwargs), {fix}"
        )
    empty = inspect.Parameter.empty
    extra = [p.name for p in args if p.name not in names and p.default is empty]
    if extra:
        several = len(extra) > 1
        what = _listed(
            extra,
            "is not a parameter of the space and has no default",
            "are not parameters of the space and have no defaults",
        )
        raise PerturboError(
            f"{shown} takes the search space's parameters by name, but {what}: give "
            f"{'each one' if several else 'it one'}, add {'them' if several else 'it'} to the "
            f"space, {fix}"
        )
    cond = [
        p.name
        for p in space.params
        if p.when and p.name in by_name and by_name[p.name].default is empty
    ]
    if cond:
        raise PerturboError(
            f"{shown}: {_listed(cond, 'is', 'are')} conditional (left out of a trial when "
            f"{'their conditions do' if len(cond) > 1 else 'its condition does'} not hold) and "
            f"{'need defaults' if len(cond) > 1 else 'needs a default'}, e.g. {cond[0]}=None, "
            f"{fix}"
        )
    return "kwargs"


def _listed(names: list[str], one: str, several: str) -> str:
    """``'a' is`` / ``'a', 'b' are``: the names quoted, with the verb that agrees."""
    return f"{', '.join(map(repr, names))} {one if len(names) == 1 else several}"


class ObjectiveReturnError(PerturboError):
    """A user's objective returned what is not a number or a mapping of metric names to
    numbers: the trial fails with this message (what came back, and what to return)."""


def _number(value: Any) -> float | None:
    """``value`` as a float (an int, a float, a numpy or torch scalar), or None: text, None, a
    sequence or a larger array is no number (``float("0.9")`` would pass a string)."""
    if value is None or isinstance(value, (str, bytes)):
        return None
    try:
        return float(value)
    except Exception:  # noqa: BLE001 - a user's type: its __float__ may raise anything
        return None


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def metrics_of(out: Any, objective: str) -> dict[str, float]:
    """What a user's objective returned, as metrics: a number is ``{objective: number}``, a
    mapping's values each a number; anything else is an :class:`ObjectiveReturnError` naming
    what came back (a function that forgot its ``return`` gives None)."""
    fix = "return a number or a dict of metrics"
    if out is None:
        raise ObjectiveReturnError(f"objective returned None; {fix}")
    if isinstance(out, Mapping):
        metrics: dict[str, float] = {}
        for k, v in out.items():
            x = _number(v)
            if x is None:
                raise ObjectiveReturnError(
                    f"objective returned metric {str(k)!r} as {type(v).__name__} "
                    f"({_shown(v)}), not a number; {fix} whose values are numbers"
                )
            metrics[str(k)] = x
        return metrics
    x = _number(out)
    if x is None:
        raise ObjectiveReturnError(
            f"objective returned a {type(out).__name__} ({_shown(out)}), not a number; {fix}"
        )
    return {objective: x}
