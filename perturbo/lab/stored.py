"""What the store holds of a lab campaign beyond its rounds: the lab tag, the batch sheets,
what its planner read of earlier campaigns at start (:mod:`perturbo.lab.frozen`); and where a
batch sheet's file goes in the lab's folder without losing the lab's notes in it
(:func:`place_sheet`)."""

from __future__ import annotations

import csv
import io
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from perturbo.lab.frozen import EARLIER_FILE, INPUTS_FILE, AsAtStart, Inputs
from perturbo.lab.pending import LAB_TAG, Pending
from perturbo.types import PerturboError

__all__ = [
    "as_at_start",
    "finished",
    "lab_run",
    "log_sheet",
    "pending_sheet",
    "place_sheet",
    "round_sheet",
]


def log_sheet(recorder: Any, pending: Pending, rows: Sequence[Mapping[str, str]]) -> None:
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
    rows = round_sheet(store, run_id, pending.round)
    if rows is None:
        raise PerturboError(f"round {pending.round + 1}'s batch sheet is missing from the store")
    return rows


def round_sheet(store: Any, run_id: str, round_no: int) -> list[dict[str, str]] | None:
    """The batch sheet perturbo wrote for round ``round_no`` (0-based) of the lab campaign
    whose parent run is ``run_id``, as rows; ``None`` where the store has none."""
    import tempfile

    name = f"lab/batch-r{round_no + 1:03d}.csv"
    if name not in {f.path for f in store.client.list_artifacts(run_id, "lab")}:
        return None
    with tempfile.TemporaryDirectory(prefix="perturbo-lab-") as tmp:
        path = store.client.download_artifacts(run_id, name, tmp)
        with Path(path).open(newline="") as f:
            return list(csv.DictReader(f))


def _parsed(text: str) -> list[list[str]]:
    return [r for r in csv.reader(io.StringIO(text)) if r]


def place_sheet(path: Path, text: str, explicit: bool, fresh: bool, uri: str, campaign: str) -> str:
    """Write the sheet ``text`` to ``path`` unless that would lose something; what to say of
    where it is. Kept as it is: a file that holds the same table already, and -- a later step of
    a round proposed before (``not fresh``, no ``--out``) -- the round's file whatever it
    holds now (the lab's copy, notes and all). Written beside, under the first free name
    (``NAME-v2.csv`` ...): a file that differs from every sheet perturbo wrote (an edited copy,
    another campaign's); with ``--out`` (``explicit``) only an edited batch sheet, while any
    other file there is replaced, as asked."""
    try:
        old = path.read_bytes().decode("utf-8", errors="replace")
    except FileNotFoundError:
        old = None
    new = _parsed(text)
    if old is None:
        _write(path, text)
        return str(path)
    if _parsed(old) == new:
        return str(path)
    if explicit and (not _is_sheet(old) or _perturbos(old, uri, campaign)):
        _write(path, text)
        return str(path)
    if not fresh and not explicit:
        return (f"{path} (kept as it is: it differs from the sheet perturbo wrote, your changes "
                f"stay; `perturbo ask {shlex.quote(campaign)}` prints perturbo's)")  # fmt: skip
    for k in range(2, 1000):
        beside = path.with_name(f"{path.stem}-v{k}{path.suffix}")
        if not beside.exists():
            _write(beside, text)
            break
        if _parsed(beside.read_bytes().decode("utf-8", errors="replace")) == new:
            break
    else:
        raise OSError(f"{path.stem}-v2..999{path.suffix} all exist")
    return f"{beside} ({path} differs from the sheet perturbo wrote: left as it is)"


def _write(path: Path, text: str) -> None:
    """``text`` to ``path``, written beside and renamed into place (never half a sheet)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _is_sheet(text: str) -> bool:
    """Whether ``text`` is a batch sheet (its header has Round, Rank and Gene)."""
    rows = _parsed(text)
    return bool(rows) and {"Round", "Rank", "Gene"} <= set(rows[0])


def _perturbos(text: str, uri: str, campaign: str) -> bool:
    """Whether the batch sheet ``text`` is one campaign ``campaign`` wrote, unchanged (all of
    one round's rows, or some of them: ``ask --to-come``), so replacing it loses nothing."""
    from perturbo import tracking

    header, *rows = _parsed(text)
    at = header.index("Round")
    rounds = {r[at] if len(r) > at else "" for r in rows}
    if len(rounds) != 1 or not (r := rounds.pop()).isdigit() or int(r) < 1:
        return False
    store = tracking.open_store(uri)
    stored = round_sheet(store, store.parent_run_id(campaign), int(r) - 1)
    if not stored or list(stored[0]) != header:
        return False
    theirs = {tuple(d.get(h) or "" for h in header) for d in stored}
    return all(tuple(row) in theirs for row in rows)
