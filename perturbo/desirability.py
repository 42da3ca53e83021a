"""Derringer-Suich desirability functions: several objectives folded into one number to maximise.

Each objective ``y_i`` maps to ``d_i`` in [0, 1] (0: unacceptable, 1: fully satisfactory) by its
own shape and target range; the overall desirability is their geometric mean
``D = (d_1 * ... * d_k) ** (1/k)``, so one unacceptable objective makes the whole config
unacceptable (Derringer & Suich, 1980, J. Quality Technology 12(4)).

Shapes (``s``, ``t`` > 0: the exponents; 1 is linear, > 1 asks for more than the range's
midpoint before ``d`` rises much, < 1 is content sooner):

* ``max`` (larger is better) on ``[low, high]``: 0 at or below ``low``, 1 at or above ``high``,
  ``((y - low) / (high - low)) ** s`` between.
* ``min`` (smaller is better) on ``[low, high]``: 1 at or below ``low``, 0 at or above ``high``,
  ``((high - y) / (high - low)) ** s`` between.
* ``target`` (target is best) on ``[low, target, high]``: 0 outside ``[low, high]``,
  ``((y - low) / (target - low)) ** s`` rising to 1 at ``target``, then
  ``((high - y) / (high - target)) ** t`` falling.

The written form (``--desirability``), one term per objective, comma-separated::

    NAME:max:LOW..HIGH[^S]          e.g. val_accuracy:max:0.90..0.98
    NAME:min:LOW..HIGH[^S]          e.g. n_params:min:1e3..5e4^2
    NAME:target:LOW..TARGET..HIGH[^S[^T]]   e.g. train_seconds:target:1..2..5^1^0.5

Pure numpy; :func:`parse_desirability` raises :class:`~perturbo.types.PerturboError` with one
line naming the bad term.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from perturbo.types import PerturboError

DESIRABILITY = "desirability"
"""The metric that holds the overall desirability ``D`` (each objective's: ``d_<name>``)."""

SHAPES = ("max", "min", "target")
SYNTAX = (
    "NAME:max:LOW..HIGH[^S], NAME:min:LOW..HIGH[^S] or NAME:target:LOW..TARGET..HIGH[^S[^T]], "
    "comma-separated, e.g. val_accuracy:max:0.90..0.98,n_params:min:1e3..5e4"
)

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?inf"
_EXP = rf"(?:\^(?P<s>{_NUM}))?(?:\^(?P<t>{_NUM}))?"
_RANGE2 = re.compile(rf"(?P<low>{_NUM})\.\.(?P<high>{_NUM}){_EXP}")
_RANGE3 = re.compile(rf"(?P<low>{_NUM})\.\.(?P<target>{_NUM})\.\.(?P<high>{_NUM}){_EXP}")


def d_name(name: str) -> str:
    """The metric that holds objective ``name``'s own desirability."""
    return f"d_{name}"


@dataclass(frozen=True)
class Desirability:
    """One objective's desirability: ``shape`` in :data:`SHAPES`, its range, its exponents
    (``t``: the falling side of a ``target``)."""

    name: str
    shape: str
    low: float
    high: float
    target: float = math.nan
    s: float = 1.0
    t: float = 1.0

    def __post_init__(self) -> None:
        why = self._invalid()
        if why:
            raise PerturboError(f"desirability term {self.spec()!r}: {why}")

    def _invalid(self) -> str:
        if not self.name:
            return "no objective name"
        if self.shape not in SHAPES:
            return f"shape {self.shape!r} is none of {', '.join(SHAPES)}"
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            return "the range's ends must be finite numbers"
        if self.shape == "target":
            if not (self.low < self.target < self.high):
                got = f"{self.low:g} .. {self.target:g} .. {self.high:g}"
                return f"needs LOW < TARGET < HIGH, got {got}{self._fix()}"
        elif not self.low < self.high:
            return f"needs LOW < HIGH, got {self.low:g} .. {self.high:g}{self._fix()}"
        if not (self.s > 0 and self.t > 0 and math.isfinite(self.s) and math.isfinite(self.t)):
            return f"exponents must be positive numbers, got ^{self.s:g}" + (
                f"^{self.t:g}" if self.shape == "target" else ""
            )
        if self.shape != "target" and self.t != 1.0:
            return "only a target term takes a second exponent"
        return ""

    def _fix(self) -> str:
        """How to write a range given in the wrong order (or nothing where sorting does not fix
        it: equal ends, or a target outside its ends)."""
        lo, hi = sorted((self.low, self.high))
        if not lo < hi or (self.shape == "target" and not lo < self.target < hi):
            return ""
        try:  # the same term with its ends in order, written as spec() writes every term
            fixed = replace(self, low=lo, high=hi).spec()
        except PerturboError:  # its exponents are wrong too: said on their own once fixed
            return ""
        return (
            f": write {fixed} (a range is written low to high; "
            f"the shape, {self.shape}, says which values are desirable)"
        )

    @property
    def direction(self) -> str:
        """``max``/``min`` for the raw objective (a ``target`` has none: ``target``)."""
        return self.shape

    def __call__(self, y: float | np.ndarray) -> np.ndarray:
        """``d`` of each value of ``y`` (NaN stays NaN)."""
        y = np.asarray(y, dtype=float)
        lo, hi = self.low, self.high
        with np.errstate(invalid="ignore"):
            if self.shape == "max":
                d = np.clip((y - lo) / (hi - lo), 0.0, 1.0) ** self.s
            elif self.shape == "min":
                d = np.clip((hi - y) / (hi - lo), 0.0, 1.0) ** self.s
            else:
                tg = self.target
                up = np.clip((y - lo) / (tg - lo), 0.0, 1.0) ** self.s
                down = np.clip((hi - y) / (hi - tg), 0.0, 1.0) ** self.t
                d = np.where(y <= tg, up, down)
        return np.where(np.isnan(y), np.nan, d)

    def spec(self) -> str:
        """The written form (what :func:`parse_desirability` reads back)."""
        ends = (
            f"{self.low:g}..{self.target:g}..{self.high:g}"
            if self.shape == "target"
            else f"{self.low:g}..{self.high:g}"
        )
        exp = ""
        if self.s != 1.0 or self.t != 1.0:
            exp = f"^{self.s:g}" + (f"^{self.t:g}" if self.t != 1.0 else "")
        return f"{self.name}:{self.shape}:{ends}{exp}"


@dataclass(frozen=True)
class Desirabilities:
    """Every objective's :class:`Desirability`; ``D`` is their geometric mean."""

    terms: tuple[Desirability, ...]

    def __post_init__(self) -> None:
        if not self.terms:
            raise PerturboError(f"desirability names no objective; write {SYNTAX}")
        names = [d.name for d in self.terms]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise PerturboError(
                f"desirability gives objective {', '.join(twice)} twice; one term per objective"
            )

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.terms)

    def of(self, name: str) -> Desirability:
        for d in self.terms:
            if d.name == name:
                return d
        raise KeyError(name)

    def overall(self, y: np.ndarray) -> np.ndarray:
        """``D`` of each row of ``y`` (shape ``(n, k)``, columns in :attr:`names` order)."""
        y = np.atleast_2d(np.asarray(y, dtype=float))
        d = np.column_stack([term(y[:, i]) for i, term in enumerate(self.terms)])
        return geometric_mean(d)

    def values(self, metrics: Mapping[str, float]) -> dict[str, float]:
        """``{d_<name>: d_i, ..., desirability: D}`` of one trial's metrics (NaN where a
        metric is missing)."""
        d = {d_name(t.name): float(t(float(metrics.get(t.name, math.nan)))) for t in self.terms}
        d[DESIRABILITY] = float(geometric_mean(np.array([list(d.values())]))[0])
        return d

    def spec(self) -> str:
        return ",".join(t.spec() for t in self.terms)


def geometric_mean(d: np.ndarray) -> np.ndarray:
    """Row-wise geometric mean of desirabilities in [0, 1] (0 where any is 0, NaN where any is
    NaN)."""
    d = np.atleast_2d(np.asarray(d, dtype=float))
    with np.errstate(divide="ignore"):
        logs = np.log(d)
    out = np.exp(logs.mean(axis=1))
    out[np.any(d == 0.0, axis=1) & ~np.any(np.isnan(d), axis=1)] = 0.0
    return out


def _term(text: str) -> Desirability:
    bits = text.split(":")
    if len(bits) != 3 or not all(b.strip() for b in bits):
        raise PerturboError(f"desirability term {text!r} is not NAME:SHAPE:RANGE; write {SYNTAX}")
    name, shape, rng = (b.strip() for b in bits)
    if shape not in SHAPES:
        raise PerturboError(
            f"desirability term {text!r}: shape {shape!r} is none of {', '.join(SHAPES)}"
        )
    pattern = _RANGE3 if shape == "target" else _RANGE2
    m = pattern.fullmatch(rng.replace(" ", ""))
    if m is None:
        want = "LOW..TARGET..HIGH[^S[^T]]" if shape == "target" else "LOW..HIGH[^S]"
        raise PerturboError(
            f"desirability term {text!r}: range {rng!r} is not {want} (numbers such as 0.9, "
            "1e3; ^S a positive exponent)"
        )
    g = m.groupdict()
    if shape != "target" and g.get("t"):
        raise PerturboError(
            f"desirability term {text!r}: only a target term takes a second exponent (^S^T)"
        )
    return Desirability(
        name,
        shape,
        float(g["low"]),
        float(g["high"]),
        float(g["target"]) if g.get("target") else math.nan,
        float(g["s"]) if g.get("s") else 1.0,
        float(g["t"]) if g.get("t") else 1.0,
    )


def parse_desirability(spec: str | Sequence[str] | Desirabilities) -> Desirabilities:
    """The :class:`Desirabilities` of a written spec (comma-separated terms, or a list of
    them); see the module docstring for the form."""
    if isinstance(spec, Desirabilities):
        return spec
    parts = spec.split(",") if isinstance(spec, str) else [str(p) for p in spec]
    terms = [p.strip() for p in parts if p.strip()]
    return Desirabilities(tuple(_term(t) for t in terms))


__all__ = [
    "DESIRABILITY",
    "SHAPES",
    "SYNTAX",
    "Desirabilities",
    "Desirability",
    "d_name",
    "geometric_mean",
    "parse_desirability",
]
