"""Start cheap, escalate only when the cheap configs stop breaking: the cost ladder of the
cascade, and the configs that target the samples still standing with what broke their
neighbours.

Why (measured, ``docs/findings/attack.md``): most of the samples an ensemble breaks fall to
the first few gradient steps (on the wine MLP APGD-CE at 5 steps breaks as many as at 50),
and under the cascade every later config attacks only what is left. So the passes a config
may spend per standing sample, its **rung**, starts at APGD's fewest steps and grows
(x :data:`FACTOR`) only when a config proposed at the current rung breaks nothing new:
AutoAttack's order, cheap to expensive, made adaptive. Every config, the opening's and the
planner's, is fitted to the rung before it goes out (:func:`fit_config`), and what is
recorded is what ran. Stop-when-done's stretch then holds one climb beyond the rung that
last broke something (:data:`~perturbo.kinds.attack.space.CLIMB_CONFIGS`).

Neighbours (:func:`neighbour_configs`): at each climb the samples still standing are
grouped by the config that broke most of their nearest broken neighbours (input-space
distance, among the samples broken after the first config where there are any: those
resisted it, as the standing ones did), and each group is attacked first with that
config grown to the new rung, on its own samples only.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from perturbo.kinds.attack.attacks import MIN_STEPS

START = 14.0
"""Passes per standing sample at the first rung: APGD with its fewest useful steps (5) and
1 restart (:data:`MIN_STEPS`)."""
FACTOR = 4.0
"""Each rung spends this many times the passes per sample of the one below: APGD at 5, 26,
then 110 steps (AutoAttack's 100 is the third rung). Measured on the built-in targets
(``docs/findings/attack.md``): at 2 the one climb stop-when-done allows reached too little
on the PGD-trained CNN (it missed AutoAttack's worst case in 2 of 3 seeds)."""
TOP = 9 * (2 * 100 + 4.0)
"""The highest rung: APGD-T on 9 targets at 100 steps, the costliest gradient attack
AutoAttack runs (the space's configs grow no further; a campaign at its top rung keeps
proposing, the ladder no longer climbs and no more neighbour configs come)."""
_APGD = ("apgd-ce", "apgd-dlr", "apgd-t")


OPENING_NOTE = (
    "opening: AutoAttack's APGD-CE and targeted APGD-DLR, at half its steps (under the cost "
    "ladder fitted to its rung)"
)


def opening_configs(space: Any, n_classes: int) -> list[dict[str, Any]]:
    """What a campaign runs first, before its planner's own proposals: AutoAttack's first two
    attacks at 50 steps (APGD-CE; APGD-T with 3 targets, or untargeted APGD-DLR under 4
    classes), those of them ``space`` allows. Cheap next to the ensemble and strong: the
    planner then searches for what breaks the samples they leave standing."""
    wanted: list[dict[str, Any]] = [{"method": "apgd-ce", "steps": 50, "restarts": 1}]
    if n_classes >= 4:
        wanted.append({"method": "apgd-t", "steps": 50, "targets": 3})
    else:
        wanted.append({"method": "apgd-dlr", "steps": 50, "restarts": 1})
    out = []
    for params in wanted:
        try:
            out.append(space.validate(params))
        except Exception:  # noqa: BLE001 - not in this space (--methods, the norm): skip it
            continue
    return out


def _runs(params: Mapping[str, Any]) -> int:
    method = str(params.get("method"))
    if method == "apgd-t":
        return max(1, int(params.get("targets", 3)))
    return max(1, int(params.get("restarts", 1)))


def config_cost(params: Mapping[str, Any]) -> float:
    """Forward + backward passes per attacked sample a config spends at most (APGD: a
    forward and a backward per step and run, 4 for its start and checks; PGD: 2 per step
    and restart; Square: one forward per query; one-pixel: population x generations)."""
    method = str(params.get("method"))
    steps = int(params.get("steps", 20))
    if method in _APGD:
        return _runs(params) * (2.0 * steps + 4.0)
    if method == "pgd":
        return _runs(params) * (2.0 * steps + 2.0)
    if method == "fgsm":
        return 3.0
    if method == "square":
        return float(params.get("queries", 1000)) + 2.0
    if method == "onepixel":
        return float(params.get("popsize", 100)) * float(params.get("iters", 30))
    return 2.0 * steps + 2.0  # cw-l2, deepfool: a forward and a backward per step


def fit_config(
    params: Mapping[str, Any], per_sample: float, *, grow: bool = False, max_targets: int = 9
) -> dict:
    """``params`` cut to cost at most ``per_sample`` passes per sample: random restarts to 1
    first, then steps (APGD-T: steps, then target classes: its targets are its strength),
    queries or generations. ``grow``: also lengthen an iterative config to the most steps
    that fit (APGD-T: targets and steps each grow by the square root of the
    rung's growth, up to ``max_targets``), for
    the neighbour configs, escalated. Never below the space's bounds (5 steps, 100 queries,
    5 generations): the cost then exceeds the rung a little."""
    out = dict(params)
    method = str(out.get("method"))
    if method == "fgsm":
        return out
    if method == "square":
        q = int(out.get("queries", 1000))
        fits = int(per_sample - 2)
        out["queries"] = max(100, min(5000, fits) if grow else min(q, fits))
        return out
    if method == "onepixel":
        pop = int(out.get("popsize", 100))
        out["iters"] = max(5, min(int(out.get("iters", 30)), int(per_sample // max(1, pop))))
        return out
    if method == "apgd-t":
        t = int(out.get("targets", 3))
        if grow:
            t = max(t, round(math.sqrt(per_sample / (2 * MIN_STEPS + 4))))
        t = min(t, max_targets, max(1, int(per_sample // (2 * MIN_STEPS + 4))))
        out["targets"] = max(1, t)
    elif config_cost(out) > per_sample and _runs(out) > 1:  # one run first: all its steps
        out["restarts"] = 1
    per_step = 2.0 * _runs(out)
    fixed = (4.0 if method in _APGD else 2.0) * _runs(out)
    fits = int((per_sample - fixed) // per_step)
    steps = int(out.get("steps", 20))
    if grow or fits < steps:
        out["steps"] = max(MIN_STEPS, min(100, fits) if grow else fits)
    return out


class Ladder:
    """The rung each config is fitted to, and what stop-when-done's stretch holds above it
    (see the module docstring). A config carries the rung it went out at (``rung`` param):
    only a config of the current rung that breaks nothing new climbs the ladder (a slow
    config of a lower rung does not climb it twice). ``features``: the inputs, one row per
    sample; each climb then first proposes the neighbours' configs (None: no neighbours)."""

    def __init__(
        self,
        start: float = START,
        factor: float = FACTOR,
        top: float = TOP,
        max_targets: int = 9,
        features: Any = None,
    ) -> None:
        self.start, self.factor, self.top = start, factor, top
        self.max_targets = max_targets
        self.features = features
        self.rung = 0
        self.rung_best = 0
        """The rung of the config that last broke a sample."""
        self.climb = 0.0
        """Passes the stretch holds above :attr:`rung_best`: ``climb_configs`` configs of the
        next rung on the samples standing at the best."""
        self.params_of: dict[str, dict[str, Any]] = {}
        """Every completed trial's config, by id, in the order told (neighbour votes)."""
        self._spent: dict[int, float] = {}
        self._spent_at_best: dict[int, float] = {}
        self._neighbour_rung = 0

    @property
    def per_sample(self) -> float:
        return self.at(self.rung)

    def at(self, rung: int) -> float:
        return min(self.top, self.start * self.factor**rung)

    def fit(self, params: Mapping[str, Any], *, grow: bool = False) -> dict:
        return fit_config(params, self.per_sample, grow=grow, max_targets=self.max_targets)

    def told(self, rung: int | None, broke_new: bool) -> bool:
        """Climb when a config of the current rung broke nothing new; True if it climbed."""
        if broke_new or rung != self.rung or self.per_sample >= self.top:
            return False
        self.rung += 1
        return True

    def observe(self, params: Mapping[str, Any], passes: float) -> None:
        """A told config's passes, against its rung (``params`` carry it)."""
        r = int(params.get("rung", 0))
        self._spent[r] = self._spent.get(r, 0.0) + passes

    def improved(self, rung: int, standing: int, climb_configs: int) -> None:
        """The worst case improved, by a config of ``rung``: the stretch restarts there."""
        self.rung_best = rung
        self._spent_at_best = dict(self._spent)
        self.climb = climb_configs * (self.at(rung + 1) + 1) * standing

    def spent_above(self) -> float:
        """Passes spent since the best by configs of rungs above the best's."""
        return sum(
            v - self._spent_at_best.get(r, 0.0)
            for r, v in self._spent.items()
            if r > self.rung_best
        )

    def neighbours_ran(self, rung: int) -> None:
        """Neighbour configs already ran at ``rung`` (a resumed campaign's record): none
        again until the next climb."""
        self._neighbour_rung = max(self._neighbour_rung, rung)

    def neighbours(self, worst: Any, n: int) -> list[tuple[dict[str, Any], np.ndarray]]:
        """Once per climb: ``(config grown to the rung, samples)`` for the standing samples,
        grouped by what broke their nearest broken neighbours (:func:`neighbour_configs`)."""
        if self.features is None or n < 1 or self.rung == self._neighbour_rung:
            return []
        if not worst.robust.any():
            return []
        self._neighbour_rung = self.rung
        first = next(iter(self.params_of), "")  # told first: what every sample faced
        groups = neighbour_configs(
            self.features, worst.broken_by, worst.robust, self.params_of, first=first
        )
        return [(self.fit(p, grow=True), mask) for p, mask in groups[:n]]


def neighbour_configs(
    features: np.ndarray,
    broken_by: Sequence[str],
    standing: np.ndarray,
    params_of: Mapping[str, Mapping[str, Any]],
    k: int = 3,
    first: str = "",
) -> list[tuple[dict[str, Any], np.ndarray]]:
    """``(config, samples)`` groups: each sample still ``standing`` goes to the config that
    broke most of its ``k`` nearest broken neighbours (Euclidean distance between inputs;
    ties to the nearer neighbour), the configs by group size, largest first. ``broken_by``:
    per sample the id of the trial that broke it (``""``: none, or broken clean); a trial
    whose params are not in ``params_of`` casts no vote. ``first``: the campaign's first
    trial, which every sample faced: the samples it broke were the easy ones, so the
    neighbours are drawn from the samples broken later (those that resisted it, as the
    standing ones did) wherever there are any."""
    feats = np.asarray(features, dtype=np.float64).reshape(len(broken_by), -1)
    broken = np.array([bool(b) and b in params_of for b in broken_by])
    late = broken & np.array([b != first for b in broken_by])
    if first and late.any():
        broken = late
    stand = np.nonzero(np.asarray(standing, bool))[0]
    if not broken.any() or not len(stand):
        return []
    cand = np.nonzero(broken)[0]
    d = ((feats[stand, None, :] - feats[None, cand, :]) ** 2).sum(-1)
    near = np.argsort(d, axis=1, kind="stable")[:, :k]
    groups: dict[str, list[int]] = {}
    for row, s in enumerate(stand):
        votes = [broken_by[cand[j]] for j in near[row]]
        counts = Counter(votes)
        top = max(counts.values())
        winner = next(v for v in votes if counts[v] == top)  # the nearest among the tied
        groups.setdefault(winner, []).append(int(s))
    out = []
    for tid, members in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        mask = np.zeros(len(broken_by), bool)
        mask[members] = True
        out.append((dict(params_of[tid]), mask))
    return out


__all__ = [
    "FACTOR",
    "OPENING_NOTE",
    "START",
    "TOP",
    "Ladder",
    "config_cost",
    "fit_config",
    "neighbour_configs",
    "opening_configs",
]
