"""The attack search space, and the cascade that spends later budget on the robust samples.

:func:`attack_space` is a :class:`~perturbo.space.SearchSpace` with ``method`` a categorical
and each method's parameters conditional on it (``steps`` for the iterative ones,
``loss``/``step_rel``/``restarts`` for PGD, ``queries``/``p_init`` for Square...). Min-eps
and Pareto campaigns add ``eps`` itself (log scale, up to the campaign's eps).

The cascade: :class:`CascadePlanner` wraps any planner. Before each proposal goes out it
adds the ``samples`` param (a hex mask of the samples still robust in the campaign's worst
case, :mod:`.samples`), and strips it again before the inner planner is told, so the
inner planner only ever sees attack configs. :class:`CascadeSpace` validates that extra
param beside the inner space and leaves it out of a config's identity.

Note for planners: with the cascade on, a trial's ``robust_accuracy`` is measured on the
samples still robust when it was proposed, so later trials face harder samples; the
objective is "how many of the remaining samples does this config leave standing".
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from perturbo.kinds.attack.attacks import METHODS_BY_NORM
from perturbo.kinds.attack.samples import WorstCase
from perturbo.space import Categorical, Float, Int, SearchSpace
from perturbo.types import ExperimentSpec, InvalidSpec, Observation, PerturboError

SAMPLES = "samples"
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
        rest = {k: v for k, v in params.items() if k != SAMPLES}
        out = self.inner.validate(rest)
        if SAMPLES in params:
            mask = str(params[SAMPLES]).strip().lower()
            if not _HEX.match(mask):
                raise InvalidSpec(f"samples {params[SAMPLES]!r} is not a hex sample mask")
            out[SAMPLES] = mask
        return out

    def key(self, params: Mapping[str, Any]) -> str:
        return self.inner.key({k: v for k, v in params.items() if k != SAMPLES})

    def sample(self, rng: Any, n: int, exclude: set[str]) -> list[dict[str, Any]]:
        return self.inner.sample(rng, n, exclude)

    def __getattr__(self, name: str) -> Any:  # encode, decode, dim... for whoever asks
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)


def _strip(o: Observation) -> Observation:
    if SAMPLES not in o.spec.params:
        return o
    params = {k: v for k, v in o.spec.params.items() if k != SAMPLES}
    return Observation(replace(o.spec, params=params), o.outcome)


class CascadePlanner:
    """Wraps ``inner``: proposals get the still-robust mask; ``inner`` never sees it.
    Proposes nothing (so the campaign ends) once every sample is broken, or once the
    trials told so far spent ``max_passes`` forward + backward passes."""

    def __init__(
        self, inner: Any, worst: WorstCase, cascade: bool = True, max_passes: float | None = None
    ) -> None:
        self.inner = inner
        self.worst = worst
        self.cascade = cascade
        self.max_passes = max_passes
        self.passes = 0.0
        self._counted: set[str] = set()
        self.name = getattr(inner, "name", "planner")

    def ask(self, n: int, pending: Sequence[ExperimentSpec]) -> list[ExperimentSpec]:
        bare = [
            replace(s, params={k: v for k, v in s.params.items() if k != SAMPLES}) for s in pending
        ]
        if self.max_passes is not None and self.passes >= self.max_passes:
            return []  # the compute budget is spent: the campaign ends
        specs = [replace(s, kind="attack") for s in self.inner.ask(n, bare)]
        if not self.cascade:
            return specs
        if self.worst.attacked.all() and not self.worst.robust.any():
            return []  # every sample broken: nothing left to attack, the campaign ends
        mask = self.worst.still_robust_mask
        return [replace(s, params={**s.params, SAMPLES: mask}) for s in specs]

    def tell(self, observations: Sequence[Observation]) -> None:
        self.worst.update(observations)
        for o in observations:
            if o.spec.id not in self._counted:
                self._counted.add(o.spec.id)
                v = o.outcome.metrics.get("passes", 0.0)
                self.passes += float(v) if v == v else 0.0
        self.inner.tell([_strip(o) for o in observations])

    def __getattr__(self, name: str) -> Any:  # last_trace and the like
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)


__all__ = ["SAMPLES", "CascadePlanner", "CascadeSpace", "attack_space"]
