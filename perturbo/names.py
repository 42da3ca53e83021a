"""Campaign names and the paths built from them: one check shared by every entry.

A campaign name becomes an MLflow experiment name, a command-line argument, and part of file
names (chat settings files, logs, downloaded plots). :func:`check_name` refuses a name that
could leave its folder or confuse a terminal or a command line: path separators, ``..``,
control or invisible format characters, a leading ``-`` or ``.``, blank or over-long names.
:func:`inside` builds ``folder / name`` and checks the result stays in ``folder``;
:func:`within` does the same for a user-given path against the folders it may name.
Every refusal is a :class:`~perturbo.types.PerturboError` naming the input and the fix.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Sequence
from pathlib import Path

from perturbo.types import PerturboError

__all__ = ["MAX_NAME_BYTES", "auto_name", "check_name", "inside", "within"]

MAX_NAME_BYTES = 200
"""Longest campaign name (UTF-8 bytes): file systems allow 255 for a file name, and the chat
adds a suffix and a token to it."""

_FIX = "use letters, digits, '-', '_' and '.' (e.g. --name screen-ifng-bo-1)"


def _problem(name: str) -> str | None:
    if not name.strip():
        return "is empty"
    if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        return f"is longer than {MAX_NAME_BYTES} bytes"
    if "/" in name or "\\" in name or (os.altsep and os.altsep in name):
        return "contains a path separator ('/' or '\\')"
    if ".." in name:
        return "contains '..'"
    if name.startswith((".", "-")):
        return f"starts with {name[0]!r}"
    if name != name.strip():
        return "starts or ends with a space"
    for c in name:
        if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp"):
            return f"contains the control character {c!r}"
    return None


def auto_name(prefix: str) -> str:
    """A name for a campaign the user did not name: ``<prefix>-YYYYMMDD-HHMMSS-xxxx``, sortable
    by start time, with 4 random hex digits so that two campaigns started in the same second
    (two people, a script) do not get one name: the second would be refused as taken and told
    to resume the first's."""
    import secrets
    import time

    return f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"


def check_name(name: object, what: str = "campaign name") -> str:
    """``name`` if it is a safe campaign name, else a :class:`PerturboError` saying why."""
    if not isinstance(name, str):
        raise PerturboError(f"{what} {name!r} is not text; {_FIX}")
    why = _problem(name)
    if why:
        raise PerturboError(f"{what} {name!r} {why}: {_FIX}")
    return name


def inside(folder: str | Path, name: str, suffix: str = "") -> Path:
    """``folder / (name + suffix)``, refused unless ``name`` is a safe name and the path,
    symlinks resolved, stays directly inside ``folder``."""
    check_name(name)
    root = Path(folder).resolve()
    path = (root / f"{name}{suffix}").resolve()
    if path.parent != root:
        raise PerturboError(  # a symlink in the folder pointing elsewhere
            f"{name + suffix!r} in {root} is a link out of it: remove the link or use another name"
        )
    return path


def within(value: str | Path, folders: Sequence[str | Path], what: str) -> Path:
    """The absolute path of ``value`` (relative to the first folder) if it lies inside one of
    ``folders`` (symlinks resolved) and is not hidden there (no part starting with '.'), else
    a :class:`PerturboError`. The message is the same whether or not the file exists, and
    never shows what it holds."""
    roots = [Path(f).resolve() for f in folders]
    text = str(value)
    ok = bool(text.strip()) and not text.startswith("~")
    ok = ok and not any(unicodedata.category(c) == "Cc" for c in text)
    path = roots[0]
    if ok:
        raw = Path(text)
        path = (raw if raw.is_absolute() else roots[0] / raw).resolve()
        ok = any(
            (path == r or r in path.parents)
            and not any(part.startswith(".") for part in path.relative_to(r).parts)
            for r in roots
        )
    if not ok:
        where = " or ".join(str(r) for r in roots)
        raise PerturboError(
            f"{what} {text!r}: the chat reads files only inside {where} (no hidden ones); copy "
            "the file there and name it relative to that folder, or launch from the command line"
        )
    return path
