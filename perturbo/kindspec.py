"""What a kind hands the core: one :class:`KindSpec` per experiment kind.

The core (the CLI, the API, the tracking store, plots and progress) asks a kind's spec for
everything kind-specific and never branches on a kind's name. A kind is a package that
exposes ``KIND = KindSpec(...)``; it is found through :mod:`perturbo.kinds` (the built-in
registry line, or the ``perturbo.kinds`` entry-point group for third-party packages).

    KIND = KindSpec(
        name="toy",
        description="guess a number",
        config_model=ToyConfig,           # pydantic; its `kind` field is Literal["toy"]
        add_arguments=add_arguments,      # argparse flags, defaults SUPPRESSed
        build=build,                      # (config, BuildContext) -> CampaignParts
        default_name=lambda c: f"toy-s{c.get('seed', 0)}",
    )
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from pydantic import BaseModel

    from perturbo.findings import Findings
    from perturbo.parts import CampaignParts
    from perturbo.plots import Plotter
    from perturbo.protocols import StoreReader
    from perturbo.search.registry import PlannerTable
    from perturbo.types import CampaignSummary, Observation

Nesting = Literal["round", "trial", "both"]
"""MLflow layout under a campaign's parent run: one nested run per round (a genetic round of
128 genes is read as a table), per trial (a trial is what people compare), or both."""


@dataclass(frozen=True)
class BuildContext:
    """What the composition root gives a kind's ``build`` beside the config.

    ``store``: the campaign store's read side (earlier campaigns, for priors that learn from
    what this lab already measured); ``None`` where there is no store (a bare Python run).
    ``campaign``: this campaign's name (exclude it when reading earlier ones).
    ``engine``: the campaign's shared local LLM (a ModelHost client) where
    :attr:`KindSpec.uses_local_llm` said so; ``None`` otherwise (agents load their own).
    """

    store: StoreReader | None = None
    campaign: str = ""
    engine: Any = None


def _never(config: Mapping[str, Any]) -> bool:
    return False


@dataclass(frozen=True)
class KindSpec:
    """Everything the core asks of a kind.

    - ``name``: the CLI word (``perturbo run NAME``) and the ``kind`` stored in every record.
    - ``config_model``: a pydantic model (``extra="forbid"``) of what a campaign *is*; logged
      as the campaign's config, so ``perturbo resume`` rebuilds from it.
    - ``add_arguments(parser)``: the kind's flags (defaults ``argparse.SUPPRESS`` so a TOML
      file can set them).
    - ``build(config, context) -> CampaignParts``: the campaign, assembled.
    - ``default_name(config)``: the campaign name without its time stamp.
    - ``headline``: metric keys the progress display and ``perturbo show`` print first.
    - ``subject``: the param shown as the campaign's subject (screen, task, model).
    - ``plotters``: logged as PNGs at the end of a campaign.
    - ``nesting``: MLflow nested runs per round or per trial.
    - ``schedule``: ``"sync"`` rounds (a wet-lab batch) or ``"async"`` (refill a worker as soon
      as it frees: kinds whose experiments vary in duration); ``--schedule`` overrides it.
    - ``uses_local_llm(config)``: host the embedded LLM once in a Ray actor for this campaign.
    - ``budget_keys``: config keys ``perturbo resume --rounds/--trials`` may extend.
    - ``tag_params``: params that become MLflow experiment tags (``perturbo.<key>``), so the
      store can be searched by them (earlier campaigns on the same screen...).
    - ``examples``: lines for ``perturbo run NAME --help``.
    - ``findings``: what the kind's experiments find (a screen's hits), where they find things:
      the headline becomes "N of M hits found (x%) in K experiments", ``perturbo show --hits``
      lists them and the parent run gets their CSV (:mod:`perturbo.findings`). ``None``: the
      kind is summarised by its ``headline`` metrics.
    """

    name: str
    description: str
    config_model: type[BaseModel]
    add_arguments: Callable[[argparse.ArgumentParser], None]
    build: Callable[[Mapping[str, Any], BuildContext], CampaignParts]
    default_name: Callable[[Mapping[str, Any]], str]
    headline: tuple[str, ...] = ()
    subject: str = ""
    plotters: Sequence[Plotter] = ()
    nesting: Nesting = "trial"
    schedule: Literal["sync", "async"] = "sync"
    uses_local_llm: Callable[[Mapping[str, Any]], bool] = _never
    budget_keys: tuple[str, ...] = ()
    tag_params: tuple[str, ...] = ()
    internal_params: tuple[str, ...] = ()
    """Params the kind's planners set for their own bookkeeping (an attack trial's sample
    mask): recorded with each experiment, never shown to a person as part of a config."""
    shown_best: (
        Callable[[CampaignSummary, Callable[[], Sequence[Observation]]], Sequence[str] | None]
        | None
    ) = None
    """What ``perturbo show`` prints in place of its best experiment ("best <objective> =
    ...: experiment ID" and its config) where a per-trial best would mislead: given the
    campaign's summary and a reader of its history (called only where needed), its lines, or
    ``None`` for the generic best. An attack cascade's trials each attack only the samples
    still standing, so the first trial is the "best" by construction; its result is the
    cascade's robust accuracy over all samples. ``None``: always the generic best."""
    examples: str = ""
    findings: Findings | None = None
    planners: Callable[[], PlannerTable] | None = None
    """The kind's planner table (the general planners plus its own), built on call so a spec stays
    light: the kind hands its planners to the registry here; nothing registers on import.
    ``None``: the general planners (:data:`perturbo.search.registry.GENERAL`)."""
    exports: Mapping[str, str] = field(default_factory=dict)
    """Names the kind adds to the top-level ``perturbo`` package (``"Campaign":
    "module:attribute"``), imported on first use."""
    extras: Mapping[str, Any] = field(default_factory=dict)
    """Optional, kind-defined hooks other parts of perturbo may look up by name (the chat's
    summariser, the Python API's sugar); the core never requires one."""

    def __post_init__(self) -> None:
        if not self.name or not self.name.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"kind name {self.name!r}: use letters, digits, '-' or '_'")


def shown_params(spec: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` without the kind's :attr:`KindSpec.internal_params` (``spec`` None: all)."""
    hidden = getattr(spec, "internal_params", ())
    return {k: v for k, v in params.items() if k not in hidden}


__all__ = ["BuildContext", "KindSpec", "Nesting", "shown_params"]
