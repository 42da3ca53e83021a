"""One planner registry: a planner name -> its factory, for each kind of space.

The composition modules of the kinds ask :func:`make_planner` instead of keeping if-chains of
their own. A planner is registered for a space type (``SearchSpace`` for the general planners
below; a kind registers its own, e.g. the genetic kind's gene-pool GP for ``GenePool``); the
lookup walks the space's class hierarchy, so a planner registered for ``object`` (``random``)
serves every space.

    make_planner("bo", space, kind="attack", seed=0, objectives=("robust_acc",),
                 directions=("min",))
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from perturbo.types import PerturboError

if TYPE_CHECKING:
    from perturbo.protocols import Planner


@dataclass(frozen=True)
class PlannerRequest:
    """What a planner factory gets: the space, the kind (stamped on its specs), the seed, the
    objectives with their directions (one, or several for a multi-objective campaign), the
    campaign's config (for planners with settings of their own, e.g. ``llm*``), the shared
    local LLM (``engine``), a LangChain chat model to use instead (``llm``, tests) and
    ``extra``: whatever else a kind hands its own planners (a screen, earlier labels)."""

    space: Any
    kind: str
    seed: int = 0
    objectives: tuple[str, ...] = ("value",)
    directions: tuple[str, ...] = ("max",)
    config: Mapping[str, Any] = field(default_factory=dict)
    engine: Any = None
    llm: Any = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def objective(self) -> str | tuple[str, ...]:
        """One objective's name, or the tuple of them for a multi-objective campaign."""
        return self.objectives[0] if len(self.objectives) == 1 else self.objectives

    @property
    def direction(self) -> str | tuple[str, ...]:
        return self.directions[0] if len(self.directions) == 1 else self.directions


PlannerFactory = Callable[[PlannerRequest], "Planner"]


@dataclass(frozen=True)
class _Entry:
    factory: PlannerFactory
    multi_objective: bool
    help: str


_REGISTRY: dict[type, dict[str, _Entry]] = {}


def register(
    space_type: type, name: str, *, multi_objective: bool = False, help: str = ""
) -> Callable[[PlannerFactory], PlannerFactory]:
    """Decorator: register ``factory`` as planner ``name`` for spaces of ``space_type``."""

    def deco(factory: PlannerFactory) -> PlannerFactory:
        _REGISTRY.setdefault(space_type, {})[name] = _Entry(factory, multi_objective, help)
        return factory

    return deco


def _entries(space_type: type) -> dict[str, _Entry]:
    out: dict[str, _Entry] = {}
    for cls in reversed(space_type.__mro__):  # the most specific registration wins
        out.update(_REGISTRY.get(cls, {}))
    return out


def planner_names(space_type: type, multi_objective: bool = False) -> tuple[str, ...]:
    """Planner names for ``space_type`` (only those taking several objectives, if asked)."""
    return tuple(
        n for n, e in _entries(space_type).items() if e.multi_objective or not multi_objective
    )


def planner_help(space_type: type) -> str:
    """``name (what it is), ...`` for a ``--planner`` help text."""
    return ", ".join(f"{n} ({e.help})" if e.help else n for n, e in _entries(space_type).items())


def make_planner(name: str, space: Any, **request: Any) -> Planner:
    """Planner ``name`` for ``space`` (see :class:`PlannerRequest` for the keywords)."""
    entries = _entries(type(space))
    if name not in entries:
        raise PerturboError(
            f"--planner {name!r} is unknown for this kind: use one of {', '.join(entries)}"
        )
    req = PlannerRequest(space=space, **request)
    entry = entries[name]
    if len(req.objectives) > 1 and not entry.multi_objective:
        multi = [n for n, e in entries.items() if e.multi_objective]
        raise PerturboError(
            f"--planner {name} optimises one objective, and --objective names "
            f"{len(req.objectives)} ({','.join(req.objectives)}): use --planner "
            f"{' / '.join(multi)}, or name one objective"
        )
    return entry.factory(req)


# --------------------------------------------------------------------------- general planners

from perturbo.space import SearchSpace  # noqa: E402  (light: the space module only)


@register(object, "random", multi_objective=True, help="seeded uniform baseline")
def _random(r: PlannerRequest) -> Planner:
    from perturbo.search.random import RandomPlanner

    return RandomPlanner(r.space, r.kind, seed=r.seed)


@register(
    SearchSpace,
    "bo",
    multi_objective=True,
    help="BoTorch batch BO; qLogNEHVI for several objectives",
)
def _bo(r: PlannerRequest) -> Planner:
    from perturbo.search.bo import BOPlanner

    return BOPlanner(r.space, r.kind, r.seed, objective=r.objective, direction=r.direction)


@register(SearchSpace, "sobol", multi_objective=True, help="scrambled Sobol points")
def _sobol(r: PlannerRequest) -> Planner:
    from perturbo.search.sobol import SobolPlanner

    return SobolPlanner(r.space, r.kind, r.seed)


@register(SearchSpace, "evolution", help="differential evolution")
def _evolution(r: PlannerRequest) -> Planner:
    from perturbo.search.evolution import EvolutionPlanner

    return EvolutionPlanner(r.space, r.kind, r.seed, objective=r.objective, direction=r.direction)


def _optuna(sampler: str) -> PlannerFactory:
    def factory(r: PlannerRequest) -> Planner:
        from perturbo.search.optuna_planner import OptunaPlanner

        return OptunaPlanner(
            r.space, r.kind, r.seed, objective=r.objective, direction=r.direction, sampler=sampler
        )

    return factory


for _name, _sampler, _multi, _help in (
    ("optuna", "tpe", True, "Optuna TPE"),
    ("optuna-tpe", "tpe", True, "Optuna TPE"),
    ("optuna-gp", "gp", True, "Optuna GPSampler"),
    ("optuna-cmaes", "cmaes", False, "Optuna CMA-ES"),
    ("optuna-nsga2", "nsga2", True, "Optuna NSGA-II"),
):
    register(SearchSpace, _name, multi_objective=_multi, help=_help)(_optuna(_sampler))


@register(SearchSpace, "agent", help="LLM agent, see --llm")
def _agent(r: PlannerRequest) -> Planner:
    try:
        from perturbo.agents.space_agent import make_space_planner
    except ImportError as e:
        raise PerturboError(
            f"planner 'agent' needs the LLM agents (perturbo.agents), not available in this "
            f"install ({e}): use --planner bo"
        ) from None
    task = str(r.extra.get("task") or f"{r.direction}imise {r.objective}")
    return make_space_planner(
        r.space,
        r.kind,
        {**dict(r.config), "seed": r.seed},
        str(r.objectives[0]),
        str(r.directions[0]),
        task=task,
        llm=r.llm,
        engine=r.engine,
    )


__all__ = ["PlannerRequest", "make_planner", "planner_help", "planner_names", "register"]
