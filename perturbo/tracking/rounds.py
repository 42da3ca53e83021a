"""Writing one round into a campaign's records: its nested runs (by the kind's nesting), its
agent trace, its metrics (step = round) and, last, the commit point -- the round's
observations file on the parent run. A round is recorded iff that file is there."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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


def write_round(
    t: RoundTarget,
    round: int,
    obs: Sequence[Observation],
    metrics: Mapping[str, float],
    notes: Mapping[str, Any],
    trace: dict[str, Any] | None,
    tags: Mapping[str, Any] | None = None,
) -> None:
    """Write round ``round``; ``tags`` go on the parent run with the round's metrics."""
    c, obs = t.client, list(obs)
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


__all__ = ["RoundTarget", "write_round"]
