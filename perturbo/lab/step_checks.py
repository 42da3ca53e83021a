"""What ``perturbo ask`` / ``tell`` check before a step records anything: an ``--out`` path
that cannot be written, a ``--next-batch`` larger than the experiments left untested. Each
is one :class:`~perturbo.types.PerturboError` line naming the flag and the fix."""

from __future__ import annotations

import os
from pathlib import Path

from perturbo.types import PerturboError

__all__ = ["check_next_batch", "check_out"]


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


def check_next_batch(uri: str, name: str, n: int | None) -> None:
    """Refuse ``--next-batch n`` larger than the library's experiments left untested once the
    pending batch is done: the campaign's ``library_genes`` parameter less the distinct
    experiments recorded or pending. Not checked for a campaign without that parameter, with
    nothing pending, or whose pending round is its last (no next batch is made); ``None``:
    no ``--next-batch`` given, nothing to check."""
    if n is None:
        return
    from perturbo import tracking
    from perturbo.lab.pending import read_pending
    from perturbo.lab.stored import lab_run

    store = tracking.open_store(uri)
    run_id, parent = lab_run(store, name)
    size = parent.data.params.get("library_genes")
    rounds = store.config(name).get("rounds")
    pending = read_pending(store.client, run_id)
    if size is None or pending is None or (rounds and pending.round + 1 >= int(rounds)):
        return
    specs = [o.spec for o in store.history(name)] + [o.spec for o in pending.rejected]
    tested = {tuple(sorted(map(str, s.params.items()))) for s in [*specs, *pending.specs]}
    left = int(size) - len(tested)
    if n > left:
        fix = f"use --next-batch {left} or less" if left > 0 else "drop --next-batch"
        raise PerturboError(
            f"--next-batch {n}: only {max(left, 0)} untested gene(s) are left in the library "
            f"after this batch; {fix} (nothing recorded)"
        )
