"""Batched writes: one ``MlflowClient.log_batch`` call per 1000 metrics / 100 params+tags
(MLflow's limits; per-value calls measured ~3x slower)."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlflow import MlflowClient

MAX_PARAM_LEN = 6000  # MLflow's limit on a param value
MAX_TAG_LEN = 5000  # stay well under MLflow's 8000 on a tag value
BATCH_METRICS = 1000
BATCH_PARAMS_TAGS = 100

MetricPoint = tuple[str, float, int]
"""(name, value, step)."""


def finite(v: float) -> bool:
    return math.isfinite(v)


def now_ms() -> int:
    return int(time.time() * 1000)


def chunks(xs: list[Any], n: int) -> list[list[Any]]:
    """``xs`` in pieces of at most ``n`` (one empty piece for an empty ``xs``)."""
    return [xs[i : i + n] for i in range(0, len(xs), n)] or [[]]


def log_batch(
    client: MlflowClient,
    run_id: str,
    metrics: Sequence[MetricPoint] = (),
    params: Mapping[str, Any] | None = None,
    tags: Mapping[str, Any] | None = None,
) -> None:
    """Log ``metrics``, ``params`` and ``tags`` to ``run_id`` in as few calls as MLflow allows.
    Values too long for MLflow are cut to its limits."""
    from mlflow.entities import Metric, Param, RunTag

    ts = now_ms()
    ms = [Metric(k, float(v), ts, int(s)) for k, v, s in metrics]
    ps = [Param(str(k), str(v)[:MAX_PARAM_LEN]) for k, v in (params or {}).items()]
    tg = [RunTag(str(k), str(v)[:MAX_TAG_LEN]) for k, v in (tags or {}).items()]
    pt: list[Any] = ps + tg
    m_chunks = chunks(ms, BATCH_METRICS)
    pt_chunks = chunks(pt, BATCH_PARAMS_TAGS)
    for i in range(max(len(m_chunks), len(pt_chunks))):
        m = m_chunks[i] if i < len(m_chunks) else []
        chunk = pt_chunks[i] if i < len(pt_chunks) else []
        p = [x for x in chunk if isinstance(x, Param)]
        t = [x for x in chunk if isinstance(x, RunTag)]
        if m or p or t:
            client.log_batch(run_id, metrics=m, params=p, tags=t)
