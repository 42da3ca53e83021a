"""The parameter types of a :class:`~perturbo.space.SearchSpace`: ``Float``, ``Int`` and
``Categorical``, each with its validation, uniform sampling and unit-cube encoding, and
optional ``when`` conditions on parent parameters (see :mod:`perturbo.space`)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from perturbo.types import InvalidSpec, PerturboError

_REL_TOL = 1e-9


def _freeze_when(
    name: str, when: Mapping[str, Iterable[Any]] | None
) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    if not when:
        return ()
    out = []
    for parent, values in when.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
            values = [values]
        vals = tuple(values)
        if not vals:
            raise PerturboError(
                f"parameter {name!r}: `when` lists no values for parent {parent!r}; "
                f"give the parent values that activate it, e.g. when={{{parent!r}: [...]}}"
            )
        out.append((str(parent), vals))
    return tuple(out)


@dataclass(frozen=True)
class _Param:
    name: str
    when: tuple[tuple[str, tuple[Any, ...]], ...] = field(default=(), kw_only=True)

    def active(self, params: Mapping[str, Any]) -> bool:
        """True where every parent named in ``when`` takes one of the listed values."""
        return all(params.get(p) in vals for p, vals in self.when)


def _switch(name: str, key: str, v: Any) -> bool:
    """``v`` as a bool, refusing anything but a bool (or 0/1): ``bool("false")`` is True, so a
    quoted TOML ``log = "false"`` would otherwise turn the log scale on."""
    if isinstance(v, bool) or (isinstance(v, int) and v in (0, 1)):
        return bool(v)
    raise PerturboError(
        f"parameter {name!r}: `{key}` must be true or false (TOML booleans, unquoted), got {v!r}"
    )


def _number(name: str, key: str, v: Any) -> float:
    """``v`` as a float, refusing strings and bools (``float("4")`` works, so a quoted TOML
    bound would otherwise pass unnoticed, while its neighbours' quoted values would not)."""
    if isinstance(v, (str, bytes, bool)):
        raise PerturboError(
            f"parameter {name!r}: `{key}` must be a number (unquoted in TOML), got {v!r}"
        )
    try:
        return float(v)
    except (TypeError, ValueError):
        raise PerturboError(f"parameter {name!r}: `{key}` must be a number, got {v!r}") from None


KEY_DIGITS = 10
"""Significant digits at which :meth:`~perturbo.space.SearchSpace.key` tells floats apart
(so a config read back from a record, e.g. one printed with fewer digits, matches its run)."""

_MIN_KEYS = 1000  # distinct keys a float range must hold at least


def key_value(v: Any) -> Any:
    """``v`` as it enters a config's key: floats rounded to :data:`KEY_DIGITS` digits."""
    return float(f"{v:.{KEY_DIGITS}g}") if isinstance(v, float) else v


def _numeric_checks(kind: str, name: str, low: float, high: float, log: bool) -> None:
    if not (math.isfinite(low) and math.isfinite(high)):
        raise PerturboError(
            f"parameter {name!r}: bounds must be finite numbers, got low={low}, high={high}"
        )
    if low > high:
        raise PerturboError(
            f"parameter {name!r}: low={low} > high={high}; swap them so that low <= high"
        )
    if not math.isfinite(high - low):
        raise PerturboError(
            f"parameter {name!r}: the width of [{low:g}, {high:g}] overflows a float "
            f"(high - low = inf), so every value would come out as a bound; use bounds whose "
            f"width high - low is a finite float (e.g. rescale the parameter to a smaller unit)"
        )
    top = max(abs(low), abs(high))
    if kind == "float" and 0 < high - low < top * 10.0 ** (1 - KEY_DIGITS) * _MIN_KEYS:
        raise PerturboError(
            f"parameter {name!r}: the range [{low!r}, {high!r}] is too narrow: configs are told "
            f"apart at {KEY_DIGITS} significant digits, so it holds only about "
            f"{round((high - low) / (top * 10.0 ** (1 - KEY_DIGITS))) + 1} distinct values, and "
            f"planners would take most new values for repeats; rescale the parameter (e.g. search "
            f"an offset or a factor in a range like [0, 1] and convert it in your code)"
        )
    if log and low <= 0:
        raise PerturboError(
            f"parameter {name!r}: a log-scale {kind} needs positive bounds, got low={low}; "
            f"set low > 0 (e.g. {1e-5 if kind == 'float' else 1}) or use log=false"
        )


@dataclass(frozen=True)
class Float(_Param):
    """A real parameter in ``[low, high]``, sampled and encoded on a log scale if ``log``."""

    low: float = 0.0
    high: float = 1.0
    log: bool = False

    def __init__(
        self,
        name: str,
        low: float,
        high: float,
        log: bool = False,
        when: Mapping[str, Iterable[Any]] | None = None,
    ) -> None:
        low, high = _number(name, "low", low), _number(name, "high", high)
        log = _switch(name, "log", log)
        _numeric_checks("float", name, low, high, log)
        object.__setattr__(self, "name", str(name))
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)
        object.__setattr__(self, "log", bool(log))
        object.__setattr__(self, "when", _freeze_when(name, when))

    def _to_unit(self, v: float) -> float:
        lo, hi = (math.log(self.low), math.log(self.high)) if self.log else (self.low, self.high)
        x = math.log(v) if self.log else v
        return 0.5 if hi == lo else (x - lo) / (hi - lo)

    def _from_unit(self, u: float) -> float:
        u = min(max(float(u), 0.0), 1.0)
        if self.log:
            lo, hi = math.log(self.low), math.log(self.high)
            v = math.exp(lo + u * (hi - lo))
        else:
            v = self.low + u * (self.high - self.low)
        return min(max(v, self.low), self.high)

    def validate(self, v: Any) -> float:
        if isinstance(v, bool):
            raise InvalidSpec(f"{self.name}={v!r} is not a number")
        try:
            x = float(v)
        except (TypeError, ValueError):
            raise InvalidSpec(f"{self.name}={v!r} is not a number") from None
        if not math.isfinite(x):
            raise InvalidSpec(f"{self.name}={v!r} is not finite")
        tol = _REL_TOL * max(1.0, abs(self.high - self.low))
        if x < self.low - tol or x > self.high + tol:
            raise InvalidSpec(f"{self.name}={x:g} is outside [{self.low:g}, {self.high:g}]")
        return min(max(x, self.low), self.high)

    @property
    def default(self) -> float:
        return self._from_unit(0.5)

    def describe(self) -> dict[str, Any]:
        return {"type": "float", "low": self.low, "high": self.high, "log": self.log}


@dataclass(frozen=True)
class Int(_Param):
    """An integer parameter in ``[low, high]`` (both included), optionally on a log scale."""

    low: int = 0
    high: int = 1
    log: bool = False

    def __init__(
        self,
        name: str,
        low: int,
        high: int,
        log: bool = False,
        when: Mapping[str, Iterable[Any]] | None = None,
    ) -> None:
        for key, b in (("low", low), ("high", high)):
            if not _number(name, key, b).is_integer():
                raise PerturboError(
                    f"parameter {name!r}: int bounds must be integers, got low={low!r}, high={high!r}"
                )
        log = _switch(name, "log", log)
        _numeric_checks("int", name, float(low), float(high), log)
        object.__setattr__(self, "name", str(name))
        object.__setattr__(self, "low", int(low))
        object.__setattr__(self, "high", int(high))
        object.__setattr__(self, "log", bool(log))
        object.__setattr__(self, "when", _freeze_when(name, when))

    def _bounds(self) -> tuple[float, float]:
        # Stretch by half a step so each integer owns an equal share of the unit interval.
        if self.log:
            return math.log(self.low - 0.5), math.log(self.high + 0.5)
        return self.low - 0.5, self.high + 0.5

    def _to_unit(self, v: float) -> float:
        lo, hi = self._bounds()
        x = math.log(max(v, 1e-12)) if self.log else v
        return min(max((x - lo) / (hi - lo), 0.0), 1.0)

    def _from_unit(self, u: float) -> int:
        u = min(max(float(u), 0.0), 1.0)
        lo, hi = self._bounds()
        x = lo + u * (hi - lo)
        v = math.exp(x) if self.log else x
        return int(min(max(round(v), self.low), self.high))

    def validate(self, v: Any) -> int:
        if isinstance(v, bool):
            raise InvalidSpec(f"{self.name}={v!r} is not an integer")
        try:
            x = float(v)
        except (TypeError, ValueError):
            raise InvalidSpec(f"{self.name}={v!r} is not an integer") from None
        if not math.isfinite(x) or not x.is_integer():
            raise InvalidSpec(f"{self.name}={v!r} is not an integer")
        if x < self.low or x > self.high:
            raise InvalidSpec(f"{self.name}={int(x)} is outside [{self.low}, {self.high}]")
        return int(x)

    @property
    def default(self) -> int:
        return self._from_unit(0.5)

    def describe(self) -> dict[str, Any]:
        return {"type": "int", "low": self.low, "high": self.high, "log": self.log}


@dataclass(frozen=True)
class Categorical(_Param):
    """A choice among ``choices`` (str, int, float or bool values).

    ``ordered=True`` marks a grid whose order means something (``batch_size`` in
    ``[16, 32, 64]``): models then treat its cube column as ordinal, not as unordered
    categories.
    """

    choices: tuple[Any, ...] = ()
    ordered: bool = False

    def __init__(
        self,
        name: str,
        choices: Sequence[Any],
        when: Mapping[str, Iterable[Any]] | None = None,
        ordered: bool = False,
    ) -> None:
        if isinstance(choices, (str, bytes)):
            raise PerturboError(
                f"parameter {name!r}: choices must be a list, e.g. choices=[{choices!r}]"
            )
        ch = tuple(choices)
        if not ch:
            raise PerturboError(
                f"parameter {name!r}: a categorical needs at least one choice; list them in choices=[...]"
            )
        if len(set(map(repr, ch))) != len(ch):
            raise PerturboError(
                f"parameter {name!r}: choices {list(ch)} contain duplicates; list each once"
            )
        keys: dict[str, Any] = {}
        for c in ch:
            k = json.dumps(key_value(c), default=str)
            if k in keys:
                raise PerturboError(
                    f"parameter {name!r}: choices {keys[k]!r} and {c!r} are the same config to "
                    f"perturbo (it tells values apart at {KEY_DIGITS} significant digits, or by "
                    f"their text); make them differ within {KEY_DIGITS} digits or drop one"
                )
            keys[k] = c
        object.__setattr__(self, "name", str(name))
        object.__setattr__(self, "choices", ch)
        object.__setattr__(self, "ordered", _switch(name, "ordered", ordered))
        object.__setattr__(self, "when", _freeze_when(name, when))

    def index(self, v: Any) -> int:
        for i, c in enumerate(self.choices):
            if type(c) is type(v) and c == v:
                return i
        for i, c in enumerate(self.choices):  # 1 == 1.0, "1" for 1 from a CLI or an LLM
            if c == v or (isinstance(v, str) and str(c) == v.strip()):
                return i
        raise InvalidSpec(f"{self.name}={v!r} is not one of {list(self.choices)}")

    def validate(self, v: Any) -> Any:
        return self.choices[self.index(v)]

    def _to_unit(self, v: Any) -> float:
        k = len(self.choices)
        return 0.0 if k == 1 else self.index(v) / (k - 1)

    def _from_unit(self, u: float) -> Any:
        k = len(self.choices)
        i = int(round(min(max(float(u), 0.0), 1.0) * (k - 1)))
        return self.choices[i]

    @property
    def default(self) -> Any:
        return self.choices[0]

    def describe(self) -> dict[str, Any]:
        d: dict[str, Any] = {"type": "categorical", "choices": list(self.choices)}
        if self.ordered:
            d["ordered"] = True
        return d


Param = Float | Int | Categorical

_TYPES = {
    "float": Float,
    "int": Int,
    "integer": Int,
    "categorical": Categorical,
    "choice": Categorical,
}


__all__ = ["Categorical", "Float", "Int", "Param"]
