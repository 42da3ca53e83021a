"""Writing one round into a campaign's records: its nested runs (by the kind's nesting), its
agent trace, its metrics (step = round), what the campaign found so far (the kind's findings
CSV) and, last, the commit point -- the round's observations file on the parent run. A round
is recorded iff that file is there.

The loop's round ``r`` (0-based) is stored as ``r + base`` everywhere (run names, tags, steps,
files and the observations' own ``round``): base 1 for new campaigns, 0 for a campaign recorded
before rounds were numbered 1..N (:data:`~perturbo.tracking.layout.ROUND_BASE_TAG`)."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from perturbo.tracking.batch import finite, log_batch
from perturbo.tracking.layout import AGENT_TRACES_DIR, ROUNDS_DIR, round_file
from perturbo.tracking.nested import write_round_run, write_trial_runs
from perturbo.tracking.traces import log_llm_trace, trace_metrics
from perturbo.types import Observation

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from perturbo.kindspec import Nesting


@dataclass(frozen=True)
class RoundTarget:
    """Where a campaign's rounds go."""

    client: MlflowClient
    experiment_id: str
    run_id: str
    nesting: Nesting
    planner: str = ""
    objective: str = ""
    base: int = 0
    """The stored number of the loop's round 0 (:func:`~perturbo.tracking.layout.round_base`)."""


def stored(obs: Sequence[Observation], base: int) -> list[Observation]:
    """``obs`` with their rounds in the store's numbering (the loop's round + ``base``)."""
    if not base:
        return list(obs)
    return [Observation(replace(o.spec, round=o.spec.round + base), o.outcome) for o in obs]


def write_round(
    t: RoundTarget,
    round: int,
    obs: Sequence[Observation],
    metrics: Mapping[str, float],
    notes: Mapping[str, Any],
    trace: dict[str, Any] | None,
    tags: Mapping[str, Any] | None = None,
    files: Mapping[str, str] | None = None,
) -> None:
    """Write the loop's round ``round``; ``tags`` go on the parent run with the round's
    metrics; ``files`` (artifact path -> text) on the parent run before the commit point."""
    c, obs = t.client, stored(obs, t.base)
    round = round + t.base
    step_metrics = [(k, float(v), round) for k, v in metrics.items() if finite(float(v))]
    rationale = str(notes.get("rationale", "") or "")
    proposed_by = dict(notes.get("proposed_by", {}) or {})
    if trace is not None:
        step_metrics += trace_metrics(trace, round)
    trace_run = t.run_id
    with tempfile.TemporaryDirectory(prefix="perturbo-round-") as tmp:
        if t.nesting in ("round", "both"):
            trace_run = write_round_run(
                c,
                t.experiment_id,
                t.run_id,
                round,
                obs,
                step_metrics,
                planner=t.planner,
                rationale=rationale,
                proposed_by=proposed_by,
                trace=trace,
                tmp=Path(tmp),
            )
        if t.nesting in ("trial", "both"):
            write_trial_runs(
                c, t.experiment_id, t.run_id, round, obs, objective=t.objective, planner=t.planner
            )
            if rationale and t.nesting == "trial":
                c.log_text(t.run_id, rationale, f"rationale/round-{round:03d}.txt")
            if trace is not None and t.nesting == "trial":
                c.log_dict(t.run_id, trace, f"{AGENT_TRACES_DIR}/{round_file(round)}")
        if trace is not None:
            log_llm_trace(c, t.experiment_id, trace_run, round, trace)
        log_batch(c, t.run_id, metrics=step_metrics, tags=tags)
        for path, text in (files or {}).items():
            c.log_text(t.run_id, text, path)
        # The commit point: a round is recorded iff its observations file is on the parent.
        f = Path(tmp) / round_file(round)
        f.write_text(
            json.dumps(
                {
                    "round": round,
                    "observations": [o.to_dict() for o in obs],
                    "metrics": dict(metrics),
                }
            )
        )
        c.log_artifact(t.run_id, str(f), ROUNDS_DIR)


__all__ = ["RoundTarget", "stored", "write_round"]
