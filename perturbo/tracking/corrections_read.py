"""Corrections of recorded results, as the store holds them (written by
:mod:`perturbo.lab.corrections`: ``perturbo tell FILE --correct`` on a recorded lab round).

A correction never rewrites the round it corrects: it is a dated entry under
``lab/corrections/`` on the campaign's parent run, counted by the run's
:data:`CORRECTIONS_TAG`. Readers of what a campaign found (``show``, ``export``, the chat,
hit calls) see the corrected values (:meth:`MlflowStore.history
<perturbo.tracking.reader.MlflowStore.history>`); the lab loop replays the values each round
was proposed from (``history(raw=True)``) and tells the corrections where they were made.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from perturbo.history import History
from perturbo.types import Observation, Outcome

__all__ = ["CORRECTIONS_DIR", "CORRECTIONS_TAG", "corrected", "read_corrections"]

CORRECTIONS_DIR = "lab/corrections"
CORRECTIONS_TAG = "lab.corrections"
"""Parent-run tag: how many results were corrected (absent: none, nothing to read)."""


def read_corrections(client: Any, run_id: str) -> list[dict[str, Any]]:
    """Every correction entry of the campaign's run ``run_id``, oldest first (one per result)."""
    files = sorted(f.path for f in client.list_artifacts(run_id, CORRECTIONS_DIR))
    out: list[dict[str, Any]] = []
    if not files:
        return out
    with tempfile.TemporaryDirectory(prefix="perturbo-lab-") as tmp:
        for name in files:
            path = client.download_artifacts(run_id, name, tmp)
            out.extend(json.loads(Path(path).read_text(encoding="utf-8"))["corrections"])
    return out


def corrected(history: Sequence[Observation], entries: Sequence[Mapping[str, Any]]) -> History:
    """``history`` with each corrected result's latest value (order and rounds kept)."""
    latest = {str(e["id"]): Outcome.from_dict(e["new"]) for e in entries}
    if not latest:
        return History(list(history))
    return History(
        [Observation(o.spec, latest[o.spec.id]) if o.spec.id in latest else o for o in history]
    )
