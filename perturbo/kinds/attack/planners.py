"""The planners an attack campaign can use: the general ones
(:data:`perturbo.search.registry.GENERAL`) and the LLM agent for general spaces. Handed to the
registry by the kind's spec (``KindSpec.planners``); light to import."""

from __future__ import annotations

from perturbo.agents.planner_entries import SPACE_AGENT
from perturbo.search.registry import GENERAL, PlannerEntry, PlannerTable

PLANNERS: tuple[PlannerEntry, ...] = (SPACE_AGENT,)
TABLE: PlannerTable = GENERAL.plus(*PLANNERS)

__all__ = ["PLANNERS", "TABLE"]
