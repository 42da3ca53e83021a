"""The Python API of any kind: :func:`run_campaign` and :func:`resume_campaign` do exactly what
``perturbo run KIND`` and ``perturbo resume`` do (the same settings, validated the same way,
recorded the same way). Kinds add sugar of their own (``perturbo.Campaign`` for a search
over a Python function's parameters).

    from perturbo.api import run_campaign
    history = run_campaign(KIND, planner="bo", batch=8, local=True, **kind_settings)
"""

from __future__ import annotations

from typing import Any

from perturbo.history import History


def run_campaign(
    kind: str,
    *,
    name: str | None = None,
    tracking_uri: str | None = None,
    local: bool = False,
    address: str | None = None,
    workers: int | None = None,
    progress: bool = False,
    **settings: Any,
) -> History:
    """Run a new campaign of ``kind`` exactly as ``perturbo run KIND`` does: ``settings`` are
    the flags with underscores (``planner``, ``batch``, ``seed`` and the kind's own), validated
    the same way; recorded in MLflow (``tracking_uri``, default ``./mlflow.db``)."""
    from perturbo import kinds
    from perturbo.config import RunOptions, build_model
    from perturbo.launch import launch

    options = RunOptions(
        name=name,
        tracking_uri=tracking_uri,
        local=local,
        address=address,
        workers=workers,
        progress=progress,
    )
    spec = kinds.get(kind)
    config = build_model(spec.config_model, settings).model_dump()
    return launch(spec, config, options)


def resume_campaign(
    name: str,
    *,
    tracking_uri: str | None = None,
    local: bool = False,
    address: str | None = None,
    workers: int | None = None,
    progress: bool = False,
    **overrides: Any,
) -> History:
    """Continue campaign ``name`` from what MLflow recorded, as ``perturbo resume`` does
    (``overrides``: e.g. ``rounds=8`` to extend a campaign whose kind budgets by rounds)."""
    from perturbo import kinds
    from perturbo.config import RunOptions
    from perturbo.launch import resume

    options = RunOptions(
        tracking_uri=tracking_uri, local=local, address=address, workers=workers, progress=progress
    )
    return resume(name, options, overrides, spec_of=kinds.get)


__all__ = ["resume_campaign", "run_campaign"]
