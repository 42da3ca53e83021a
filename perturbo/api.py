"""The Python API: run a campaign the way `perturbo run` does, from Python.

    from perturbo.api import run_campaign
    history = run_campaign("genetic", screen="IFNG", planner="bo", rounds=5, batch=128, local=True)

Settings are the ``perturbo run KIND`` flags with underscores (``tracking_uri``, ``llm_model``...);
the campaign is recorded in MLflow exactly as from the command line, so ``perturbo show`` and
``perturbo resume`` work on it.
"""

from __future__ import annotations

from typing import Any

from perturbo.history import History

__all__ = ["resume_campaign", "run_campaign"]


def run_campaign(
    kind: str = "genetic",
    *,
    name: str | None = None,
    tracking_uri: str | None = None,
    local: bool = False,
    address: str | None = None,
    workers: int | None = None,
    progress: bool = False,
    **settings: Any,
) -> History:
    """Run a new campaign of ``kind`` with ``settings`` (validated as the CLI validates them)."""
    from perturbo.cli import _kind_module
    from perturbo.cli import run_campaign as _run
    from perturbo.config import RunOptions, build_model
    from perturbo.types import PerturboError

    options = RunOptions(
        name=name,
        tracking_uri=tracking_uri,
        local=local,
        address=address,
        workers=workers,
        progress=progress,
    )
    mod = _kind_module(kind)
    if mod is None:
        raise PerturboError(f"kind {kind!r} is not available in this install")
    model = getattr(mod, f"{kind.capitalize()}Config", None)
    config = (
        build_model(model, settings).model_dump()
        if model is not None
        else {"kind": kind, **settings}
    )
    return _run(kind, config, options)


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
    """Continue campaign ``name`` from what MLflow recorded (``overrides``: e.g. ``rounds=8``)."""
    from perturbo import tracking
    from perturbo.cli import run_campaign as _run
    from perturbo.config import RunOptions

    options = RunOptions(
        tracking_uri=tracking_uri, local=local, address=address, workers=workers, progress=progress
    )
    config, history = tracking.load_history(options.resolved_tracking_uri(), name)
    config = {**config, **overrides}
    return _run(
        str(config.get("kind", "genetic")), config, options, history=history, resume=True, name=name
    )
