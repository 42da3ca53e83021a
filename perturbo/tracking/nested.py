"""The nested runs under a campaign's parent run: one per round (a table of the round's
experiments is what people read) or one per trial (a trial is what people compare)."""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from perturbo.tracking.batch import MetricPoint, finite, log_batch
from perturbo.tracking.layout import AGENT_TRACE_FILE, ROLE, ROUND_TAG
from perturbo.types import Observation, Status

if TYPE_CHECKING:
    from mlflow import MlflowClient

_RUN_STATUS = {Status.COMPLETED: "FINISHED", Status.PRUNED: "KILLED"}


def observations_table(observations: Sequence[Observation]) -> Any:
    """A pandas DataFrame, one row per experiment: params, status, metrics, error, planner."""
    import pandas as pd

    rows = []
    for o in observations:
        row: dict[str, Any] = {"id": o.spec.id, "round": o.spec.round}
        row.update(dict(o.spec.params))
        row["status"] = o.outcome.status.value
        row.update({k: float(v) for k, v in o.outcome.metrics.items()})
        row["error"] = o.outcome.error
        row["planner"] = o.spec.planner
        row["duration_s"] = round(o.outcome.duration_s, 6)
        row["worker"] = o.outcome.worker
        rows.append(row)
    return pd.DataFrame(rows)


def write_round_run(
    client: MlflowClient,
    experiment_id: str,
    parent_id: str,
    round: int,
    obs: Sequence[Observation],
    step_metrics: Sequence[MetricPoint],
    *,
    planner: str,
    rationale: str,
    proposed_by: Mapping[str, int],
    trace: Mapping[str, Any] | None,
    tmp: Path,
) -> str:
    """One nested run for the round: its metrics (step=round), who proposed what, the
    results table (CSV and MLflow table JSON), the rationale and the agent trace. Returns
    the run's id."""
    run = client.create_run(
        experiment_id,
        run_name=f"round-{round:03d}",
        tags={"mlflow.parentRunId": parent_id, ROLE: "round", ROUND_TAG: str(round)},
    )
    rid = run.info.run_id
    n_rej = sum(o.outcome.status is Status.REJECTED for o in obs)
    extra = [(f"proposed_by_{k}", float(v), round) for k, v in proposed_by.items()]
    extra += [("n_rejected", float(n_rej), round), ("n_ran", float(len(obs) - n_rej), round)]
    planners = ",".join(sorted(proposed_by)) or planner
    log_batch(
        client,
        rid,
        metrics=[*step_metrics, *extra],
        params={"round": round, "planner": planners, "batch": len(obs)},
    )
    d = tmp / "round"
    d.mkdir()
    table = observations_table(obs)
    table.to_csv(d / "results.csv", index=False)
    if rationale:
        (d / "rationale.txt").write_text(rationale)
    if trace is not None:
        (d / AGENT_TRACE_FILE).write_text(json.dumps(trace, indent=1, default=str))
    client.log_artifacts(rid, str(d))
    # The UI's table view (Evaluation / artifact preview) reads log_table's JSON.
    with warnings.catch_warnings():  # pandas 3 deprecation inside mlflow's log_table
        warnings.simplefilter("ignore")
        client.log_table(rid, data=table, artifact_file="results.json")
    client.set_terminated(rid, status="FINISHED")
    return rid


def write_trial_runs(
    client: MlflowClient,
    experiment_id: str,
    parent_id: str,
    round: int,
    obs: Sequence[Observation],
    *,
    objective: str,
    planner: str,
) -> None:
    """One nested run per experiment: its params, final metrics, per-step values of the
    objective (``<objective>_epoch`` where the final value has the same name), duration."""
    key = objective or "value"
    for o in obs:
        st = o.outcome.status
        run = client.create_run(
            experiment_id,
            run_name=f"trial-{o.spec.id}",
            tags={
                "mlflow.parentRunId": parent_id,
                ROLE: "trial",
                ROUND_TAG: str(round),
                "perturbo.id": o.spec.id,
                "perturbo.status": st.value,
                "perturbo.planner": o.spec.planner,
                **({"perturbo.error": o.outcome.error} if o.outcome.error else {}),
                **({"perturbo.note": o.spec.note} if o.spec.note else {}),
            },
        )
        ms = [(k, float(v), 0) for k, v in o.outcome.metrics.items() if finite(float(v))]
        ms += [
            (key + "_epoch" if key in o.outcome.metrics else key, float(v), i)
            for i, v in enumerate(o.outcome.intermediate)
            if finite(float(v))
        ]
        ms.append(("duration_s", float(o.outcome.duration_s), 0))
        log_batch(
            client,
            run.info.run_id,
            metrics=ms,
            params={
                **{str(k): v for k, v in o.spec.params.items()},
                "planner": o.spec.planner or planner,
            },
        )
        client.set_terminated(run.info.run_id, status=_RUN_STATUS.get(st, "FAILED"))
