"""Command-line flags generated from a settings model: each setting is written once.

A kind's settings model (pydantic) is the one place a setting's type, default and help
live; :func:`add_flags` turns its fields into ``argparse`` flags, so a field added to the model
is on the command line with no second declaration. Where a flag needs more than the field
says (its metavar, examples after the description, the group it is listed under, the help of
a ``--no-x`` switch, or a spelling that is not ``--field-name``), a :class:`Flag` rides in the
field's ``Annotated`` metadata, beside the ``Field``::

    acquisition: Annotated[Literal["greedy", "ucb"], Flag(more=": greedy takes the top")] = Field(
        "greedy", description="bo: how the next batch is picked"
    )

What the generator derives from the type:

- ``Literal`` / ``Enum``: the choices, shown as ``a|b|c``; the model validates them, so a bad
  value is one ``perturbo: error:`` line naming the flag and the choices (as from a TOML file);
- ``bool``: a switch that sets the non-default value: ``--x`` where the default is False,
  ``--no-x`` where it is True;
- ``int`` / ``float`` (alone or ``| None``): ``type=`` so argparse refuses ``--rounds many``;
- anything else (``str``, ``list[...]`` written comma-separated, unions with ``str``): the text
  as given, for the model's validators.

Defaults are ``argparse.SUPPRESS`` (a ``--config`` TOML file may set what no flag gave); the
help says ``(default: X)`` from the field. Light on purpose (argparse and typing only):
``perturbo --help`` builds every kind's flags.
"""

from __future__ import annotations

import argparse
import enum
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Union

if typing.TYPE_CHECKING:
    from pydantic import BaseModel
    from pydantic.fields import FieldInfo

__all__ = ["SKIP", "Flag", "add_flags", "choices", "defaults", "flag_of", "help_text", "option"]

SKIP = frozenset({"kind"})
"""Fields that are no setting: ``kind`` is the registry key every kind's model carries."""


@dataclass(frozen=True)
class Flag:
    """How a settings field appears on the command line, beyond its ``Field``.

    ``name``: the flag where it is not ``--field-name`` (kept, for scripts that use it).
    ``metavar``: what the value looks like (default: ``a|b|c`` for choices, else argparse's).
    ``more``: help text right after the field's description (examples, the choices spelled out).
    ``off``: the help of a ``--no-x`` switch (a bool whose default is True); without it, the
    description and "(default: on)".
    ``group``: the key of the help group the flag is listed under (:func:`add_flags` maps keys
    to titles); ``""`` is the model's main group.
    ``default``: what the help says the default is, where the field's own default (``None``)
    stands for something decided later (``"$RAY_ADDRESS, else a local Ray"``).
    ``path``: the value names a file, so a ``--config`` file's relative value is read from
    that file's folder (:func:`perturbo.config.config_paths`): ``"file"`` always,
    ``"file_or_name"`` where a file of that name is there (else it is a built-in's name or a
    text), ``"uri"`` for a tracking URI (its ``sqlite:///rel.db``).
    """

    name: str | None = None
    metavar: str | None = None
    more: str = ""
    off: str | None = None
    group: str = ""
    default: str | None = None
    path: Literal["", "file", "file_or_name", "uri"] = ""


_PLAIN = Flag()


def flag_of(info: FieldInfo) -> Flag:
    """The :class:`Flag` in a field's metadata, or the plain one."""
    return next((m for m in info.metadata if isinstance(m, Flag)), _PLAIN)


def _members(annotation: Any) -> tuple[Any, ...]:
    """The non-None members of ``X | Y | None`` (``(X,)`` for a plain type)."""
    if typing.get_origin(annotation) in (Union, types.UnionType):
        return tuple(a for a in typing.get_args(annotation) if a is not type(None))
    return (annotation,)


def choices(annotation: Any) -> tuple[Any, ...] | None:
    """The values a ``Literal[...]`` or ``Enum`` (optionally ``| None``) allows, else None."""
    members = _members(annotation)
    if len(members) != 1:
        return None
    (t,) = members
    if typing.get_origin(t) is Literal:
        return typing.get_args(t)
    if isinstance(t, type) and issubclass(t, enum.Enum):
        return tuple(m.value for m in t)
    return None


def _is_bool(info: FieldInfo) -> bool:
    return _members(info.annotation) == (bool,)


def _value_type(annotation: Any) -> type | None:
    """``int`` or ``float`` where every non-None member is a number, else None (text)."""
    members = _members(annotation)
    if all(m is int for m in members):
        return int
    if all(m in (int, float) for m in members):
        return float
    return None


def _shown(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def option(name: str, info: FieldInfo) -> str:
    """The flag of field ``name``: its :class:`Flag` name, else ``--field-name`` (``--no-``
    before it for a bool whose default is True)."""
    flag = flag_of(info)
    if flag.name:
        return flag.name
    dashed = name.replace("_", "-")
    return f"--no-{dashed}" if _is_bool(info) and info.default is True else f"--{dashed}"


def help_text(name: str, info: FieldInfo) -> str:
    """The ``--help`` line of field ``name``: description, :attr:`Flag.more`, the default."""
    flag = flag_of(info)
    if _is_bool(info) and info.default is True:
        return flag.off or f"{info.description}{flag.more} (default: on)"
    shown = flag.default if flag.default is not None else _shown(info.default)
    return f"{info.description}{flag.more} (default: {shown})"


def add_flags(
    parser: argparse.ArgumentParser,
    model: type[BaseModel],
    groups: Mapping[str, str],
    skip: frozenset[str] = SKIP,
) -> dict[str, argparse._ArgumentGroup]:
    """One flag per field of ``model`` (those in ``skip`` aside), listed under the help
    groups ``groups`` maps :attr:`Flag.group` keys to, in that order; field order within a
    group. A field whose group has no title is a ``ValueError`` (a kind's mistake, caught
    by its tests), so no setting is left without a flag. Returns the groups by key, for flags
    that are no field of ``model`` (``--config``) to join them."""
    fields = {n: i for n, i in model.model_fields.items() if n not in skip}
    unknown = {flag_of(i).group for i in fields.values()} - set(groups)
    if unknown:
        raise ValueError(f"{model.__name__}: no help group titled for {sorted(unknown)}")
    made = {}
    for key, title in groups.items():
        g = made[key] = parser.add_argument_group(title)
        for name, info in fields.items():
            if flag_of(info).group == key:
                _add(g, name, info)
    return made


def _add(g: argparse._ArgumentGroup, name: str, info: FieldInfo) -> None:
    flag = flag_of(info)
    kw: dict[str, Any] = {
        "dest": name,
        "default": argparse.SUPPRESS,
        "help": help_text(name, info).replace("%", "%%"),
    }
    if _is_bool(info):
        kw["action"] = "store_false" if info.default is True else "store_true"
    else:
        allowed = choices(info.annotation)
        if flag.metavar or allowed:
            kw["metavar"] = flag.metavar or "|".join(str(c) for c in allowed or ())
        value_type = _value_type(info.annotation) if allowed is None else None
        if value_type is not None:
            kw["type"] = value_type
    g.add_argument(option(name, info), **kw)


def defaults(model: type[BaseModel]) -> Mapping[str, Any]:
    """Every field's default (read-only): for code that reads a plain config dict, so a
    default is written once, in the model."""
    return types.MappingProxyType(
        {n: i.get_default(call_default_factory=True) for n, i in model.model_fields.items()}
    )
