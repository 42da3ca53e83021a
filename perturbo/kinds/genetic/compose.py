"""The genetic kind's composition: ``build(config, context)`` turns a plain config dict (from flags, a TOML file, or the config logged to
MLflow on resume) into :class:`~perturbo.parts.CampaignParts`. Heavy modules (the screen's
numpy data, BoTorch, LangChain) are imported inside the functions, so ``--help`` is fast.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from perturbo.kinds.genetic.experiment import GenePool
from perturbo.kinds.genetic.settings import GeneticConfig
from perturbo.kindspec import BuildContext
from perturbo.search.registry import PlannerRequest, register
from perturbo.types import PerturboError

if TYPE_CHECKING:
    from perturbo.kinds.genetic.screens import Screen
    from perturbo.parts import CampaignParts
    from perturbo.protocols import Planner, StoreReader

KIND_NAME = "genetic"
Labels = Sequence[Mapping[str, bool]]
"""Earlier campaigns' gene -> hit, one mapping per campaign (the transfer prior's sources)."""


def make_planner(
    name: str,
    screen: Screen,
    config: Mapping[str, Any],
    extra_labels: Labels = (),
    engine: Any = None,
) -> Planner:
    """The planner ``name`` for ``screen``, from the one planner registry
    (:mod:`perturbo.search.registry`, where this module registers the gene-pool planners).
    ``extra_labels``: earlier campaigns' gene -> hit. ``engine``: the campaign's shared local
    model (a ModelHost client) for agent/hybrid."""
    from perturbo.search.registry import make_planner as registry_planner

    return registry_planner(
        name,
        GenePool(screen.genes),
        kind=KIND_NAME,
        seed=int(config.get("seed", 0)),
        objectives=("hit",),
        directions=("max",),
        config=dict(config),
        engine=engine,
        extra={"screen": screen, "labels": tuple(extra_labels)},
    )


@register(GenePool, "bo", help="GP over gene-set features with knowledge priors")
def _gene_bo(r: PlannerRequest) -> Planner:
    try:
        from perturbo.search.gene_bo import GeneBOPlanner
    except ImportError as e:
        raise PerturboError(
            f"planner 'bo' is not available in this install ({e}): reinstall perturbo "
            "(`make install`) or use --planner random"
        ) from None
    return GeneBOPlanner(
        r.extra["screen"],
        seed=r.seed,
        acquisition=str(r.config.get("acquisition", "greedy")),
        prior=str(r.config.get("prior", "transfer+text")),
        extra_labels=tuple(r.extra.get("labels", ())),
    )


def _gene_agent(name: str) -> Callable[[PlannerRequest], Planner]:
    def factory(r: PlannerRequest) -> Planner:
        try:
            from perturbo.agents.genetic import make_genetic_planner
        except ImportError as e:
            raise PerturboError(
                f"planner {name!r} needs the LLM agents (perturbo.agents.genetic), which are "
                f"not available in this install ({e}): use --planner bo or --planner random"
            ) from None
        from perturbo.config import llm_api_key

        return make_genetic_planner(
            name,
            r.extra["screen"],
            {**dict(r.config), "seed": r.seed},
            extra_labels=tuple(r.extra.get("labels", ())),
            engine=r.engine,
            api_key=llm_api_key(str(r.config.get("llm", "local"))),
        )

    return factory


register(GenePool, "agent", help="LLM agent over gene-set hypotheses")(_gene_agent("agent"))
register(GenePool, "hybrid", help="LLM agent + bo")(_gene_agent("hybrid"))


def earlier_labels(
    store: StoreReader | None, screen: Screen, campaign: str
) -> list[dict[str, bool]]:
    """Gene -> hit of every earlier genetic campaign in ``store`` ("learn from what this lab
    already measured"), one dict per campaign; campaigns on this screen or its study (the
    screen being run and its siblings) and this campaign itself are left out."""
    if store is None:
        return []
    skip_screens = {screen.name.upper()}
    skip_studies = {screen.study.upper()} if screen.study else set()
    out: list[dict[str, bool]] = []
    for summary, hist in store.earlier(KIND_NAME, exclude=[campaign]):
        tags = summary.tags
        if tags.get("perturbo.screen", summary.params.get("screen", "")).upper() in skip_screens:
            continue
        if tags.get("perturbo.study", summary.params.get("study", "")).upper() in skip_studies:
            continue
        labels = {
            str(o.spec.params.get("gene")): o.outcome.value("hit") > 0.5
            for o in hist
            if o.outcome.ok and "gene" in o.spec.params
        }
        if labels:
            out.append(labels)
    return out


def _uses_transfer(cfg: GeneticConfig) -> bool:
    return cfg.learn_from_past and cfg.planner in ("bo", "hybrid") and "transfer" in cfg.prior


def build(config: Mapping[str, Any], context: BuildContext | None = None) -> CampaignParts:
    """The parts of one genetic campaign. ``context.store`` (the campaign store's read side)
    feeds the transfer prior of ``bo``/``hybrid`` with earlier campaigns' labels;
    ``context.engine`` is the shared local model for ``agent``/``hybrid`` (``None``: loaded in
    this process)."""
    from perturbo.campaign import StopRule
    from perturbo.config import build_model
    from perturbo.kinds.genetic.experiment import GeneticExecutor, GeneticMetrics, load_screen
    from perturbo.parts import CampaignParts

    context = context or BuildContext()

    cfg = (
        config
        if isinstance(config, GeneticConfig)
        else build_model(GeneticConfig, {}, config, "config")
    )
    screen = load_screen(cfg.screen, cfg.hits, cfg.task)
    space = GenePool(screen.genes)
    if cfg.batch > len(space):
        raise PerturboError(
            f"--batch {cfg.batch} is larger than the {len(space)} genes of screen {screen.name}: "
            f"use --batch {len(space)} or less"
        )
    labels: Labels = (
        earlier_labels(context.store, screen, context.campaign) if _uses_transfer(cfg) else ()
    )
    planner = make_planner(
        cfg.planner, screen, cfg.model_dump(), extra_labels=labels, engine=context.engine
    )
    params = {
        "planner": cfg.planner,
        "seed": cfg.seed,
        "batch": cfg.batch,
        "rounds": cfg.rounds,
        "screen": screen.name,
        "study": screen.study,
    }
    if cfg.planner in ("bo", "hybrid"):
        params.update(acquisition=cfg.acquisition, prior=cfg.prior, past_campaigns=len(labels))
    if cfg.planner in ("agent", "hybrid"):
        params.update(llm=cfg.llm, llm_model=cfg.llm_model or "default", critic=cfg.critic)
    return CampaignParts(
        kind=KIND_NAME,
        planner=planner,
        space=space,
        executor_factory=functools.partial(GeneticExecutor, screen),
        batch=cfg.batch,
        stop=StopRule(rounds=cfg.rounds),
        config=cfg.model_dump(),
        params=params,
        metrics=GeneticMetrics(screen),
        objective="hit",
        direction="max",
        tags={"screen": screen.name, "study": screen.study},
    )
