"""One planner registry: a planner name -> its factory, for each kind of space.

An explicit table, no import side effects: :data:`GENERAL` lists the planners for general
spaces (``SearchSpace``; ``random`` for any space); a kind's spec hands its own entries
(``KindSpec.planners``, e.g. the genetic kind's gene-pool GP for ``GenePool``) and its
composition asks ``GENERAL.plus(*its_entries).make(...)`` instead of keeping if-chains.

    GENERAL.make("bo", space, kind="attack", seed=0, objectives=("robust_acc",),
                 directions=("min",))
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
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
    def deterministic(self) -> bool:
        """The campaign says its objective is noise-free (config ``deterministic``): ``bo``
        and ``optuna-gp`` then fit near-noise-free GPs (docs/findings/categorical-bo.md)."""
        return isinstance(self.config, Mapping) and bool(self.config.get("deterministic"))

    @property
    def direction(self) -> str | tuple[str, ...]:
        return self.directions[0] if len(self.directions) == 1 else self.directions


PlannerFactory = Callable[[PlannerRequest], "Planner"]


@dataclass(frozen=True)
class PlannerEntry:
    """Planner ``name`` for spaces of ``space_type`` (and its subclasses): its factory, whether
    it takes several objectives, and its ``--planner`` help text."""

    space_type: type
    name: str
    factory: PlannerFactory
    multi_objective: bool = False
    help: str = ""


class PlannerTable:
    """An explicit, immutable table of planners. :data:`GENERAL` holds the planners for general
    spaces; a kind adds its own with :meth:`plus` (its spec hands them over: nothing registers
    on import). Lookup walks the space's class hierarchy, the most specific entry winning, so
    ``random`` (for ``object``) serves every space."""

    def __init__(self, entries: Iterable[PlannerEntry] = ()) -> None:
        self._entries = tuple(entries)
        self._by_type: dict[type, dict[str, PlannerEntry]] = {}
        for e in self._entries:
            self._by_type.setdefault(e.space_type, {})[e.name] = e

    def plus(self, *entries: PlannerEntry) -> PlannerTable:
        """This table with ``entries`` added (a later entry replaces one of the same type and name)."""
        return PlannerTable((*self._entries, *entries))

    @property
    def entries(self) -> tuple[PlannerEntry, ...]:
        return self._entries

    def for_space(self, space_type: type) -> dict[str, PlannerEntry]:
        out: dict[str, PlannerEntry] = {}
        for cls in reversed(space_type.__mro__):  # the most specific entry wins
            out.update(self._by_type.get(cls, {}))
        return out

    def names(self, space_type: type, multi_objective: bool = False) -> tuple[str, ...]:
        """Planner names for ``space_type`` (only those taking several objectives, if asked)."""
        return tuple(
            n
            for n, e in self.for_space(space_type).items()
            if e.multi_objective or not multi_objective
        )

    def help(self, space_type: type) -> str:
        """``name (what it is), ...`` for a ``--planner`` help text."""
        return ", ".join(
            f"{n} ({e.help})" if e.help else n for n, e in self.for_space(space_type).items()
        )

    def make(self, name: str, space: Any, **request: Any) -> Planner:
        """Planner ``name`` for ``space`` (see :class:`PlannerRequest` for the keywords)."""
        entries = self.for_space(type(space))
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


def _random(r: PlannerRequest) -> Planner:
    from perturbo.search.random import RandomPlanner

    return RandomPlanner(r.space, r.kind, seed=r.seed)


def _bo(r: PlannerRequest) -> Planner:
    from perturbo.search.bo import BOPlanner

    return BOPlanner(
        r.space,
        r.kind,
        r.seed,
        objective=r.objective,
        direction=r.direction,
        noise="low" if r.deterministic else "botorch",
        # a campaign's objective thresholds (--ref-point), else BoTorch's inferred point
        ref_point=(r.config.get("ref_point") if isinstance(r.config, Mapping) else None) or "auto",
        # --mo-acquisition: qLogNEHVI (default) or qLogNParEGO (search/bo_multi.py)
        mo_acq=(r.config.get("mo_acquisition") if isinstance(r.config, Mapping) else None)
        or "nehvi",
    )


def _sobol(r: PlannerRequest) -> Planner:
    from perturbo.search.sobol import SobolPlanner

    return SobolPlanner(r.space, r.kind, r.seed)


def _evolution(r: PlannerRequest) -> Planner:
    from perturbo.search.evolution import EvolutionPlanner

    return EvolutionPlanner(r.space, r.kind, r.seed, objective=r.objective, direction=r.direction)


def _mf_bo(r: PlannerRequest) -> Planner:
    from perturbo.search.fidelity import find_fidelity, warn_no_fidelity
    from perturbo.search.mf_bo import MFBOPlanner

    fidelity = r.config.get("fidelity") if isinstance(r.config, Mapping) else None
    if find_fidelity(r.space, fidelity) is None:  # nothing to trade: bo, under this name
        warn_no_fidelity()
        planner = _bo(r)
        planner.name = planner._sobol.name = "mf-bo"  # type: ignore[attr-defined]
        return planner
    return MFBOPlanner(
        r.space, r.kind, r.seed, objective=r.objective, direction=r.direction, fidelity=fidelity
    )


def _optuna(sampler: str) -> PlannerFactory:
    def factory(r: PlannerRequest) -> Planner:
        from perturbo.search.optuna_planner import OptunaPlanner

        return OptunaPlanner(
            r.space,
            r.kind,
            r.seed,
            objective=r.objective,
            direction=r.direction,
            sampler=sampler,
            deterministic=r.deterministic,
        )

    return factory


GENERAL = PlannerTable(
    (
        PlannerEntry(object, "random", _random, True, "seeded uniform baseline"),
        PlannerEntry(
            SearchSpace, "bo", _bo, True, "BoTorch batch BO; qLogNEHVI for several objectives"
        ),
        PlannerEntry(SearchSpace, "sobol", _sobol, True, "scrambled Sobol points"),
        PlannerEntry(SearchSpace, "evolution", _evolution, False, "differential evolution"),
        PlannerEntry(
            SearchSpace,
            "mf-bo",
            _mf_bo,
            False,
            "multi-fidelity BO: (config, epochs) pairs by cost-aware knowledge gradient; "
            "bo where the space has no epochs/fidelity param",
        ),
        *(
            PlannerEntry(SearchSpace, name, _optuna(sampler), multi, help)
            for name, sampler, multi, help in (
                ("optuna", "tpe", True, "Optuna TPE"),
                ("optuna-tpe", "tpe", True, "Optuna TPE"),
                ("optuna-gp", "gp", True, "Optuna GPSampler"),
                ("optuna-cmaes", "cmaes", False, "Optuna CMA-ES"),
                ("optuna-nsga2", "nsga2", True, "Optuna NSGA-II"),
            )
        ),
    )
)
"""The planners for general spaces. The LLM agent for general spaces is not here (search
does not import the agents): the kinds that offer it add
:data:`perturbo.agents.planner_entries.SPACE_AGENT`."""


def planner_names(
    space_type: type, multi_objective: bool = False, table: PlannerTable = GENERAL
) -> tuple[str, ...]:
    """``table.names(...)``: planner names for ``space_type`` (:data:`GENERAL` by default)."""
    return table.names(space_type, multi_objective)


def planner_help(space_type: type, table: PlannerTable = GENERAL) -> str:
    return table.help(space_type)


def make_planner(name: str, space: Any, table: PlannerTable = GENERAL, **request: Any) -> Planner:
    """``table.make(...)`` (:data:`GENERAL` by default)."""
    return table.make(name, space, **request)


__all__ = [
    "GENERAL",
    "PlannerEntry",
    "PlannerFactory",
    "PlannerRequest",
    "PlannerTable",
    "make_planner",
    "planner_help",
    "planner_names",
]
