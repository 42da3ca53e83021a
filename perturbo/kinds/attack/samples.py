"""Per-sample state of a campaign: which config broke which sample, kept on the driver.

Executors are stateless; two channels carry per-sample facts across the loop:

- *to* an executor: the samples to attack, as a hex bit mask in the spec's ``samples``
  param (``""``: all). 500 samples are 125 characters, fine as an MLflow param.
- *from* an executor: the samples it found non-robust, packed 48 to a float in metrics
  ``nonrobust_bits_00``, ``nonrobust_bits_01``... (an ``Outcome`` carries only floats;
  integers below 2**53 survive JSON and MLflow exactly). So the history alone rebuilds
  the per-sample table on resume.

A sample is in the **worst case robust** iff some completed trial attacked it and none
found it non-robust (the ensemble robust accuracy AutoAttack reports).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from perturbo.types import Observation, Status

BITS = 48
PREFIX = "nonrobust_bits_"
CLEAN_PREFIX = "cleanwrong_bits_"


def encode_mask(mask: np.ndarray) -> str:
    """Bool mask ``(n,)`` -> hex string (bit ``i`` of the number is sample ``i``)."""
    v = 0
    for i in np.nonzero(np.asarray(mask, bool))[0]:
        v |= 1 << int(i)
    return format(v, "x")


def decode_mask(text: str, n: int) -> np.ndarray:
    """The inverse of :func:`encode_mask`; ``""`` is every sample."""
    if not text:
        return np.ones(n, bool)
    v = int(text, 16)
    return np.array([(v >> i) & 1 for i in range(n)], bool)


def pack_bits(mask: np.ndarray, prefix: str = PREFIX) -> dict[str, float]:
    mask = np.asarray(mask, bool)
    out = {}
    for k in range(math.ceil(len(mask) / BITS)):
        chunk = mask[k * BITS : (k + 1) * BITS]
        out[f"{prefix}{k:02d}"] = float(sum(1 << int(i) for i in np.nonzero(chunk)[0]))
    return out


def unpack_bits(metrics: Mapping[str, float], n: int, prefix: str = PREFIX) -> np.ndarray | None:
    """The mask ``(n,)`` packed under ``prefix`` in a trial's metrics (``None``: not there)."""
    if f"{prefix}00" not in metrics:
        return None
    out = np.zeros(n, bool)
    for k in range(math.ceil(n / BITS)):
        v = int(metrics.get(f"{prefix}{k:02d}", 0.0))
        for i in range(min(BITS, n - k * BITS)):
            out[k * BITS + i] = bool((v >> i) & 1)
    return out


@dataclass
class WorstCase:
    """The per-sample worst case over trials (see the module docstring).

    ``eps``: trials at a larger eps (min-eps / Pareto campaigns search eps) do not count
    against the fixed-eps worst case."""

    n: int
    eps: float
    attacked: np.ndarray = field(init=False)
    broken_by: list[str] = field(init=False)
    """Per sample: the id of the first trial that found it non-robust (``""``: none)."""
    _seen: set[str] = field(init=False, default_factory=set)
    certificate: Any = field(init=False, default=None)
    """The certified lower bound the campaign ended with
    (:class:`~perturbo.kinds.attack.report.Certificate`), where it has one."""

    def __post_init__(self) -> None:
        self.attacked = np.zeros(self.n, bool)
        self.broken_by = [""] * self.n
        self.clean_wrong = np.zeros(self.n, bool)

    def update(self, observations: Sequence[Observation]) -> None:
        for o in observations:
            if o.spec.id in self._seen or o.outcome.status is not Status.COMPLETED:
                continue
            self._seen.add(o.spec.id)
            if float(o.spec.params.get("eps", self.eps)) > self.eps * (1 + 1e-9):
                continue
            bad = unpack_bits(o.outcome.metrics, self.n)
            if bad is None:
                continue
            self.attacked |= decode_mask(str(o.spec.params.get("samples", "")), self.n)
            cw = unpack_bits(o.outcome.metrics, self.n, CLEAN_PREFIX)
            if cw is not None:
                self.clean_wrong |= cw
            for i in np.nonzero(bad)[0]:
                if not self.broken_by[i]:
                    self.broken_by[i] = o.spec.id

    @property
    def robust(self) -> np.ndarray:
        return self.attacked & np.array([not b for b in self.broken_by])

    @property
    def still_robust_mask(self) -> str:
        """What the cascade attacks next: ``""`` before any trial, else the robust samples."""
        return encode_mask(self.robust) if self.attacked.any() else ""

    def accuracy(self) -> float:
        return float(self.robust.sum()) / self.n if self.attacked.all() else math.nan

    def table(self) -> list[tuple[int, str]]:
        """(sample, who broke it) for every attacked sample: a trial id, ``"clean"``
        (misclassified without an attack) or ``""`` (still robust)."""
        return [
            (i, "clean" if self.clean_wrong[i] else self.broken_by[i])
            for i in range(self.n)
            if self.attacked[i]
        ]


def worst_case(history: Sequence[Observation], n: int, eps: float) -> WorstCase:
    wc = WorstCase(n, eps)
    wc.update(history)
    return wc


__all__ = [
    "WorstCase",
    "decode_mask",
    "encode_mask",
    "pack_bits",
    "unpack_bits",
    "worst_case",
]
