"""Before a buffered round is uploaded: does the store already hold *other* results for that
round's slot? A ``perturbo resume`` on another machine reran the rounds buffered here and
recorded its own; uploading (or dropping) the buffered one as "uploaded" would hide that.
The same results (a write whose reply was lost) are no clash: the round is simply recorded.

:func:`find_clashes` is what the writer's upload (``round_writer._upload``) asks; it returns
the clashing rounds with what the store holds instead, for :meth:`Backlog.flush
<perturbo.tracking.backlog.Backlog.flush>` to keep and name."""

from __future__ import annotations

import tempfile
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

from perturbo.tracking.layout import ROUNDS_DIR, round_file
from perturbo.tracking.reader import _read_json
from perturbo.tracking.spool import SpooledRound


def held(observations: Sequence[dict[str, Any]]) -> str:
    """What a recorded round holds, in a few words: "8 experiments (ids r3-0000..r3-0007)"."""
    ids = [str(dict(o.get("spec", {})).get("id", "")) for o in observations]
    span = f" (ids {ids[0]}..{ids[-1]})" if ids and ids[0] else ""
    return f"{len(ids)} experiment{'s' if len(ids) != 1 else ''}{span}"


def find_clashes(
    client: Any, run_id: str, base: int, spooled: Sequence[SpooledRound], recorded: Collection[int]
) -> list[tuple[SpooledRound, str]]:
    """The spooled rounds whose slot (stored round ``round + base``, in ``recorded``) holds
    experiments other than theirs, each with :func:`held` of what it holds."""
    out: list[tuple[SpooledRound, str]] = []
    with tempfile.TemporaryDirectory(prefix="perturbo-clash-") as tmp:
        for s in spooled:
            if s.round + base not in recorded:
                continue
            path = f"{ROUNDS_DIR}/{round_file(s.round + base)}"
            stored = list(
                _read_json(client, run_id, path, Path(tmp) / str(s.round))["observations"]
            )
            ids = {str(dict(o.get("spec", {})).get("id", "")) for o in stored}
            if ids != {o.spec.id for o in s.observations}:
                out.append((s, held(stored)))
    return out


__all__ = ["find_clashes", "held"]
