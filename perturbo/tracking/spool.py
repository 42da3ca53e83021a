"""Rounds kept on local disk while the store refuses them (server down, disk full).

The writer saves a round here when it cannot record it, names the file in its error, and
uploads it on the next ``resume``; the reader adds spooled rounds to a campaign's history, so
nothing recorded is lost in between. One folder per (tracking URI, campaign)::

    <spool dir>/<sha1(uri)[:10]>/<campaign slug>/round-NNN.json
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perturbo.config_env import env_spool_dir
from perturbo.tracking.layout import jsonable, round_file
from perturbo.tracking.uri import default_spool_dir, slug
from perturbo.types import Observation

KEPT = "kept"
"""The spool's subfolder of rounds set aside because the store holds other results for them."""


@dataclass(frozen=True)
class SpooledRound:
    """One round saved locally: what ``record_round`` was given."""

    path: Path
    round: int
    observations: list[Observation]
    metrics: dict[str, float]
    notes: dict[str, Any]


@dataclass(frozen=True)
class Spool:
    """The spool folder of one campaign in one store (``root``: default
    ``$PERTURBO_SPOOL_DIR``, else beside a sqlite store, else ``~/.cache/perturbo/unsent``)."""

    uri: str
    campaign: str
    root: Path | None = None

    @property
    def path(self) -> Path:
        root = self.root or env_spool_dir()
        root = Path(root) if root else default_spool_dir(self.uri)
        key = hashlib.sha1(self.uri.encode()).hexdigest()[:10]
        return root / key / slug(self.campaign)

    def save(
        self,
        round: int,
        observations: Sequence[Observation],
        metrics: Mapping[str, float],
        notes: Mapping[str, Any],
        config: Mapping[str, Any],
    ) -> Path:
        """Write one round; returns its file."""
        self.path.mkdir(parents=True, exist_ok=True)
        path = self.path / round_file(round)
        path.write_text(
            json.dumps(
                {
                    "round": round,
                    "observations": [o.to_dict() for o in observations],
                    "metrics": dict(metrics),
                    "notes": jsonable(dict(notes)),
                    "config": jsonable(dict(config)),
                }
            )
        )
        return path

    def count(self) -> int:
        """How many rounds are spooled (their files are not read)."""
        return len(list(self.path.glob("round-*.json"))) if self.path.is_dir() else 0

    def keep(self, spooled: SpooledRound) -> Path:
        """Set aside a spooled round the store already holds other results for (a resumed
        run recorded that round): moved to ``kept/``, never uploaded, never lost."""
        kept = self.path / KEPT
        kept.mkdir(parents=True, exist_ok=True)
        return spooled.path.rename(kept / spooled.path.name)

    def rounds(self) -> Iterator[SpooledRound]:
        """The spooled rounds, in round order (none where the folder is absent)."""
        if not self.path.is_dir():
            return
        for f in sorted(self.path.glob("round-*.json")):
            d = json.loads(f.read_text())
            yield SpooledRound(
                path=f,
                round=int(d["round"]),
                observations=[Observation.from_dict(x) for x in d["observations"]],
                metrics={k: float(v) for k, v in dict(d.get("metrics", {})).items()},
                notes=dict(d.get("notes", {})),
            )
