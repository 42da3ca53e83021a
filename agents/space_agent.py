"""``agent`` for any :class:`~perturbo.space.SearchSpace` (hyperparameter, attack kinds):
LLAMBO-style structured proposals with no kind-specific agent code.

The prompt holds the space (one line per parameter), the task, and the history of configs and
results (the best ones and the most recent, bounded); the answer is JSON validated against the
space with :meth:`SearchSpace.validate`. Invalid configs are fed back as errors for at most
``max_repairs`` turns; what is still missing comes from the fallback planner (random search
by default), marked ``planner="fallback"``.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field

from perturbo.agents.structured import ask_structured
from perturbo.agents.trace import RoundTrace, trace_notes
from perturbo.protocols import Planner
from perturbo.types import ExperimentSpec, InvalidSpec, Observation, Status


class ConfigList(BaseModel):
    """The answer: configs as parameter -> value objects, and why."""

    configs: list[dict[str, Any]]
    rationale: str = Field("", json_schema_extra={"maxLength": 160})


class SpaceAgentPlanner:
    """LLM planner over a search space (Planner protocol)."""

    name = "agent"

    def __init__(
        self,
        space: Any,
        kind: str,
        llm: Any,
        objective: str,
        direction: str = "max",
        task: str = "",
        fallback: Planner | None = None,
        max_repairs: int = 2,
        max_history: int = 16,
        seed: int = 0,
        method: str = "function_calling",
    ) -> None:
        from perturbo.search.random import RandomPlanner

        self.space = space
        self.kind = kind
        self.llm = llm
        self.objective = objective
        self.direction = direction
        self.task = task
        self.fallback = fallback or RandomPlanner(space, kind, seed=seed)
        self.max_repairs = max_repairs
        self.max_history = max_history
        self.method = method
        self._done: list[tuple[dict[str, Any], float, str]] = []
        self.traces: list[RoundTrace] = []

    @property
    def last_trace(self) -> RoundTrace | None:
        return self.traces[-1] if self.traces else None

    def notes(self) -> dict[str, Any]:
        """The latest ask's trace, recorded with the round it proposed (``Noting``)."""
        return trace_notes(self.last_trace)

    def tell(self, observations: Sequence[Observation]) -> None:
        for o in observations:
            if o.outcome.status is Status.REJECTED:
                continue
            value = o.outcome.value(self.objective)
            self._done.append((dict(o.spec.params), value, o.outcome.status.value))
        self.fallback.tell(observations)

    def ask(self, n: int, pending: Sequence[ExperimentSpec]) -> list[ExperimentSpec]:
        t0 = time.perf_counter()
        pending_keys = {self.space.key(s.params) for s in pending}
        accepted: dict[str, dict[str, Any]] = {}
        counts = {"proposed": 0, "first_proposed": -1, "first_valid": 0}

        def check(p: ConfigList) -> list[str]:
            problems: list[str] = []
            valid_now = 0
            for i, cfg in enumerate(p.configs):
                counts["proposed"] += 1
                try:
                    params = self.space.validate(cfg)
                except InvalidSpec as e:
                    problems.append(f"config {i + 1}: {e}")
                    continue
                key = self.space.key(params)
                if key in accepted or key in pending_keys:
                    problems.append(f"config {i + 1} repeats a config already proposed or running")
                    continue
                accepted[key] = params
                valid_now += 1
            if counts["first_proposed"] < 0:
                counts["first_proposed"], counts["first_valid"] = len(p.configs), valid_now
            if len(accepted) < n:
                problems.append(f"{n - len(accepted)} more valid config(s) needed")
            return problems[:12]

        answer, call = ask_structured(
            self.llm,
            self._system(),
            self._user(n),
            ConfigList,
            check,
            name="agent.configs",
            max_repairs=self.max_repairs,
            method=self.method,
        )
        if not (call.parsed and call.parsed[0]):  # the first answer did not parse: 0 valid of it
            counts["first_proposed"], counts["first_valid"] = 1, 0
        rationale = answer.rationale if answer is not None else ""
        note = rationale or "proposed by the agent"
        specs = [
            ExperimentSpec(p, self.kind, planner="agent", note=note)
            for p in list(accepted.values())[:n]
        ]
        if len(specs) < n:
            fill = self.fallback.ask(n - len(specs), list(pending) + specs)
            why = f"fallback: the agent gave {len(specs)} valid of {n}" + (
                f" ({call.failure})" if call.failure else ""
            )
            specs += [
                ExperimentSpec(s.params, self.kind, planner="fallback", note=why) for s in fill
            ]
        by: dict[str, int] = {}
        for s in specs:
            by[s.planner] = by.get(s.planner, 0) + 1
        self.traces.append(
            RoundTrace(
                "agent",
                n,
                (call,),
                by,
                items_proposed=max(counts["proposed"], 1),
                items_valid=len(accepted),
                items_valid_first=counts["first_valid"],
                items_proposed_first=max(counts["first_proposed"], 1),
                seconds=time.perf_counter() - t0,
                rationale=rationale,
            )
        )
        return specs

    def _system(self) -> str:
        goal = "maximise" if self.direction == "max" else "minimise"
        task = f" Task: {self.task}." if self.task else ""
        return (
            f"You tune experiment configurations to {goal} {self.objective!r}.{task} "
            "Propose configs inside the search space. Reply with JSON only."
        )

    def _user(self, n: int) -> str:
        done = [d for d in self._done if math.isfinite(d[1])]
        sign = -1.0 if self.direction == "max" else 1.0
        best = sorted(done, key=lambda d: sign * d[1])[: self.max_history // 2]
        recent = [d for d in self._done[-self.max_history // 2 :] if d not in best]
        rows = "\n".join(
            f"{json.dumps(_round(c))} -> {self.objective}={v:.4g}"
            if math.isfinite(v)
            else f"{json.dumps(_round(c))} -> {s}"
            for c, v, s in best + recent
        )
        return (
            f"Search space:\n{self.space.describe()}\n\n"
            f"Results so far ({len(self._done)} runs; best first, then recent):\n{rows or 'none yet'}\n\n"
            f"Propose {n} new, different configs likely to {('improve' if done else 'do well on')} "
            f'{self.objective}. JSON: {{"configs": [{{<param>: <value>, ...}}], "rationale": "<one sentence>"}}'
        )


def _round(cfg: dict[str, Any]) -> dict[str, Any]:
    return {k: (float(f"{v:.4g}") if isinstance(v, float) else v) for k, v in cfg.items()}


def make_space_planner(
    space: Any,
    kind: str,
    config: Any,
    objective: str,
    direction: str = "max",
    *,
    task: str = "",
    llm: Any = None,
    engine: Any = None,
    api_key: str | None = None,
) -> SpaceAgentPlanner:
    """``--planner agent`` for a search-space kind (hyperparameter, attack), from the campaign
    config's ``llm*`` keys (see :func:`perturbo.agents.llm.llm_settings`) and ``seed``."""
    from perturbo.agents.llm import llm_settings, make_chat_model

    settings = llm_settings(config, api_key)
    if llm is None:
        llm = make_chat_model(settings, engine=engine)
    return SpaceAgentPlanner(
        space,
        kind,
        llm,
        objective=objective,
        direction=direction,
        task=task,
        max_repairs=int(config.get("max_repairs", 2)),
        seed=int(config.get("seed", 0) or 0),
        method=settings.structured_method,
    )
