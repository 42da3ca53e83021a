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
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from perturbo.space import SearchSpace
from perturbo.types import PerturboError

__all__ = ["call_style"]

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
        raise PerturboError(
            f"{shown} takes the search space's parameters by name, but "
            f"{', '.join(map(repr, extra))} is not a parameter of the space and has no "
            f"default: give it one, add it to the space, {fix}"
        )
    cond = [
        p.name
        for p in space.params
        if p.when and p.name in by_name and by_name[p.name].default is empty
    ]
    if cond:
        raise PerturboError(
            f"{shown}: {', '.join(map(repr, cond))} is conditional (left out of a trial when "
            f"its condition does not hold) and needs a default, e.g. {cond[0]}=None, {fix}"
        )
    return "kwargs"
