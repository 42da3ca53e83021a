"""The genetic agent's conversations with its LLM, one per ``ask``: style ``"sets"`` (choose
1-4 gene sets from a numbered list of hypotheses, optionally reviewed by a critic) and style
``"genes"`` (name genes directly). Each returns ``[(gene, source, note)]`` picks and the
round's :class:`~perturbo.agents.trace.RoundTrace`; every answer is validated and errors go back
to the model for at most ``max_repairs`` turns.

:class:`Dialogue` is what a conversation reads of the planner
(:class:`~perturbo.kinds.genetic.agent.genetic.GeneticAgentPlanner` builds it once): its model,
system prompt, limits and the planner's seeded generator (shared: the draws advance the
campaign's one random stream).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel

from perturbo.agents.structured import LLMCall, ask_structured
from perturbo.agents.trace import RoundTrace
from perturbo.kinds.genetic.agent.genetic_batch import draw_from_sets
from perturbo.kinds.genetic.agent.tools import (
    GeneList,
    Hypothesis,
    Measured,
    _id_problems,
    _set_schema,
    _Verdict,
    campaign_stats,
    candidate_hypotheses,
)
from perturbo.kinds.genetic.genesets import GeneKnowledge
from perturbo.kinds.genetic.screens import normalize_gene

__all__ = ["Dialogue", "ask_genes", "ask_sets", "review"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Dialogue:
    """What the agent's conversations read: ``name`` (``agent``/``hybrid``, names the calls),
    the chat model and its structured-output ``method``, the ``system`` prompt, the screen's
    genes (``known``), gene-set ``knowledge`` (``None``: no hypotheses, fallback only), the
    limits (``max_repairs``, ``n_hypotheses``, ``max_choices``), ``critic``, the hybrid's
    ``agent_share`` and the planner's seeded ``rng``."""

    name: str
    llm: Any
    system: str
    known: frozenset[str]
    knowledge: GeneKnowledge | None
    rng: np.random.Generator
    method: str = "function_calling"
    max_repairs: int = 2
    n_hypotheses: int = 8
    max_choices: int = 4
    critic: bool = False
    hybrid: bool = False
    agent_share: float = 0.25


# -- style "sets": choose among hypotheses -----------------------------------------------
def ask_sets(
    d: Dialogue, n: int, exclude: set[str], measured: Measured, ranked: list[str]
) -> tuple[list[tuple[str, str, str]], RoundTrace]:
    """Style ``"sets"``: the model chooses among candidate hypotheses (gene sets enriched among
    the hits, sets holding bo's favourites); genes are drawn from the chosen sets, ``ranked``
    (bo's order) first. ``exclude``: tested or running genes."""
    if d.knowledge is None:
        return [], RoundTrace(d.name, n, rationale="no gene-set knowledge: fallback only")
    hyps = candidate_hypotheses(
        d.knowledge,
        measured,
        exclude,
        favoured=ranked[: 2 * n],
        k=d.n_hypotheses,
        rng=d.rng,
    )
    if not hyps:
        return [], RoundTrace(d.name, n, rationale="no gene set left to propose: fallback only")
    by_id = {h.id: h for h in hyps}
    k = min(d.max_choices, len(hyps))
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
        d.llm,
        d.system,
        user,
        schema,
        check,
        name=f"{d.name}.sets",
        max_repairs=d.max_repairs,
        method=d.method,
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
    if chosen and d.critic:
        chosen, critic_call = review(d, user, chosen, by_id, k)
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
        hybrid=d.hybrid,
        agent_share=d.agent_share,
        rng=d.rng,
    )
    if not picks:
        why = call.failure or "; ".join(call.errors[-1] if call.errors else ()) or "no valid choice"
        log.warning(
            "%s planner: the LLM gave no usable choice (%s); the batch is filled by the fallback",
            d.name,
            why,
        )
    return picks, RoundTrace(
        d.name,
        n,
        tuple(calls),
        items_proposed=max(proposed, 1),
        items_valid=valid,
        items_valid_first=first_valid,
        items_proposed_first=max(first_n, 1),
        rationale=rationale or (call.failure and f"LLM failed: {call.failure}") or "",
    )


def review(
    d: Dialogue,
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
        d.llm,
        d.system,
        prompt,
        _Verdict,
        check,
        name=f"{d.name}.critic",
        max_repairs=1,
        method=d.method,
    )
    if verdict is None or verdict.approve or _id_problems(verdict.ids, by_id, k):
        return chosen, call
    return [(by_id[i], f"critic: {verdict.comment}") for i in dict.fromkeys(verdict.ids)], call


# -- style "genes": the model names genes ------------------------------------------------
def ask_genes(
    d: Dialogue, n: int, exclude: set[str], measured: Measured, ranked: list[str]
) -> tuple[list[tuple[str, str, str]], RoundTrace]:
    """Style ``"genes"``: the model names ``n`` untested genes, with candidate sets as context;
    unknown, tested and duplicate genes go back to it as errors."""
    context = ""
    if d.knowledge is not None:
        hyps = candidate_hypotheses(
            d.knowledge, measured, exclude, favoured=ranked[: 2 * n], k=8, rng=d.rng
        )
        context = "\n".join(f"{h.line()} e.g. {', '.join(h.untested[:8])}" for h in hyps)
    user = (
        f"{campaign_stats(measured).text()}\n\nGene sets worth considering:\n{context or 'none'}\n\n"
        f"Propose {n} untested genes (official human gene symbols) for the next round. "
        'Reply as JSON: {"genes": ["SYMBOL", ...], "rationale": "<one sentence>"}'
    )
    accepted: dict[str, str] = {}  # key -> as the model wrote it (what it is told back in)
    counts = {"proposed": 0, "first_proposed": -1, "first_valid": 0}

    def check(p: GeneList) -> list[str]:
        problems: list[str] = []
        valid_now = 0
        for raw in p.genes:
            g, said = normalize_gene(str(raw)), str(raw).strip()  # matched by g, told as said
            counts["proposed"] += 1
            if g not in d.known:
                problems.append(f"{raw!r} is not a gene of this screen")
            elif g in exclude:
                problems.append(f"{said} was already tested (or is running)")
            elif g in accepted:
                problems.append(f"{said} is a duplicate")
            else:
                accepted[g] = said
                valid_now += 1
        if counts["first_proposed"] < 0:
            counts["first_proposed"], counts["first_valid"] = len(p.genes), valid_now
        if len(accepted) < n:
            problems.append(
                f"{n - len(accepted)} more genes needed; already accepted: "
                f"{', '.join(list(accepted.values())[:30])}{'...' if len(accepted) > 30 else ''}"
            )
        return problems[:20]

    answer, call = ask_structured(
        d.llm,
        d.system,
        user,
        GeneList,
        check,
        name=f"{d.name}.genes",
        max_repairs=d.max_repairs,
        method=d.method,
    )
    if not (call.parsed and call.parsed[0]):  # the first answer did not parse: 0 valid of it
        counts["first_proposed"], counts["first_valid"] = 1, 0
    rationale = answer.rationale if answer is not None else ""
    note = f"{rationale} | named by the agent" if rationale else "named by the agent"
    picks = [(g, "agent", note) for g in list(accepted)[:n]]
    return picks, RoundTrace(
        d.name,
        n,
        (call,),
        items_proposed=max(counts["proposed"], 1),
        items_valid=len(accepted),
        items_valid_first=counts["first_valid"],
        items_proposed_first=max(counts["first_proposed"], 1),
        rationale=rationale or (call.failure and f"LLM failed: {call.failure}") or "",
    )
