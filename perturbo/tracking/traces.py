"""An LLM agent's round as an MLflow trace (the UI's Traces tab), and its headline numbers
as metrics.

The trace is written to *the given client's* store. ``MlflowClient.start_trace`` and the
fluent ``mlflow.start_span`` cannot do that: they export through MLflow's process-global
tracer provider, whose exporter is bound to the process-global tracking URI
(``mlflow/tracing/provider.py: _get_span_processors`` in MLflow 3.17;
``mlflow.tracing.set_destination`` takes an experiment, not a store). Swapping the global
URI around the call (what this code did before) redirects every other thread's traces and
runs too. So the spans are built on a private OpenTelemetry tracer that exports nowhere and
written with a :class:`mlflow.tracing.client.TracingClient` of the client's URI, in the
order MLflow's own exporter uses (``log_spans``, then ``start_trace``, then the span
artifact where the store does not keep spans).
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from perturbo.tracking.batch import MetricPoint, finite
from perturbo.tracking.layout import ROUND_TAG

if TYPE_CHECKING:
    from mlflow import MlflowClient

_TRACE_METRICS = {
    "validity": "agent_validity",
    "validity_first": "agent_validity_first",
    "repairs": "agent_repairs",
    "tokens": "agent_tokens",
    "seconds": "agent_s",
}
_PREVIEW_LEN = 1000


def trace_metrics(trace: Mapping[str, Any], round: int) -> list[MetricPoint]:
    """An agent round's headline numbers, as step=round metrics."""
    out = []
    for k, name in _TRACE_METRICS.items():
        v = trace.get(k)
        if isinstance(v, int | float) and finite(float(v)):
            out.append((name, float(v), round))
    out += [(f"agent_by_{k}", float(v), round) for k, v in dict(trace.get("by_source", {})).items()]
    return out


def log_llm_trace(
    client: MlflowClient, experiment_id: str, run_id: str, round: int, trace: Mapping[str, Any]
) -> str | None:
    """The round's LLM calls as one MLflow trace of ``run_id``: an AGENT span for the round,
    a CHAT_MODEL span per call with prompt, answers, validation errors fed back, tokens and
    latency. Returns the trace id. Best effort: the same content is in the round's
    ``agent_trace.json`` already, so a failure warns and never costs the round."""
    try:
        return _write_trace(client.tracking_uri, experiment_id, run_id, round, trace)
    except Exception as e:  # noqa: BLE001 - tracing must never cost a round
        warnings.warn(
            f"MLflow tracing of round {round} failed ({e}); see agent_trace.json", stacklevel=2
        )
        return None


def _write_trace(
    uri: str, experiment_id: str, run_id: str, round: int, trace: Mapping[str, Any]
) -> str:
    from mlflow.entities import SpanType, TraceData, TraceInfo, TraceLocation, TraceState
    from mlflow.entities.span import LiveSpan
    from mlflow.tracing.client import TracingClient
    from mlflow.tracing.constant import (
        TRACE_SCHEMA_VERSION,
        TRACE_SCHEMA_VERSION_KEY,
        SpansLocation,
        TraceMetadataKey,
        TraceTagKey,
    )
    from mlflow.tracing.utils import generate_trace_id_v3
    from opentelemetry import trace as otel
    from opentelemetry.sdk.trace import TracerProvider

    tracer = TracerProvider().get_tracer("perturbo.tracking")  # private: exports nowhere
    end = time.time_ns()
    calls = list(trace.get("calls", []))
    total = sum(float(cl.get("seconds", 0.0)) for cl in calls)
    t = start = end - int(max(total, float(trace.get("seconds", 0.0))) * 1e9)
    name = f"round-{round:03d} {trace.get('planner', 'agent')}"

    root_otel = tracer.start_span(name, start_time=start)
    trace_id = generate_trace_id_v3(root_otel)
    root = LiveSpan(root_otel, trace_id, SpanType.AGENT)
    inputs = {"round": round, "n_requested": trace.get("n_requested")}
    root.set_inputs(inputs)
    children = []
    for cl in calls:
        dt = int(float(cl.get("seconds", 0.0)) * 1e9)
        child = LiveSpan(
            tracer.start_span(
                str(cl.get("name", "llm")),
                context=otel.set_span_in_context(root_otel),
                start_time=t,
            ),
            trace_id,
            SpanType.CHAT_MODEL,
        )
        child.set_inputs({"prompt": cl.get("prompt", "")})
        child.set_attributes({k: cl.get(k) for k in ("input_tokens", "output_tokens", "repairs")})
        t += dt
        child.end(
            outputs={"answers": cl.get("answers", []), "errors": cl.get("errors", [])},
            attributes={"failure": cl.get("failure", "")},
            status="OK" if cl.get("ok") else "ERROR",
            end_time_ns=t,
        )
        children.append(child)
    outputs = {k: trace.get(k) for k in ("by_source", "validity", "repairs", "rationale")}
    end = max(t, end)
    root.end(outputs=outputs, end_time_ns=end)
    spans = [s.to_immutable_span() for s in (root, *children)]

    info = TraceInfo(
        trace_id=trace_id,
        trace_location=TraceLocation.from_experiment_id(experiment_id),
        request_time=start // 1_000_000,
        execution_duration=(end - start) // 1_000_000,
        state=TraceState.OK,
        trace_metadata={
            TRACE_SCHEMA_VERSION_KEY: str(TRACE_SCHEMA_VERSION),
            TraceMetadataKey.SOURCE_RUN: run_id,
            TraceMetadataKey.INPUTS: _preview(inputs),
            TraceMetadataKey.OUTPUTS: _preview(outputs),
        },
        tags={TraceTagKey.TRACE_NAME: name, ROUND_TAG: str(round)},
    )
    tc = TracingClient(uri)
    try:
        tc.log_spans(experiment_id, spans)
    except NotImplementedError:
        pass  # a store that keeps no spans: they go into the trace's artifact below
    stored = tc.start_trace(info)
    if stored.tags.get(TraceTagKey.SPANS_LOCATION) != SpansLocation.TRACKING_STORE.value:
        tc._upload_trace_data(stored, TraceData(spans=spans))
    return stored.trace_id


def _preview(x: Any) -> str:
    return json.dumps(x, default=str)[:_PREVIEW_LEN]
