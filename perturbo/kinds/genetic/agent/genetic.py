"""The genetic agent (``--planner agent``) and the hybrid planner (``--planner hybrid``).

Each round the planner summarises the campaign (hits, top and bottom scores), asks its tools
for hypotheses (gene sets enriched among the hits, and sets holding the genes ``bo`` rates
highest), and asks the LLM to *choose* 1-4 of them (ids from a numbered list) with one short
rationale (style ``"sets"``, the default: what a small local model does well). Genes are drawn from the chosen sets, ranked by
``bo``. A strong remote model may instead name genes directly (style ``"genes"``).

- ``agent``: the batch comes from the chosen sets; what they cannot fill comes from ``bo``'s
  ranking and is marked ``planner="fallback"``.
- ``hybrid``: ``bo`` ranks all genes; a share of the batch (``agent_share``) goes to ``bo``'s
  best-ranked genes inside the agent's chosen sets, the rest to ``bo``'s overall best.

Every answer is validated (unknown ids or genes, duplicates, already tested) and errors go
back to the model for at most ``max_repairs`` turns; whatever is still missing is filled by
the fallback and marked so — never silently. An optional critic reviews the choice and may
revise it. ``last_trace``/``traces`` hold each round's :class:`~perturbo.agents.trace.RoundTrace`;
the rationale travels in each spec's ``note`` (the campaign logs it with the round).

The conversations themselves are :mod:`~perturbo.kinds.genetic.agent.genetic_dialogue` (given a
frozen :class:`~perturbo.kinds.genetic.agent.genetic_dialogue.Dialogue`, not the planner); the
batch is filled by :mod:`~perturbo.kinds.genetic.agent.genetic_batch`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from perturbo.agents.trace import RoundTrace, trace_notes
from perturbo.kinds.genetic.agent.genetic_batch import fill_batch
from perturbo.kinds.genetic.agent.genetic_dialogue import Dialogue, ask_genes, ask_sets
from perturbo.kinds.genetic.agent.tools import _MODALITY, _TAIL, SYSTEM, Measured, _sentence
from perturbo.kinds.genetic.genesets import GeneKnowledge
from perturbo.kinds.genetic.screens import normalize_gene
from perturbo.protocols import Planner
from perturbo.types import ExperimentSpec, Observation, PerturboError, Status

__all__ = ["GeneticAgentPlanner"]

Style = Literal["sets", "genes"]


class GeneticAgentPlanner:
    """LLM planner over a screen's genes (Planner protocol). See the module docstring."""

    def __init__(
        self,
        genes: Sequence[str],
        task: str,
        llm: Any,
        *,
        knowledge: GeneKnowledge | None = None,
        ranker: Planner | None = None,
        hybrid: bool = False,
        style: Style = "sets",
        critic: bool = False,
        max_repairs: int = 2,
        n_hypotheses: int = 8,
        max_choices: int = 4,
        agent_share: float = 0.25,
        seed: int = 0,
        method: str = "function_calling",
        modality: str = "knockout",
        hit_tail: str = "both",
    ) -> None:
        if style not in ("sets", "genes"):
            raise PerturboError(f"agent style {style!r} is unknown: use 'sets' or 'genes'")
        self.name = "hybrid" if hybrid else "agent"
        self.genes = tuple(normalize_gene(g) for g in genes)
        self._known = frozenset(self.genes)
        self.task = task
        self.llm = llm
        self.knowledge = knowledge
        self.ranker = ranker
        self.hybrid = hybrid
        self.style = style
        self.critic = critic
        self.max_repairs = max_repairs
        self.n_hypotheses = n_hypotheses
        self.max_choices = max_choices
        self.agent_share = agent_share
        self.method = method
        mod, verb = _MODALITY.get(modality, _MODALITY["knockout"])
        self._system = SYSTEM.format(
            modality=mod, perturbing=verb, tail=_TAIL.get(hit_tail, ""), task=_sentence(task)
        )
        self._rng = np.random.default_rng(seed)
        self._dialogue = Dialogue(
            self.name,
            llm,
            self._system,
            self._known,
            knowledge,
            self._rng,
            method=method,
            max_repairs=max_repairs,
            n_hypotheses=n_hypotheses,
            max_choices=max_choices,
            critic=critic,
            hybrid=hybrid,
            agent_share=agent_share,
        )
        self._scores: dict[str, float] = {}
        self._hits: dict[str, bool] = {}
        self._rejected: set[str] = set()
        self._rounds: set[int] = set()
        self.traces: list[RoundTrace] = []

    # -- Planner protocol ------------------------------------------------------------------
    def tell(self, observations: Sequence[Observation]) -> None:
        for o in observations:
            gene = normalize_gene(str(o.spec.params.get("gene", "")))
            if o.outcome.status is Status.REJECTED:
                continue
            self._scores[gene] = o.outcome.value("score") if o.outcome.ok else float("nan")
            self._hits[gene] = o.outcome.value("hit") == 1.0
            if o.spec.round >= 0:
                self._rounds.add(o.spec.round)
        if self.ranker is not None:
            self.ranker.tell(observations)

    @property
    def last_trace(self) -> RoundTrace | None:
        return self.traces[-1] if self.traces else None

    def notes(self) -> dict[str, Any]:
        """The latest ask's trace, recorded with the round it proposed (``Noting``)."""
        return trace_notes(self.last_trace)

    def ask(self, n: int, pending: Sequence[ExperimentSpec]) -> list[ExperimentSpec]:
        t0 = time.perf_counter()
        pend = {normalize_gene(str(s.params.get("gene", ""))) for s in pending}
        exclude = set(self._scores) | pend
        if n <= 0 or len(exclude) >= len(self.genes):
            return []
        ranked = self._ranked(n, pending, exclude)
        measured = Measured(
            {g: s for g, s in self._scores.items() if np.isfinite(s)},
            dict(self._hits),
            len(self._rounds),
        )
        ask = ask_genes if self.style == "genes" else ask_sets
        picks, trace = ask(self._dialogue, n, exclude, measured, ranked)
        why = next((c.failure for c in trace.calls if c.failure), "")  # e.g. unreachable LLM
        specs = fill_batch(
            n,
            picks,
            exclude,
            ranked,
            why,
            genes=self.genes,
            known=self._known,
            hybrid=self.hybrid,
            agent_share=self.agent_share,
            rng=self._rng,
        )
        by: dict[str, int] = {}
        for s in specs:
            by[s.planner] = by.get(s.planner, 0) + 1
        trace = RoundTrace(
            planner=self.name,
            n_requested=n,
            calls=trace.calls,
            by_source=by,
            items_proposed=trace.items_proposed,
            items_valid=trace.items_valid,
            items_valid_first=trace.items_valid_first,
            items_proposed_first=trace.items_proposed_first,
            seconds=time.perf_counter() - t0,
            rationale=trace.rationale,
        )
        self.traces.append(trace)
        return specs

    # -- ranking ---------------------------------------------------------------
    def _ranked(self, n: int, pending: Sequence[ExperimentSpec], exclude: set[str]) -> list[str]:
        """Untested genes in the ranker's order (bo's best first); empty without a ranker."""
        if self.ranker is None:
            return []
        m = min(len(self.genes) - len(exclude), max(4 * n, 256))
        rank = getattr(self.ranker, "rank", None)
        if callable(rank):  # GeneBOPlanner.rank: bo's ordering without side effects
            genes = [g for g, _ in rank(m, exclude)]
        else:
            genes = [str(s.params.get("gene", "")) for s in self.ranker.ask(m, pending)]
        return [normalize_gene(g) for g in genes if normalize_gene(g) not in exclude]

    # -- public description ----------------------------------------------------------------
    def describe(self) -> dict[str, str | float | int | bool]:
        """This planner's settings for the campaign's params (flat values); with a ``bo``
        ranker, its description too (``prior_sources`` etc.; ``"[]"`` without one)."""
        out: dict[str, str | float | int | bool] = {"prior_sources": json.dumps([])}
        ranker_describe = getattr(self.ranker, "describe", None)
        if callable(ranker_describe):
            out.update(ranker_describe())
        out.update(
            planner=self.name,
            style=self.style,
            critic=self.critic,
            agent_share=self.agent_share,
            max_repairs=self.max_repairs,
            structured_method=self.method,
            ranker=getattr(self.ranker, "name", "none") if self.ranker is not None else "none",
        )
        return out
