"""How the genetic agent's choice becomes a batch
(:class:`~perturbo.kinds.genetic.agent.genetic.GeneticAgentPlanner`): genes drawn from the gene sets the
LLM chose, ``bo``'s best first (hybrid: its share of the batch), and the rest filled from
``bo``'s ranking or at random -- every gene the agent did not choose marked ``bo`` or
``fallback`` in its spec, never silently. Both draw from the planner's random generator
(``rng``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from perturbo.kinds.genetic.agent.tools import Hypothesis
from perturbo.types import ExperimentSpec

__all__ = ["draw_from_sets", "fill_batch"]


def draw_from_sets(
    n: int,
    chosen: list[tuple[Hypothesis, str]],
    exclude: set[str],
    ranked: list[str],
    *,
    hybrid: bool,
    agent_share: float,
    rng: np.random.Generator,
) -> list[tuple[str, str, str]]:
    """Genes from the chosen sets, bo's best first. Hybrid: ``agent_share`` of the batch,
    taken from bo's top-ranked genes that lie in the chosen sets. Agent: the whole batch,
    shared out evenly between the sets."""
    if not chosen:
        return []
    rank = {g: i for i, g in enumerate(ranked)}
    note = {h.name: f"set {h.name}: {r}" if r else f"set {h.name}" for h, r in chosen}
    if hybrid:
        quota = int(round(agent_share * n))
        member = {}
        for h, _ in chosen:
            for g in h.untested:
                member.setdefault(g, h.name)
        picks = [(g, "agent", note[member[g]]) for g in ranked if g in member][:quota]
        return picks
    queues = []
    for h, _ in chosen:
        genes = [g for g in h.untested if g not in exclude]
        genes.sort(key=lambda g: (rank.get(g, len(rank)), rng.random()))
        queues.append((h.name, genes))
    picks: list[tuple[str, str, str]] = []
    used: set[str] = set()
    while len(picks) < n and any(q for _, q in queues):
        for name, q in queues:
            while q and q[0] in used:
                q.pop(0)
            if q and len(picks) < n:
                g = q.pop(0)
                picks.append((g, "agent", note[name]))
                used.add(g)
    return picks


def fill_batch(
    n: int,
    picks: list[tuple[str, str, str]],
    exclude: set[str],
    ranked: list[str],
    why: str = "",
    *,
    genes: Sequence[str],
    known: frozenset[str],
    hybrid: bool,
    agent_share: float,
    rng: np.random.Generator,
) -> list[ExperimentSpec]:
    """``picks``: (gene, planner, note) chosen by the agent. Complete the batch: hybrid with
    bo's ranking (``planner="bo"``), agent with the fallback (``planner="fallback"``), whose
    note carries ``why`` the LLM gave nothing (its call's failure), where known."""
    out: list[ExperimentSpec] = []
    used: set[str] = set()
    for gene, who, note in picks[:n]:
        if gene not in used and gene not in exclude and gene in known:
            out.append(ExperimentSpec({"gene": gene}, "genetic", planner=who, note=note))
            used.add(gene)
    # Marked "fallback": whatever the agent should have chosen but did not (agent: the rest
    # of the batch; hybrid: its whole share when the model gave no usable choice).
    short = n - len(out) if not hybrid else (int(round(agent_share * n)) if not out else 0)
    fb_note = "fallback: the agent gave no usable choice or its sets ran out; bo's ranking" + (
        f" ({why})" if why else ""
    )
    for gene in ranked:
        if len(out) >= n:
            break
        if gene not in used:
            who, note = ("fallback", fb_note) if short > 0 else ("bo", "bo: highest posterior mean")
            short -= 1
            out.append(ExperimentSpec({"gene": gene}, "genetic", planner=who, note=note))
            used.add(gene)
    if len(out) < n:
        rest = [g for g in genes if g not in exclude and g not in used]
        rng.shuffle(rest)
        for gene in rest[: n - len(out)]:
            out.append(
                ExperimentSpec(
                    {"gene": gene},
                    "genetic",
                    planner="fallback",
                    note="fallback: random untested genes" + (f" ({why})" if why else ""),
                )
            )
    return out
