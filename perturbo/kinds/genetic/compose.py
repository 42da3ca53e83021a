"""The genetic kind's composition: ``build(config, context)`` turns a plain config dict (from flags, a TOML file, or the config logged to
MLflow on resume) into :class:`~perturbo.parts.CampaignParts`. Heavy modules (the screen's
numpy data, BoTorch, LangChain) are imported inside the functions, so ``--help`` is fast.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from perturbo.kinds.genetic.experiment import GenePool
from perturbo.kinds.genetic.pairs import PairPool
from perturbo.kinds.genetic.settings import DEFAULTS, GeneticConfig
from perturbo.kindspec import BuildContext
from perturbo.search.registry import GENERAL, PlannerEntry, PlannerRequest, PlannerTable
from perturbo.types import PerturboError

if TYPE_CHECKING:
    from perturbo.kinds.genetic.planners.gene_priors import LabelSource
    from perturbo.kinds.genetic.screens import Screen
    from perturbo.parts import CampaignParts
    from perturbo.protocols import Planner, StoreReader

__all__ = [
    "KIND_NAME",
    "PLANNERS",
    "TABLE",
    "build",
    "earlier_labels",
    "make_planner",
    "transfer_sources",
]

KIND_NAME = "genetic"
FIRST_ROUND = DEFAULTS["first_round"]
"""bo's round 1 unless the config says otherwise: half by the prior, half uniform (a prior
untested on this screen can mislead: the text prior alone cost IL2 half its hits; see
docs/findings/genetic-equal-information.md)."""
Labels = Sequence[Any]
"""Earlier campaigns' labels: :class:`LabelSource` (one per screen) or gene -> hit mappings."""


def transfer_sources(
    screen: Screen, extra_labels: Labels = (), left_out: list[str] | None = None
) -> list[LabelSource]:
    """The transfer prior's sources for ``screen``, checked against its *content* (this side
    holds the labelled screen; planners only ever get the surviving sources and the view).
    ``left_out`` collects the sources dropped for sharing too few genes with it."""
    from perturbo.kinds.genetic.planners.gene_priors import training_sources

    return training_sources(screen, extra_labels, left_out)


def make_planner(
    name: str,
    screen: Screen,
    config: Mapping[str, Any],
    extra_labels: Labels = (),
    engine: Any = None,
    left_out: list[str] | None = None,
) -> Planner:
    """The planner ``name`` for ``screen``, from this kind's planner table (:data:`TABLE`).
    ``extra_labels``: earlier campaigns' labels. ``engine``: the campaign's shared local
    model (a ModelHost client) for agent/hybrid. The planner gets ``screen.view()`` (no labels)
    and the transfer sources that survive the content check; ``left_out`` collects the
    sources dropped for sharing too few genes with the screen (named in round 1's note)."""
    prior = str(config.get("prior", DEFAULTS["prior"]))
    dropped: list[str] = [] if left_out is None else left_out
    sources = (
        transfer_sources(screen, extra_labels, dropped)
        if name in ("bo", "hybrid", "agent") and "transfer" in prior
        else []
    )
    return TABLE.make(
        name,
        GenePool(screen.genes, screen.spelling),
        kind=KIND_NAME,
        seed=int(config.get("seed", DEFAULTS["seed"])),
        objectives=("hit",),
        directions=("max",),
        config=dict(config),
        engine=engine,
        extra={"screen": screen.view(), "sources": tuple(sources), "left_out": tuple(dropped)},
    )


def _gene_bo(r: PlannerRequest) -> Planner:
    try:
        from perturbo.kinds.genetic.planners.gene_bo import GeneBOPlanner
    except ImportError as e:
        raise PerturboError(
            f"planner 'bo' is not available in this install ({e}): reinstall perturbo "
            "(`make install`) or use --planner random"
        ) from None
    return GeneBOPlanner(
        r.extra["screen"],
        seed=r.seed,
        acquisition=str(r.config.get("acquisition", DEFAULTS["acquisition"])),
        prior=str(r.config.get("prior", DEFAULTS["prior"])),
        sources=tuple(r.extra.get("sources", ())),
        liar=_flag(r.config.get("liar", False)),
        degree=_flag(r.config.get("degree", False)),
        hedge=_flag(r.config.get("hedge", False))
        or r.config.get("first_round", FIRST_ROUND) == "hedge",
        explore_first=_flag(r.config.get("explore_first", False)),
        text_rerank=_text_reranker(r),
        target=str(r.config.get("target", DEFAULTS["target"])),
        left_out=tuple(r.extra.get("left_out", ())),
    )


def _text_reranker(r: PlannerRequest) -> Any:
    """The LLM that reranks the text prior's top gene sets (``text_rerank="llm"``), on the
    campaign's ``--llm*`` backend (the embedded model by default), or ``None``."""
    mode = str(r.config.get("text_rerank", DEFAULTS["text_rerank"]))
    if mode == "none" or "text" not in str(r.config.get("prior", DEFAULTS["prior"])):
        return None
    if mode != "llm":
        raise PerturboError(f"--text-rerank {mode!r} is unknown: use none or llm")
    try:
        from perturbo.agents.llm import llm_settings
        from perturbo.kinds.genetic.agent.gene_rerank import LLMSetReranker
    except ImportError as e:
        raise PerturboError(
            f"--text-rerank llm needs the LLM agents (perturbo.agents), which are not available "
            f"in this install ({e}): reinstall perturbo or drop --text-rerank"
        ) from None
    from perturbo.config import llm_api_key

    settings = llm_settings(r.config, llm_api_key(str(r.config.get("llm", DEFAULTS["llm"]))))
    modality = getattr(r.extra["screen"], "modality", "knockout")
    return LLMSetReranker(settings, engine=r.engine, modality=modality)


def _flag(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes")


def _pair_bo(r: PlannerRequest) -> Planner:
    from perturbo.kinds.genetic.planners.gene_pairs import PairBOPlanner

    return PairBOPlanner(r.extra["screen"], seed=r.seed)


def _gene_agent(name: str) -> Callable[[PlannerRequest], Planner]:
    def factory(r: PlannerRequest) -> Planner:
        try:
            from perturbo.kinds.genetic.agent.genetic_factory import make_genetic_planner
        except ImportError as e:
            raise PerturboError(
                f"planner {name!r} needs the LLM agents (perturbo.kinds.genetic.agent.genetic), which are "
                f"not available in this install ({e}): use --planner bo or --planner random"
            ) from None
        from perturbo.config import llm_api_key

        return make_genetic_planner(
            name,
            r.extra["screen"],
            {**dict(r.config), "seed": r.seed},
            sources=tuple(r.extra.get("sources", ())),
            llm=r.llm,
            engine=r.engine,
            api_key=llm_api_key(str(r.config.get("llm", DEFAULTS["llm"]))),
        )

    return factory


PLANNERS: tuple[PlannerEntry, ...] = (
    PlannerEntry(GenePool, "bo", _gene_bo, help="GP over gene-set features with knowledge priors"),
    PlannerEntry(
        PairPool, "bo", _pair_bo, help="GP over gene pairs (kernel built from the gene kernel)"
    ),
    PlannerEntry(
        GenePool, "agent", _gene_agent("agent"), help="LLM agent over gene-set hypotheses"
    ),
    PlannerEntry(GenePool, "hybrid", _gene_agent("hybrid"), help="LLM agent + bo"),
)
"""The genetic kind's own planners, handed to the planner table by its spec
(:data:`TABLE`; nothing registers on import)."""

TABLE: PlannerTable = GENERAL.plus(*PLANNERS)
"""The planners a genetic campaign can use: the general ones (``random`` serves any space)
and :data:`PLANNERS`."""


def screen_params(cfg: GeneticConfig, screen: Screen) -> dict[str, Any]:
    """The params every genetic campaign logs: its planner, budget and the screen's identity."""
    return {
        "planner": cfg.planner,
        "seed": cfg.seed,
        "batch": cfg.batch,
        "rounds": cfg.rounds,
        "screen": screen.name,
        "study": screen.study,
        "modality": screen.modality,
        "hit_tail": screen.hit_tail,
    }


def earlier_labels(store: StoreReader | None, screen: Screen, campaign: str) -> list[LabelSource]:
    """Labels of every earlier genetic campaign in ``store`` ("learn from what this lab already
    measured"), one :class:`LabelSource` per *screen* (repeated campaigns on one screen count
    once: their labels are merged, first result wins), with scores for the content check.
    Campaigns on this screen's name or study, and this campaign itself, are left out here;
    :func:`transfer_sources` then drops any whose content is this screen's."""
    from perturbo.kinds.genetic.planners.gene_priors import LabelSource

    if store is None:
        return []
    skip_screens = {screen.name.upper()}
    skip_studies = {screen.study.upper()} if screen.study else set()
    merged: dict[str, tuple[str, dict[str, bool], dict[str, float], int]] = {}
    for summary, hist in store.earlier(KIND_NAME, exclude=[campaign]):
        tags = summary.tags
        name = str(tags.get("perturbo.screen", summary.params.get("screen", "")))
        study = str(tags.get("perturbo.study", summary.params.get("study", ""))) or name
        if name.upper() in skip_screens or study.upper() in skip_studies:
            continue
        _, labels, scores, count = merged.setdefault(name.upper(), (study, {}, {}, 0))
        for o in hist:
            if o.outcome.ok and "gene" in o.spec.params:
                g = str(o.spec.params["gene"]).strip().upper()
                labels.setdefault(g, o.outcome.value("hit") > 0.5)
                score = o.outcome.value("score")
                if score == score:  # not NaN
                    scores.setdefault(g, score)
        merged[name.upper()] = (study, labels, scores, count + 1)
    return [
        LabelSource(f"campaigns:{key} (x{count})", study, labels, scores)
        for key, (study, labels, scores, count) in merged.items()
        if labels
    ]


def _check_rerank(cfg: GeneticConfig) -> None:
    if cfg.text_rerank == "none":
        return
    if cfg.planner != "bo":
        raise PerturboError(
            f"--text-rerank {cfg.text_rerank} reranks bo's text prior: use it with --planner bo "
            f"(not {cfg.planner}), or drop it"
        )
    if "text" not in cfg.prior:
        raise PerturboError(
            f"--text-rerank {cfg.text_rerank} reranks the text prior, which --prior {cfg.prior} "
            "does not use: add --prior text (or transfer+text), or drop --text-rerank"
        )


def _uses_transfer(cfg: GeneticConfig) -> bool:
    return cfg.learn_from_past and cfg.planner in ("bo", "hybrid") and "transfer" in cfg.prior


def build(config: Mapping[str, Any], context: BuildContext | None = None) -> CampaignParts:
    """The parts of one genetic campaign. ``context.store`` (the campaign store's read side)
    feeds the transfer prior of ``bo``/``hybrid`` with earlier campaigns' labels;
    ``context.engine`` is the shared local model for ``agent``/``hybrid`` (``None``: loaded in
    this process)."""
    from perturbo.config import build_model
    from perturbo.kinds.genetic.experiment import GeneticExecutor, load_screen

    context = context or BuildContext()

    cfg = (
        config
        if isinstance(config, GeneticConfig)
        else build_model(GeneticConfig, {}, config, "config")
    )
    from perturbo.kinds.genetic.pairs import is_pair_csv

    if cfg.lab:  # the experiments run in a lab (perturbo.lab drives the rounds)
        from perturbo.kinds.genetic.lab.outside import build_lab

        return build_lab(cfg, context)
    from perturbo.kinds.genetic import checks

    checks.refuse_lab_only(cfg, context)
    cfg = checks.record_files(cfg)  # a resume refuses a screen or hits file changed since
    if is_pair_csv(cfg.screen):
        return _build_pairs(cfg)
    _check_rerank(cfg)
    screen = load_screen(cfg.screen, cfg.hits, cfg.task, cfg.modality, cfg.hit_tail)
    checks.say(f"{checks.hits_line(screen, cfg)}; building the {cfg.planner} planner ...")
    space = GenePool(screen.genes, screen.spelling)
    if cfg.batch > len(space):
        raise PerturboError(
            f"--batch {cfg.batch} is larger than the {len(space)} genes of screen {screen.name}: "
            f"use --batch {len(space)} or less"
        )
    labels: Labels = (
        earlier_labels(context.store, screen, context.campaign) if _uses_transfer(cfg) else ()
    )
    left_out: list[str] = []
    planner = make_planner(
        cfg.planner,
        screen,
        cfg.model_dump(),
        extra_labels=labels,
        engine=context.engine,
        left_out=left_out,
    )
    params = screen_params(cfg, screen)
    if cfg.planner in ("bo", "hybrid"):
        params.update(
            acquisition=cfg.acquisition,
            prior=cfg.prior,
            first_round=cfg.first_round,
            target=cfg.target,
            past_campaigns=len(labels),
        )
        from perturbo.protocols import describe_planner

        described = describe_planner(planner)  # its public description, not its internals
        # the prior's components and their round-1 weights, as JSON ("[]": no prior); the
        # per-round weights travel in each round's spec notes ("prior weights ...")
        params["prior_sources"] = str(described.get("prior_sources", "[]"))
        if left_out:  # transfer sources sharing too few genes with this screen
            params["prior_left_out"] = "; ".join(left_out)
        if described.get("coverage_warning"):  # kept on the run, for `show` and MLflow
            params["coverage_warning"] = str(described["coverage_warning"])
        if cfg.text_rerank != "none":  # what the LLM rerank of the text prior did, as JSON
            params["text_rerank"] = str(described.get("text_rerank", '{"status": "not run"}'))
    if cfg.planner in ("agent", "hybrid"):
        params.update(llm=cfg.llm, llm_model=cfg.llm_model or "default", critic=cfg.critic)
    return _parts(cfg, screen, planner, space, functools.partial(GeneticExecutor, screen), params)


def _build_pairs(cfg: GeneticConfig) -> CampaignParts:
    """A gene-pair screen (``Gene_pairs,Score`` CSV): planners random or bo (pair GP)."""
    from perturbo.kinds.genetic.pairs import PairExecutor, load_pair_screen

    if cfg.planner not in ("random", "bo"):
        raise PerturboError(
            f"--planner {cfg.planner}: a gene-pair screen supports random or bo; use one of those"
        )
    screen = load_pair_screen(cfg.screen, cfg.hits, cfg.task or "", cfg.hit_tail or "both")
    space = PairPool(screen.pairs, screen.spelling)
    planner = TABLE.make(
        cfg.planner,
        space,
        kind=KIND_NAME,
        seed=cfg.seed,
        objectives=("hit",),
        directions=("max",),
        config=cfg.model_dump(),
        extra={"screen": screen.view()},
    )
    params = {
        "planner": cfg.planner,
        "seed": cfg.seed,
        "batch": cfg.batch,
        "rounds": cfg.rounds,
        "screen": screen.name,
        "study": screen.study,
        "pairs": len(screen),
    }
    return _parts(cfg, screen, planner, space, functools.partial(PairExecutor, screen), params)


def _parts(
    cfg: GeneticConfig,
    screen: Any,
    planner: Planner,
    space: Any,
    executor_factory: Callable[[], Any],
    params: Mapping[str, Any],
) -> CampaignParts:
    """The parts every genetic campaign shares (a gene or a gene-pair screen): rounds of
    ``batch``, the binary hit label as the objective, the screen's hit-ratio metrics."""
    from perturbo.campaign import StopRule
    from perturbo.kinds.genetic.experiment import GeneticMetrics
    from perturbo.parts import CampaignParts

    return CampaignParts(
        kind=KIND_NAME,
        planner=planner,
        space=space,
        executor_factory=executor_factory,
        batch=cfg.batch,
        stop=StopRule(rounds=cfg.rounds),
        config=cfg.model_dump(),
        # M of "N of M hits found"; the screen's size for the hit-ratio plot's random baseline
        params={**params, "screen_hits": len(screen.hits), "screen_genes": len(screen)},
        metrics=GeneticMetrics(screen),
        objective="hit",
        direction="max",
        tags={"screen": screen.name, "study": screen.study},
    )
