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
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel

from perturbo.agents.structured import LLMCall, ask_structured
from perturbo.agents.trace import RoundTrace
from perturbo.kinds.genetic.agent.genetic_batch import draw_from_sets, fill_batch
from perturbo.kinds.genetic.agent.tools import (
    _MODALITY,
    _TAIL,
    SYSTEM,
    GeneList,
    Hypothesis,
    Measured,
    _id_problems,
    _sentence,
    _set_schema,
    _Verdict,
    campaign_stats,
    candidate_hypotheses,
)
from perturbo.kinds.genetic.genesets import GeneKnowledge
from perturbo.kinds.genetic.screens import normalize_gene
from perturbo.protocols import Planner
from perturbo.types import ExperimentSpec, Observation, PerturboError, Status

__all__ = ["GeneticAgentPlanner"]

log = logging.getLogger(__name__)

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
        if self.style == "genes":
            picks, trace = self._ask_genes(n, exclude, measured, ranked)
        else:
            picks, trace = self._ask_sets(n, exclude, measured, ranked)
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

    # -- style "sets": choose among hypotheses -----------------------------------------------
    def _ask_sets(
        self, n: int, exclude: set[str], measured: Measured, ranked: list[str]
    ) -> tuple[list[tuple[str, str, str]], RoundTrace]:
        if self.knowledge is None:
            return [], RoundTrace(self.name, n, rationale="no gene-set knowledge: fallback only")
        hyps = candidate_hypotheses(
            self.knowledge,
            measured,
            exclude,
            favoured=ranked[: 2 * n],
            k=self.n_hypotheses,
            rng=self._rng,
        )
        if not hyps:
            return [], RoundTrace(
                self.name, n, rationale="no gene set left to propose: fallback only"
            )
        by_id = {h.id: h for h in hyps}
        k = min(self.max_choices, len(hyps))
        schema = _set_schema(list(by_id), k)
        stats = campaign_stats(measured).text()
        listing = "\n".join(h.line() for h in hyps)
        user = (
            f"{stats}\nGene sets (hits/tested, untested left, genes bo ranks high):\n{listing}\n"
            f"Choose 1 to {k} set ids whose untested genes most likely hold new hits. "
            'JSON: {"ids": [<id>, ...], "rationale": "<short sentence>"}'
        )
        first: list[int] = []

        def check(p: BaseModel) -> list[str]:
            ids = list(p.ids)  # type: ignore[attr-defined]
            if not first:
                first.extend(ids or [-1])
            return _id_problems(ids, by_id, k)

        answer, call = ask_structured(
            self.llm,
            self._system,
            user,
            schema,
            check,
            name=f"{self.name}.sets",
            max_repairs=self.max_repairs,
            method=self.method,
        )
        calls = [call]
        chosen: list[tuple[Hypothesis, str]] = []
        rationale = ""
        if answer is not None:
            rationale = answer.rationale  # type: ignore[attr-defined]
            for i in dict.fromkeys(answer.ids):  # type: ignore[attr-defined]
                if i in by_id and len(chosen) < k:
                    chosen.append((by_id[i], rationale))
        proposed = len(answer.ids) if answer is not None else 0  # type: ignore[attr-defined]
        if chosen and self.critic:
            chosen, critic_call = self._review(user, chosen, by_id, k)
            calls.append(critic_call)
        first_parsed = bool(call.parsed and call.parsed[0])
        first_valid = len({i for i in first if i in by_id}) if first_parsed else 0
        valid = len(chosen)
        first_n = len(first) if first_parsed else 1
        picks = draw_from_sets(
            n,
            chosen,
            exclude,
            ranked,
            hybrid=self.hybrid,
            agent_share=self.agent_share,
            rng=self._rng,
        )
        if not picks:
            why = (
                call.failure
                or "; ".join(call.errors[-1] if call.errors else ())
                or "no valid choice"
            )
            log.warning(
                "%s planner: the LLM gave no usable choice (%s); the batch is filled by the fallback",
                self.name,
                why,
            )
        return picks, RoundTrace(
            self.name,
            n,
            tuple(calls),
            items_proposed=max(proposed, 1),
            items_valid=valid,
            items_valid_first=first_valid,
            items_proposed_first=max(first_n, 1),
            rationale=rationale or (call.failure and f"LLM failed: {call.failure}") or "",
        )

    def _review(
        self,
        user: str,
        chosen: list[tuple[Hypothesis, str]],
        by_id: Mapping[int, Hypothesis],
        k: int,
    ) -> tuple[list[tuple[Hypothesis, str]], LLMCall]:
        """The critic: approve the choice, or replace it with better ids from the same list."""
        proposal = ", ".join(str(h.id) for h, _ in chosen)
        prompt = (
            f"{user}\n\nA colleague chose: {proposal}.\nReview the choice against the results. If it "
            "is good, answer approve=true. Otherwise approve=false and give better ids from the list. "
            'JSON: {"approve": true|false, "ids": [<numbers>], "comment": "<one sentence>"}'
        )

        def check(v: _Verdict) -> list[str]:
            return [] if v.approve else _id_problems(v.ids, by_id, k)

        verdict, call = ask_structured(
            self.llm,
            self._system,
            prompt,
            _Verdict,
            check,
            name=f"{self.name}.critic",
            max_repairs=1,
            method=self.method,
        )
        if verdict is None or verdict.approve or _id_problems(verdict.ids, by_id, k):
            return chosen, call
        return [(by_id[i], f"critic: {verdict.comment}") for i in dict.fromkeys(verdict.ids)], call

    # -- style "genes": the model names genes ------------------------------------------------
    def _ask_genes(
        self, n: int, exclude: set[str], measured: Measured, ranked: list[str]
    ) -> tuple[list[tuple[str, str, str]], RoundTrace]:
        context = ""
        if self.knowledge is not None:
            hyps = candidate_hypotheses(
                self.knowledge, measured, exclude, favoured=ranked[: 2 * n], k=8, rng=self._rng
            )
            context = "\n".join(f"{h.line()} e.g. {', '.join(h.untested[:8])}" for h in hyps)
        user = (
            f"{campaign_stats(measured).text()}\n\nGene sets worth considering:\n{context or 'none'}\n\n"
            f"Propose {n} untested genes (official human gene symbols) for the next round. "
            'Reply as JSON: {"genes": ["SYMBOL", ...], "rationale": "<one sentence>"}'
        )
        accepted: dict[str, None] = {}
        counts = {"proposed": 0, "first_proposed": -1, "first_valid": 0}

        def check(p: GeneList) -> list[str]:
            problems: list[str] = []
            valid_now = 0
            for raw in p.genes:
                g = normalize_gene(str(raw))
                counts["proposed"] += 1
                if g not in self._known:
                    problems.append(f"{raw!r} is not a gene of this screen")
                elif g in exclude:
                    problems.append(f"{g} was already tested (or is running)")
                elif g in accepted:
                    problems.append(f"{g} is a duplicate")
                else:
                    accepted[g] = None
                    valid_now += 1
            if counts["first_proposed"] < 0:
                counts["first_proposed"], counts["first_valid"] = len(p.genes), valid_now
            if len(accepted) < n:
                problems.append(
                    f"{n - len(accepted)} more genes needed; already accepted: "
                    f"{', '.join(list(accepted)[:30])}{'...' if len(accepted) > 30 else ''}"
                )
            return problems[:20]

        answer, call = ask_structured(
            self.llm,
            self._system,
            user,
            GeneList,
            check,
            name=f"{self.name}.genes",
            max_repairs=self.max_repairs,
            method=self.method,
        )
        if not (call.parsed and call.parsed[0]):  # the first answer did not parse: 0 valid of it
            counts["first_proposed"], counts["first_valid"] = 1, 0
        rationale = answer.rationale if answer is not None else ""
        note = f"{rationale} | named by the agent" if rationale else "named by the agent"
        picks = [(g, "agent", note) for g in list(accepted)[:n]]
        return picks, RoundTrace(
            self.name,
            n,
            (call,),
            items_proposed=max(counts["proposed"], 1),
            items_valid=len(accepted),
            items_valid_first=counts["first_valid"],
            items_proposed_first=max(counts["first_proposed"], 1),
            rationale=rationale or (call.failure and f"LLM failed: {call.failure}") or "",
        )
