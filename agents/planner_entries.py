"""The LLM agent as a planner-table entry for general spaces (``--planner agent``).

It lives with the agents, not in :mod:`perturbo.search.registry` (search does not import the
agents); a kind that offers the agent on its space hands :data:`SPACE_AGENT` to its table.
Light to import: the agent's modules load only when the planner is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from perturbo.search.registry import PlannerEntry, PlannerRequest
from perturbo.space import SearchSpace
from perturbo.types import PerturboError

if TYPE_CHECKING:
    from perturbo.protocols import Planner


def _space_agent(r: PlannerRequest) -> Planner:
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


SPACE_AGENT = PlannerEntry(SearchSpace, "agent", _space_agent, False, "LLM agent, see --llm")

__all__ = ["SPACE_AGENT"]
