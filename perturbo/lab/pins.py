"""A lab campaign's pinned experiments (``perturbo run KIND --lab --pin JSON``): handed out first.

``--pin`` names experiments a person wants run first (:mod:`perturbo.pinned`). A lab campaign
has no process that keeps its planner between steps: each step rebuilds the planner from the
store and replays it (:mod:`perturbo.lab.replay`, :func:`perturbo.lab.replay.replay_trials`).
So the pins, checked against the campaign's space at start, are kept on the parent run
(:data:`PINS_FILE`) and every rebuilt planner is wrapped in the same
:class:`~perturbo.pinned.Pinned` queue: the replayed asks hand out the pins where the first
asks did (the first round, the first trials; ``planner="user"``), and the planner is told of
them as pending, so the replay reproduces the campaign and the pins are never proposed twice.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

__all__ = ["PINS_FILE", "check_lab_pins", "read_pins", "with_pins", "write_pins"]

PINS_FILE = "lab/pins.json"


def check_lab_pins(
    pinned: Sequence[Mapping[str, Any]], parts: Any, budget: int | None = None
) -> list[dict[str, Any]]:
    """The ``--pin`` params, validated by the campaign's space (one line naming a bad one);
    refused where there are more than the ``budget`` of experiments."""
    from perturbo.pinned import check_pins
    from perturbo.types import PerturboError

    pins = check_pins(pinned, parts.space, parts.kind)
    if budget is not None and len(pins) > budget:
        raise PerturboError(
            f"{len(pins)} --pin experiments for a campaign of {budget}: pin at most {budget}, "
            "or raise the budget (--trials)"
        )
    return pins


def with_pins(parts: Any, pins: Sequence[Mapping[str, Any]]) -> Any:
    """``parts`` with its planner behind the pins' queue (unchanged without pins)."""
    if not pins:
        return parts
    from perturbo.pinned import Pinned

    return replace(parts, planner=Pinned(parts.planner, pins, parts.kind))


def write_pins(client: Any, run_id: str, pins: Sequence[Mapping[str, Any]]) -> None:
    """Keep ``pins`` on parent run ``run_id`` (nothing written without pins)."""
    if pins:
        client.log_text(run_id, json.dumps([dict(p) for p in pins], default=str), PINS_FILE)


def read_pins(client: Any, run_id: str) -> list[dict[str, Any]]:
    """The pins kept on parent run ``run_id`` (``[]``: none)."""
    names = {f.path for f in client.list_artifacts(run_id, "lab")}
    if PINS_FILE not in names:
        return []
    with tempfile.TemporaryDirectory(prefix="perturbo-lab-") as tmp:
        return list(json.loads(Path(client.download_artifacts(run_id, PINS_FILE, tmp)).read_text()))
