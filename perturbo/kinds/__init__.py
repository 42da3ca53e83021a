"""The kind registry: name -> :class:`~perturbo.kindspec.KindSpec`.

Built-in kinds are one line each in :data:`BUILTIN` (a ``module:attribute`` path, imported
only when the kind is asked for, so ``perturbo --help`` stays fast). Other packages add a kind
without editing perturbo through the ``perturbo.kinds`` entry-point group, as pytest and
MLflow plugins do::

    [project.entry-points."perturbo.kinds"]
    toy = "my_package.toy:KIND"

:func:`register` adds one at run time (tests, notebooks).
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from perturbo.types import PerturboError

if TYPE_CHECKING:
    from perturbo.kindspec import KindSpec
    from perturbo.search.registry import PlannerTable

GROUP = "perturbo.kinds"

BUILTIN: dict[str, str] = {
    "genetic": "perturbo.kinds.genetic:KIND",
    "hyperparameter": "perturbo.kinds.hyperparameter:KIND",
    "attack": "perturbo.kinds.attack:KIND",
}

_registered: dict[str, KindSpec] = {}
_loaded: dict[str, KindSpec] = {}


def _paths() -> dict[str, str]:
    paths = dict(BUILTIN)
    for ep in entry_points(group=GROUP):
        paths.setdefault(ep.name, ep.value)
    return paths


def register(spec: KindSpec) -> KindSpec:
    """Add (or replace) a kind for this process; returns it."""
    _registered[spec.name] = spec
    _loaded.pop(spec.name, None)
    return spec


def unregister(name: str) -> None:
    _registered.pop(name, None)
    _loaded.pop(name, None)


def names() -> tuple[str, ...]:
    """Every kind this install knows, built-in first (none is imported)."""
    return tuple(dict.fromkeys([*_paths(), *_registered]))


def _import(name: str, path: str) -> KindSpec:
    module, _, attr = path.partition(":")
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name and module.startswith(e.name):
            raise PerturboError(
                f"kind {name!r} is not available in this install (module {module!r} is missing): "
                "reinstall perturbo (`make install`)"
            ) from None
        raise
    spec = getattr(mod, attr or "KIND")
    if spec.name != name:
        raise PerturboError(f"kind {name!r} at {path!r} calls itself {spec.name!r}: fix its name")
    return spec


def get(name: str) -> KindSpec:
    """The kind ``name``, or one clear error listing the kinds there are."""
    if name in _registered:
        return _registered[name]
    if name in _loaded:
        return _loaded[name]
    paths = _paths()
    if name not in paths:
        raise PerturboError(
            f"unknown kind {name!r}: use one of {', '.join(names())} "
            "(or install a package that adds it through the 'perturbo.kinds' entry points)"
        )
    spec = _import(name, paths[name])
    _loaded[name] = spec
    return spec


def planner_table(name: str) -> PlannerTable:
    """The planners kind ``name`` can use: what its spec hands over (``KindSpec.planners``), or
    the general planners."""
    spec = get(name)
    if spec.planners is not None:
        return spec.planners()
    from perturbo.search.registry import GENERAL

    return GENERAL


def exported(attr: str) -> Any:
    """The object a kind adds to the top-level ``perturbo`` package as ``attr``
    (``KindSpec.exports``); ``AttributeError`` if no kind does."""
    for name in names():
        try:
            spec = get(name)
        except PerturboError:
            continue  # a kind absent from a slim install exports nothing
        if attr in spec.exports:
            module, _, obj = spec.exports[attr].partition(":")
            return getattr(importlib.import_module(module), obj or attr)
    raise AttributeError(f"module 'perturbo' has no attribute {attr!r}")


def available(name: str) -> bool:
    """Whether ``name`` imports in this install (a built-in kind may be absent in a slim one)."""
    try:
        get(name)
    except PerturboError:
        return False
    return True


__all__ = [
    "BUILTIN",
    "GROUP",
    "available",
    "exported",
    "get",
    "names",
    "planner_table",
    "register",
    "unregister",
]
