"""Which observed configs ``mf-bo`` may promote to a higher fidelity, and by which rule.

- :func:`promotable`: the configs below the full fidelity, none in flight, each once, with
  the fidelity a promotion would run it at.
- :func:`in_top_of_rung`: ASHA's rule (:mod:`perturbo.search.asha`) on ``mf-bo``'s data: a
  config qualifies when its value at the highest rung it reached is in the top ``1/eta`` of
  every config's value there (at or above the ``1 - 1/eta`` quantile of the others'); the
  first config at a rung qualifies. ``MFBOPlanner(promote="rung")`` promotes by it, in the
  order of the model's bound at the full fidelity; ``promote="model"`` (the default)
  promotes by that bound alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from perturbo.search.asha import in_top


def promotable(
    cfgs: Sequence[dict[str, Any]],
    config_key: Callable[[dict[str, Any]], str],
    reached: Mapping[str, float],
    busy: set[str],
    ladder: Sequence[float],
    warm_start: bool,
    seen_key: Callable[[dict[str, Any], float], str],
    seen: set[str],
) -> list[tuple[int, float]]:
    """``(index of the config's first row, fidelity)`` for each observed config below the top
    of ``ladder`` and not ``busy``: the next rung above the highest it ``reached``
    (``warm_start``), else the top; a pair already run or pending (in ``seen``) is left out."""
    out, done = [], set(busy)
    top_f = ladder[-1]
    for i, cfg in enumerate(cfgs):
        ck = config_key(cfg)
        if ck in done:
            continue
        done.add(ck)
        top = reached.get(ck, 0.0)
        if top >= top_f:
            continue
        f = min((r for r in ladder if r > top), default=top_f) if warm_start else top_f
        if seen_key(cfg, f) not in seen:
            out.append((i, f))
    return out


def in_top_of_rung(values: Mapping[str, Mapping[float, float]], ck: str, eta: float) -> bool:
    """ASHA's cut (:func:`~perturbo.search.asha.in_top`) for config ``ck`` at the highest rung
    it reached; ``values``: config key -> {fidelity: value}, signed so that larger is better."""
    rung = max(values[ck])
    others = [v[rung] for k, v in values.items() if k != ck and rung in v]
    return in_top(values[ck][rung], others, eta)


def choose(
    cands: Sequence[tuple[int, float]],
    upper: Sequence[float],
    bar: float,
    slots: int,
    qualifies: Callable[[int], bool | None],
) -> list[tuple[int, float]]:
    """Up to ``slots`` of ``cands`` (``(row, fidelity)``), in the order of their bound
    ``upper[row]`` at the full fidelity. ``qualifies(row)`` None: the model's rule, the bound
    must beat ``bar`` (the best mean measured there); True/False: ASHA's cut decides."""
    out: list[tuple[int, float]] = []
    for i, f in sorted(cands, key=lambda t: -upper[t[0]]):
        if len(out) == slots:
            break
        ok = qualifies(i)
        if ok is None and upper[i] <= bar:
            break
        if ok is False:
            continue
        out.append((i, f))
    return out


__all__ = ["choose", "in_top_of_rung", "promotable"]
