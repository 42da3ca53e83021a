"""Importing a user's code (``module:function``) the way a user expects, for every kind: from
``sys.path`` and then, as ``python -m`` and uvicorn do, from the working folder. A module that
is found but fails to import (a missing dependency, an error in it) is one line saying why.

``what`` in each function names the user's input in the messages, e.g. ``"user objective
'mymod:train'"`` or ``"--model 'mymodel:factory'"``.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

from perturbo.types import PerturboError, describe_error

__all__ = ["import_user_function", "import_user_module", "shadowed_hint"]


def import_user_module(mod_name: str, what: str, function: str = "") -> Any:
    """Module ``mod_name``, imported from ``sys.path`` and then from the working folder
    (added to ``sys.path``, so the processes that run trials -- a ``--local`` child takes the
    driver's ``sys.path``, a Ray worker gets the driver's working folder on its path from
    Ray -- import it as well). ``function``: the attribute wanted, for the fix of a module
    named by its file (``mymlp.py:train``, not ``mymlp:train``)."""
    import os
    import sys

    cwd = os.getcwd()
    try:
        return _import(mod_name, what)
    except _NotFound as e:
        if cwd in sys.path or "" in sys.path:  # the working folder was searched already
            raise PerturboError(_not_found(mod_name, what, e.error, cwd, function)) from None
    sys.path.append(cwd)
    importlib.invalidate_caches()
    try:
        return _import(mod_name, what)
    except _NotFound as e:
        sys.path.remove(cwd)
        raise PerturboError(_not_found(mod_name, what, e.error, cwd, function)) from None


def import_user_function(spec: str, what: str) -> Any:
    """The attribute ``function`` of ``module`` in ``spec`` = ``"module:function"``."""
    mod_name, _, attr = spec.partition(":")
    if not mod_name or not attr:
        raise PerturboError(f"{what}: write it as module:function, e.g. mymod:factory")
    mod = import_user_module(mod_name, what, attr)
    try:
        return getattr(mod, attr)
    except AttributeError:
        raise PerturboError(
            f"{what}: module {mod_name!r} ({getattr(mod, '__file__', '?')}) has no {attr!r}; "
            f"define it there{shadowed_hint(mod, mod_name)}"
        ) from None


def shadowed_hint(mod: Any, mod_name: str) -> str:
    """A hint where ``mod_name`` was imported from elsewhere while the working folder holds a
    file of that name (an installed module of the same name comes first on ``sys.path``)."""
    from pathlib import Path

    here = Path.cwd() / f"{mod_name.replace('.', '/')}.py"
    found = getattr(mod, "__file__", None)
    if not here.is_file() or (found and Path(found).resolve() == here.resolve()):
        return ""
    return f", or rename {here.name}: an installed module {mod_name!r} comes first"


class _NotFound(Exception):
    def __init__(self, error: ImportError) -> None:
        self.error = error


def _import(mod_name: str, what: str) -> Any:
    """The module, or :class:`_NotFound` where it (or a package above it) is not on
    ``sys.path``; a module that is found but fails to import is a :class:`PerturboError`
    saying why (a dependency it imports, an error in it)."""
    try:
        return importlib.import_module(mod_name)
    except ModuleNotFoundError as e:
        missing = e.name or ""
        if missing and (mod_name == missing or mod_name.startswith(missing + ".")):
            raise _NotFound(e) from None
        raise PerturboError(
            f"module {mod_name!r} of {what} imports {missing!r}, which is not installed "
            f"({e}): install it, or fix that import"
        ) from None
    except Exception as e:  # noqa: BLE001 - the user's module: a syntax error, a raise in it
        raise PerturboError(
            f"importing module {mod_name!r} of {what} raised {describe_error(e)}: fix the module"
        ) from None


def _not_found(mod_name: str, what: str, e: ImportError, cwd: str, function: str) -> str:
    if mod_name.endswith(".py"):  # a file name: `import mymlp.py` looks for mymlp/py.py
        folder, _, stem = mod_name[: -len(".py")].rpartition("/")
        if not function:  # a caller that names only the module: its spec is in ``what``
            named = re.search(re.escape(mod_name) + r":(\w+)", what)
            function = named.group(1) if named else "FUNCTION"
        where = f"; run from {folder} or put it on PYTHONPATH" if folder else ""
        return (
            f"cannot import module {mod_name!r} of {what}: that is a file name; name its "
            f"module, without .py: {stem}:{function}{where}"
        )
    return (
        f"cannot import module {mod_name!r} of {what} ({e}; looked on PYTHONPATH and in the "
        f"working folder {cwd}): run from the folder that holds "
        f"{mod_name.replace('.', '/')}.py, put it on PYTHONPATH, or install it"
    )
