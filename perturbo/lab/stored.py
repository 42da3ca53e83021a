"""What the store holds of a lab campaign beyond its rounds: the lab tag, the batch sheets,
what its planner read of earlier campaigns at start (:mod:`perturbo.lab.frozen`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from perturbo.lab.frozen import EARLIER_FILE, INPUTS_FILE, AsAtStart, Inputs
from perturbo.lab.pending import LAB_TAG, Pending
from perturbo.types import PerturboError

__all__ = ["as_at_start", "finished", "lab_run", "log_sheet", "pending_sheet"]


def log_sheet(recorder: Any, pending: Pending, rows: Sequence[Mapping[str, str]]) -> None:
    import csv
    import io

    buf = io.StringIO()
    if rows:
        w = csv.DictWriter(buf, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    recorder.client.log_text(
        recorder.run_id, buf.getvalue(), f"lab/batch-r{pending.round + 1:03d}.csv"
    )


def lab_run(store: Any, name: str) -> tuple[str, Any]:
    """The parent run id of lab campaign ``name``, refusing a campaign that is not one."""
    _, parent = store._open(name)  # noqa: SLF001 - the store's one lookup
    if parent.data.tags.get(LAB_TAG) != "1":
        raise PerturboError(
            f"campaign {name!r} is not a lab campaign (its experiments ran in perturbo): "
            "`perturbo run KIND --lab ...` starts one"
        )
    return parent.info.run_id, parent


def as_at_start(uri: str, name: str) -> Any:
    """The store as the campaign's planner read it at start, with the input files it read
    (:mod:`perturbo.lab.frozen`); a campaign started before these were kept reads the store
    as it is and the files at their paths."""
    import tempfile
    from pathlib import Path

    from perturbo import tracking

    store = tracking.open_store(uri)
    run_id = store.parent_run_id(name)
    names = {f.path for f in store.client.list_artifacts(run_id, "lab")}
    if EARLIER_FILE not in names and INPUTS_FILE not in names:  # started before: as it is
        return store
    with tempfile.TemporaryDirectory(prefix="perturbo-lab-") as tmp:
        inputs = None
        if INPUTS_FILE in names:
            path = store.client.download_artifacts(run_id, INPUTS_FILE, tmp)
            inputs = Inputs.from_json(Path(path).read_text(encoding="utf-8"))
        if EARLIER_FILE not in names:
            return AsAtStart(store, None, inputs)
        path = store.client.download_artifacts(run_id, EARLIER_FILE, tmp)
        return AsAtStart.from_json(store, Path(path).read_text(), inputs)


def finished(store: Any, name: str) -> bool:
    _, parent = store._open(name)  # noqa: SLF001 - the store's one lookup
    return parent.info.status == "FINISHED"


def pending_sheet(store: Any, run_id: str, pending: Pending) -> list[dict[str, str]]:
    import csv
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory(prefix="perturbo-lab-") as tmp:
        path = store.client.download_artifacts(
            run_id, f"lab/batch-r{pending.round + 1:03d}.csv", tmp
        )
        with Path(path).open(newline="") as f:
            return list(csv.DictReader(f))
