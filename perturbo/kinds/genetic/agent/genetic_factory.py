"""Builds the genetic agent / hybrid planner (:class:`~perturbo.kinds.genetic.agent.genetic.GeneticAgentPlanner`)
from a campaign config: its LLM, its gene knowledge, and the ``bo`` ranker it draws genes by."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from perturbo.kinds.genetic.agent.genetic import GeneticAgentPlanner
from perturbo.kinds.genetic.settings import DEFAULTS
from perturbo.protocols import Planner

__all__ = ["make_genetic_planner"]


def make_genetic_planner(
    name: str,
    screen: Any,
    config: Mapping[str, Any],
    extra_labels: Sequence[Any] = (),
    *,
    sources: Sequence[Any] | None = None,
    llm: Any = None,
    engine: Any = None,
    api_key: str | None = None,
) -> GeneticAgentPlanner:
    """The ``agent``/``hybrid`` planner for ``screen`` from a campaign config.

    Config keys (all optional): ``llm`` (local|openai|anthropic|ollama), ``llm_model``,
    ``llm_base_url``, ``llm_threads``, ``llm_max_tokens``, ``critic`` (bool), ``agent_style``
    (sets|genes), ``agent_share`` (hybrid), ``max_repairs``, plus bo's ``seed``,
    ``acquisition``, ``prior``, ``target``. ``screen``: a label-free ``ScreenView`` (a labelled screen is
    reduced to its view); ``sources``: content-checked transfer sources. ``api_key`` comes from :mod:`perturbo.config` (never from the
    config dict, which is logged); ``engine``: a ModelHost client shared by the campaign.
    """
    from perturbo.agents.llm import llm_settings, make_chat_model
    from perturbo.kinds.genetic.genesets import knowledge_for

    seed = int(config.get("seed", DEFAULTS["seed"]))
    screen = screen.view() if hasattr(screen, "view") else screen  # planners never hold labels
    know = knowledge_for(tuple(screen.genes))
    if llm is None:
        llm = make_chat_model(llm_settings(config, api_key), engine=engine)
    ranker: Planner | None
    try:
        from perturbo.kinds.genetic.planners.gene_bo import GeneBOPlanner

        ranker = GeneBOPlanner(
            screen,
            seed=seed,
            knowledge=know,
            acquisition=str(config.get("acquisition", DEFAULTS["acquisition"])),
            prior=str(config.get("prior", DEFAULTS["prior"])),
            extra_labels=tuple(extra_labels),
            sources=None if sources is None else tuple(sources),
            target=str(config.get("target", DEFAULTS["target"])),
        )
    except ImportError:  # bo missing from this install: genes drawn from the sets in random order
        ranker = None
    return GeneticAgentPlanner(
        screen.genes,
        getattr(screen, "description", "") or screen.task,
        llm,
        knowledge=know,
        ranker=ranker,
        hybrid=(name == "hybrid"),
        style=str(config.get("agent_style", DEFAULTS["agent_style"])),  # type: ignore[arg-type]
        critic=str(config.get("critic", DEFAULTS["critic"])).strip().lower()
        in ("true", "1", "yes"),
        max_repairs=int(config.get("max_repairs", DEFAULTS["max_repairs"])),
        agent_share=float(config.get("agent_share", DEFAULTS["agent_share"])),
        seed=seed,
        method=str(config.get("llm_structured_method") or DEFAULTS["llm_structured_method"]),
        modality=str(getattr(screen, "modality", "knockout")),
        hit_tail=str(getattr(screen, "hit_tail", "both")),
    )
