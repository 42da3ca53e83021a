"""What ``perturbo ask`` / ``tell`` check before a step records anything: an ``--out`` path
that cannot be written, a ``--next-batch`` larger than the experiments left untested (how many
are left, and what they are called, is the kind's to say: its lab hooks' ``untested_left``).
Each is one :class:`~perturbo.types.PerturboError` line naming the flag and the fix."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from perturbo.types import Observation, PerturboError

if TYPE_CHECKING:
    from perturbo.lab.pending import Pending

__all__ = ["check_out", "refuse_next_batch"]


def check_out(out: str | None) -> None:
    """Refuse an ``--out`` path whose folder does not exist or is not writable, that is a
    folder, or a file that is not writable."""
    if out is None:
        return
    p = Path(out)
    folder = p.parent
    if not folder.is_dir():
        why = f"its folder {folder} does not exist; create it or pass another path"
    elif p.is_dir():
        why = "is a folder; pass a file name"
    elif not os.access(folder, os.W_OK | os.X_OK):
        why = f"its folder {folder} is not writable; pass another path"
    elif p.exists() and not os.access(p, os.W_OK):
        why = "the file is not writable; pass another path"
    else:
        return
    raise PerturboError(f"--out {out}: {why} (nothing recorded)")


def refuse_next_batch(
    lab: Any,
    params: Mapping[str, str],
    config: Mapping[str, Any],
    history: Sequence[Observation],
    pending: Pending | None,
    n: int | None,
) -> None:
    """Refuse ``--next-batch n`` larger than what the kind's lab hooks (``lab``) say is left
    to propose once ``pending`` is done: ``lab.untested_left(params, tested)`` gives that
    number and its name from the campaign's logged ``params`` and the distinct experiments
    recorded (``history``) or pending. Not checked for a kind without that hook (or a
    campaign it has no size for), with nothing pending, or whose pending round is its last
    (no next batch is made)."""
    hook = getattr(lab, "untested_left", None)
    rounds = config.get("rounds")
    if n is None or hook is None or pending is None:
        return
    if rounds and pending.round + 1 >= int(rounds):
        return
    specs = [o.spec for o in history] + [o.spec for o in pending.rejected]
    tested = {tuple(sorted(map(str, s.params.items()))) for s in [*specs, *pending.specs]}
    room = hook(params, len(tested))
    if room is None:
        return
    left, what = room
    if n > left:
        fix = f"use --next-batch {left} or less" if left > 0 else "drop --next-batch"
        raise PerturboError(
            f"--next-batch {n}: only {max(left, 0)} {what} after this batch; {fix} "
            "(nothing recorded)"
        )
