"""The attack search space, and the cascade that spends later budget on the robust samples.

:func:`attack_space` is a :class:`~perturbo.space.SearchSpace` with ``method`` a categorical
and each method's parameters conditional on it (``steps`` for the iterative ones,
``loss``/``step_rel``/``restarts`` for PGD, ``queries``/``p_init`` for Square...). Min-eps
and Pareto campaigns add ``eps`` itself (log scale, up to the campaign's eps).

The cascade: :class:`~.cascade.CascadePlanner` (re-exported here) wraps any planner. Before each proposal goes out it
adds the ``samples`` param (a hex mask of the samples still robust in the campaign's worst
case, :mod:`.samples`), and strips it again before the inner planner is told, so the
inner planner only ever sees attack configs. :class:`CascadeSpace` validates that extra
param beside the inner space and leaves it out of a config's identity.

Note for planners: under the cascade a trial's ``robust_accuracy`` is measured on the
samples still robust when it was proposed (later trials face harder samples), and under
the cost ladder (:mod:`.escalate`) a config is told as it ran, fitted to its rung.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from perturbo.kinds.attack.attacks import METHODS_BY_NORM
from perturbo.kinds.attack.escalate import opening_configs
from perturbo.space import Categorical, Float, Int, SearchSpace
from perturbo.types import InvalidSpec, Observation, PerturboError

SAMPLES = "samples"
PASS_BUDGET = "pass_budget"
"""The passes a trial may spend (set under ``--max-passes``; not part of a config)."""
RUNG = "rung"
"""The cost-ladder rung a config was fitted to (:mod:`.escalate`; not part of a config)."""
_EXTRA = (SAMPLES, PASS_BUDGET, RUNG)
CLIMB_CONFIGS = 1
"""Under the ladder, stop-when-done's stretch also holds this many configs at the rung above
the one that last broke something (the first proposed after a climb: the neighbours')."""
_HEX = re.compile(r"^[0-9a-f]*$")


def attack_space(
    norm: str,
    *,
    methods: Sequence[str] | None = None,
    n_classes: int = 10,
    eps: float | None = None,
    eps_low: float | None = None,
) -> SearchSpace:
    """The space for ``norm`` (``linf``, ``l2``, ``l0``); ``eps``: also search eps in
    ``[eps_low, eps]`` (log scale; default low ``eps / 20``)."""
    allowed = METHODS_BY_NORM.get(norm)
    if allowed is None:
        raise PerturboError(f"--norm {norm!r}: use linf, l2 or l0")
    ms = tuple(methods or allowed)
    if n_classes < 3:
        ms = tuple(m for m in ms if m not in ("apgd-dlr", "apgd-t"))
    if n_classes < 4:  # pyautoattack's targeted DLR reads the 4th largest logit
        ms = tuple(m for m in ms if m != "apgd-t")
    bad = [m for m in ms if m not in allowed]
    if bad or not ms:
        raise PerturboError(
            f"--methods {','.join(bad) or '(none)'}: not attacks for norm {norm}; use some of "
            f"{', '.join(allowed)}"
        )
    params: list[Any] = [Categorical("method", list(ms))]
    if eps is not None:
        if norm == "l0":
            params.append(Int("eps", 1, max(1, int(eps))))
        else:
            params.append(Float("eps", eps_low or eps / 20, eps, log=True))

    def when(*names: str) -> dict[str, list[str]] | None:
        active = [m for m in names if m in ms]
        return {"method": active} if active else None

    iterative = when("pgd", "apgd-ce", "apgd-dlr", "apgd-t", "cw-l2", "deepfool")
    if iterative:
        params.append(Int("steps", 5, 100, log=True, when=iterative))
    if w := when("pgd", "apgd-ce", "apgd-dlr"):
        params.append(Int("restarts", 1, 4, when=w))
    if w := when("pgd", "fgsm"):
        losses = ["ce", "cw", "dlr"] if n_classes >= 3 else ["ce", "cw"]
        params.append(Categorical("loss", losses, when=w))
    if w := when("pgd"):
        params.append(Float("step_rel", 0.02, 1.0, log=True, when=w))
    if w := when("apgd-t"):
        params.append(Int("targets", 1, max(1, min(9, n_classes - 1)), when=w))
    if w := when("square"):
        params.append(Int("queries", 100, 5000, log=True, when=w))
        params.append(Float("p_init", 0.05, 0.8, log=True, when=w))
    if w := when("cw-l2"):
        params.append(Float("confidence", 0.0, 5.0, when=w))
    if w := when("onepixel"):
        params.append(Int("popsize", 20, 400, log=True, when=w))
        params.append(Int("iters", 5, 100, log=True, when=w))
    return SearchSpace(params)


class CascadeSpace:
    """``inner`` plus the ``samples`` mask param (see the module docstring)."""

    unique = False

    def __init__(self, inner: SearchSpace) -> None:
        self.inner = inner

    def validate(self, params: Mapping[str, Any]) -> dict[str, Any]:
        if not isinstance(params, Mapping):
            return self.inner.validate(params)
        rest = {k: v for k, v in params.items() if k not in _EXTRA}
        try:
            out = self.inner.validate(rest)
        except InvalidSpec as e:  # name every missing param at once (a --pin), with its range
            missing = [p for p in self.inner.active(rest) if p.name not in rest]
            if not str(e).startswith("missing parameter") or not missing:
                raise
            what = ", ".join(f"{p.name!r} ({_range(p)})" for p in missing)
            s = "s" if len(missing) > 1 else ""
            raise InvalidSpec(f"missing parameter{s} {what}") from None
        if RUNG in params:
            try:
                out[RUNG] = max(0, int(params[RUNG]))
            except (TypeError, ValueError):
                raise InvalidSpec(f"rung {params[RUNG]!r} is not a number") from None
        if PASS_BUDGET in params:
            try:
                out[PASS_BUDGET] = max(0, int(params[PASS_BUDGET]))
            except (TypeError, ValueError):
                raise InvalidSpec(f"pass_budget {params[PASS_BUDGET]!r} is not a number") from None
        if SAMPLES in params:
            mask = str(params[SAMPLES]).strip().lower()
            if not _HEX.match(mask):
                raise InvalidSpec(f"samples {params[SAMPLES]!r} is not a hex sample mask")
            out[SAMPLES] = mask
        return out

    def key(self, params: Mapping[str, Any]) -> str:
        return self.inner.key({k: v for k, v in params.items() if k not in _EXTRA})

    def sample(self, rng: Any, n: int, exclude: set[str]) -> list[dict[str, Any]]:
        return self.inner.sample(rng, n, exclude)

    def __getattr__(self, name: str) -> Any:  # encode, decode, dim... for whoever asks
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)


def _range(p: Any) -> str:
    """``one of ['ce', 'cw']`` / ``int in [5, 100]``: what a parameter takes."""
    if isinstance(p, Categorical):
        return f"one of {list(p.choices)}"
    return f"{p.describe()['type']} in [{p.low:g}, {p.high:g}]"


def _strip(o: Observation) -> Observation:
    if not any(k in o.spec.params for k in _EXTRA):
        return o
    params = {k: v for k, v in o.spec.params.items() if k not in _EXTRA}
    return Observation(replace(o.spec, params=params), o.outcome)


def __getattr__(name: str) -> Any:
    if name == "CascadePlanner":  # lives in .cascade (which imports this module's names)
        from perturbo.kinds.attack.cascade import CascadePlanner

        return CascadePlanner
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "PASS_BUDGET",
    "RUNG",
    "SAMPLES",
    "CascadeSpace",
    "attack_space",
    "opening_configs",
]
