"""A lab campaign's pending batch: what was proposed and is waiting for the lab's results.

It lives in the campaign's store, on the parent run: the artifact ``lab/pending.json`` (the
proposed specs, the proposals rejected with them, the results told so far for part of the
batch) and tags a person or ``perturbo status`` reads without downloading it
(``perturbo.lab.waiting``: "waiting for results of round 1: 96 genes, proposed DATE"). The
parent run's status is ``SCHEDULED`` while a batch waits: a state of its own, not RUNNING (no
process lives between rounds).
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perturbo.types import ExperimentSpec, Observation, Outcome

__all__ = [
    "LAB_TAG",
    "NAMED_TO_COME",
    "PENDING_FILE",
    "WAITING",
    "WAITING_TAG",
    "Pending",
    "label",
    "read_pending",
    "write_pending",
]

PENDING_FILE = "lab/pending.json"
LAB_TAG = "perturbo.lab"
"""On a lab campaign's parent run: ``"1"`` (so ``tell`` knows a lab campaign from another)."""
WAITING_TAG = "perturbo.lab.waiting"
"""The line ``perturbo status``/``show`` print for a campaign waiting for the lab ("" when
nothing is pending)."""
WAITING = "SCHEDULED"
"""The parent run's MLflow status while a batch waits for results."""


NAMED_TO_COME = 10
"""The waiting line names the experiments still to come when there are at most this many
(more: the count; ``perturbo ask NAME --to-come`` lists them)."""


def label(spec: ExperimentSpec) -> str:
    """How a lab names one experiment: its one parameter's value (a gene), else its id."""
    values = list(spec.params.values())
    return str(values[0]) if len(values) == 1 else spec.id


@dataclass
class Pending:
    """Round ``round``'s proposals (stamped as the loop stamps them), those rejected with
    them, and the outcomes told so far (spec id -> outcome)."""

    round: int
    proposed: float
    specs: list[ExperimentSpec]
    rejected: list[Observation] = field(default_factory=list)
    told: dict[str, Outcome] = field(default_factory=dict)
    noun: str = ""
    """How the batch is described ("96 genes"), from the kind."""

    @property
    def waiting(self) -> list[ExperimentSpec]:
        """The specs with no result yet."""
        return [s for s in self.specs if s.id not in self.told]

    def to_come(self) -> list[str]:
        """How the lab names each experiment with no result yet (:func:`label`), in batch order."""
        return [label(s) for s in self.waiting]

    def line(self) -> str:
        """ "waiting for results of round 1: 96 genes, proposed 2026-12-05 14:03 UTC"; once part
        of the batch was told, how much, naming the ones to come where at most
        :data:`NAMED_TO_COME` ("(23 told, 1 to come: TP53)")."""
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(self.proposed))
        what = self.noun or f"{len(self.specs)} experiments"
        told = ""
        if self.told:
            rest = self.to_come()
            named = f": {', '.join(rest)}" if 0 < len(rest) <= NAMED_TO_COME else ""
            told = f" ({len(self.told)} told, {len(rest)} to come{named})"
        return f"waiting for results of round {self.round + 1}: {what}, proposed {when}{told}"

    def to_json(self) -> str:
        return json.dumps(
            {
                "round": self.round,
                "proposed": self.proposed,
                "noun": self.noun,
                "specs": [s.to_dict() for s in self.specs],
                "rejected": [o.to_dict() for o in self.rejected],
                "told": {k: v.to_dict() for k, v in self.told.items()},
            },
            indent=1,
        )

    @classmethod
    def from_json(cls, text: str) -> Pending:
        d: Mapping[str, Any] = json.loads(text)
        return cls(
            round=int(d["round"]),
            proposed=float(d["proposed"]),
            specs=[ExperimentSpec.from_dict(s) for s in d["specs"]],
            rejected=[Observation.from_dict(o) for o in d.get("rejected", ())],
            told={k: Outcome.from_dict(v) for k, v in dict(d.get("told", {})).items()},
            noun=str(d.get("noun", "")),
        )


def read_pending(client: Any, run_id: str) -> Pending | None:
    """The pending batch recorded on parent run ``run_id``, or ``None`` (nothing pending)."""
    tags = client.get_run(run_id).data.tags
    if not tags.get(WAITING_TAG):
        return None
    with tempfile.TemporaryDirectory(prefix="perturbo-lab-") as tmp:
        path = client.download_artifacts(run_id, PENDING_FILE, tmp)
        return Pending.from_json(Path(path).read_text())


def write_pending(client: Any, run_id: str, pending: Pending | None) -> None:
    """Record ``pending`` (``None``: nothing pending any more) on parent run ``run_id``: the
    file first, then the tag that says it is there."""
    if pending is None:
        client.set_tag(run_id, WAITING_TAG, "")
        return
    client.log_text(run_id, pending.to_json(), PENDING_FILE)
    client.set_tag(run_id, LAB_TAG, "1")
    client.set_tag(run_id, WAITING_TAG, pending.line())
