"""Whether a campaign's records are whole: what ``perturbo show`` reports and ``resume`` refuses.

A campaign's records are its config (``campaign/config.json``), one round file per recorded
round (``rounds/round-NNN.json``, the commit point) and its nested runs (one per trial, or per
round). Someone deleting or truncating one of them must not be silently "repaired": a deleted
round file looked like a round that never committed, so ``resume`` deleted its trial runs and
ran it again; a truncated file or a missing config was blamed on the server (issue 17). Each
problem here names the file or run and the fix; nothing here writes.

A round counts as missing when a later round is recorded, when its driver ended saying more
rounds were committed (:data:`COMMITTED_TAG`, written when a driver releases its claim), or
when the campaign FINISHED. The last round of a driver that was killed, with nested runs but
no file, is a round that never committed: ``resume`` runs it again, as designed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from perturbo.tracking.layout import (
    CONFIG_FILE,
    NESTING_TAG,
    ROLE,
    ROUND_TAG,
    ROUNDS_DIR,
    round_file,
)
from perturbo.types import Observation, PerturboError

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities import Run

    from perturbo.tracking.reader import MlflowStore

COMMITTED_TAG = "perturbo.rounds_committed"
"""Parent-run tag a driver writes when it ends: how many round files it left committed."""
_BASE_TAG = "perturbo.round_base"
"""The stored number of a campaign's first round (absent: 0, stores before rounds were 1..N)."""


@dataclass(frozen=True)
class Damage:
    """One problem in a campaign's records: what, where, and how to fix it."""

    what: str
    fix: str

    def line(self) -> str:
        return f"{self.what}: {self.fix}"


class DamagedCampaign(PerturboError):
    """A campaign whose records are not whole (``resume`` refuses it, naming the first)."""


def damaged_file(campaign: str, run_id: str, path: str, e: Exception) -> DamagedCampaign:
    """A record of ``campaign`` that cannot be read (truncated, not JSON, wrong shape)."""
    why = str(e).splitlines()[0][:200] if str(e) else type(e).__name__
    return DamagedCampaign(
        f"campaign {campaign!r}: {path} of its run {run_id} is damaged ({why}; truncated?): "
        "restore it from a backup of the store; nothing was changed"
    )


def missing_config(campaign: str, run_id: str) -> DamagedCampaign:
    return DamagedCampaign(f"campaign {campaign!r}: {_missing_config(run_id).line()}")


def _missing_config(run_id: str) -> Damage:
    return Damage(
        f"its config {CONFIG_FILE} is missing from its run {run_id}",
        "resume rebuilds the campaign from it: restore the file from a backup of the store, "
        "or start a new campaign with the same settings",
    )


def check(store: MlflowStore, campaign: str) -> list[Damage]:
    """Every problem in ``campaign``'s records (empty: whole)."""
    _, parent = store._open(campaign)  # noqa: SLF001 - the store's one lookup
    return store._in_tmp(  # noqa: SLF001 - the store's one error wrapper
        f"checking the records of campaign {campaign!r}",
        lambda tmp: _check(store, campaign, parent, tmp),
    )


def refuse_damaged(store: MlflowStore, campaign: str) -> None:
    """Raise :class:`DamagedCampaign` naming the first problem (``resume``: never re-run a
    recorded round, never go on without a record)."""
    problems = check(store, campaign)
    if not problems:
        return
    more = (
        f" ({len(problems) - 1} more: `perturbo show {campaign}` lists them)"
        if len(problems) > 1
        else ""
    )
    raise DamagedCampaign(
        f"campaign {campaign!r} cannot be resumed, its records in {store.uri!r} are damaged: "
        f"{problems[0].line()}{more}; nothing was changed"
    )


def _check(store: MlflowStore, campaign: str, parent: Run, tmp: Path) -> list[Damage]:
    from perturbo.tracking.reader import nested_runs
    from perturbo.tracking.spool import Spool

    c, run_id = store.client, parent.info.run_id
    tags = dict(parent.data.tags)
    base = int(tags[_BASE_TAG]) if tags.get(_BASE_TAG, "").isdigit() else 0
    out: list[Damage] = []
    if not has_file(c, run_id, CONFIG_FILE):
        out.append(_missing_config(run_id))
    files = _round_files(c, run_id)
    rounds: dict[int, list[Observation]] = {}

    def at(path: str) -> str:  # where the file belongs, for a store with local artifacts
        uri = parent.info.artifact_uri or ""
        return f" ({unquote(urlparse(uri).path)}/{path})" if uri.startswith("file:") else ""

    for r, path in sorted(files.items()):
        try:
            rounds[r] = _read_round(c, run_id, path, tmp / f"r{r}")
        except (ValueError, KeyError, TypeError) as e:
            why = str(e).splitlines()[0][:160] if str(e) else type(e).__name__
            out.append(
                Damage(
                    f"{path} of its run {run_id} is damaged ({why}; truncated?)",
                    f"restore the file{at(path)} from a backup of the store",
                )
            )
    exp_id = parent.info.experiment_id
    nested = nested_runs(c, exp_id, run_id)
    spooled = {s.round + base for s in Spool(store.uri, campaign, store.spool_dir).rounds()}
    tagged = {int(t) for r in nested if (t := r.data.tags.get(ROUND_TAG, "")).lstrip("-").isdigit()}
    committed = tags.get(COMMITTED_TAG, "")
    last = max(files, default=base - 1)
    if committed.isdigit():
        last = max(last, base + int(committed) - 1)
    if parent.info.status == "FINISHED":
        last = max(last, max(tagged, default=last))
    for r in range(base, last + 1):
        if r not in files and r not in spooled:
            why = (
                "later rounds are recorded"
                if r < max(files, default=base - 1)
                else f"its last driver left {committed} rounds recorded"
                if committed.isdigit() and r < base + int(committed)
                else "the campaign finished"
            )
            out.append(
                Damage(
                    f"round file {ROUNDS_DIR}/{round_file(r)} is missing from its run {run_id} "
                    f"({why})",
                    f"restore the file{at(f'{ROUNDS_DIR}/{round_file(r)}')} from a backup of "
                    "the store (resume will not run a recorded round again)",
                )
            )
    out += _missing_runs(c, exp_id, run_id, tags.get(NESTING_TAG, "trial"), rounds, nested)
    return out


def _missing_runs(
    c: MlflowClient,
    exp_id: str,
    run_id: str,
    nesting: str,
    rounds: dict[int, list[Observation]],
    nested: list[Run],
) -> list[Damage]:
    """Recorded experiments (rounds) whose nested run is gone; a run deleted to MLflow's
    trash is named with the command that restores it."""
    out: list[Damage] = []
    if nesting in ("trial", "both"):
        have = {r.data.tags.get("perturbo.id") for r in nested if _role(r) == "trial"}
        gone = [(r, o.spec.id) for r, obs in rounds.items() for o in obs if o.spec.id not in have]
        trash = _deleted(c, exp_id, run_id, "trial", "perturbo.id") if gone else {}
        for r, oid in gone:
            out.append(_gone(f"trial run trial-{oid} (round {r})", trash.get(oid), run_id))
    if nesting in ("round", "both"):
        have = {r.data.tags.get(ROUND_TAG) for r in nested if _role(r) == "round"}
        gone_r = [r for r in rounds if str(r) not in have]
        trash = _deleted(c, exp_id, run_id, "round", ROUND_TAG) if gone_r else {}
        for r in gone_r:
            out.append(_gone(f"round run round-{r:03d}", trash.get(str(r)), run_id))
    return out


def _gone(what: str, deleted_id: str | None, run_id: str) -> Damage:
    if deleted_id is not None:
        return Damage(
            f"{what} of its run {run_id} was deleted (run {deleted_id}, in MLflow's trash)",
            f"restore it with `mlflow runs restore --run-id {deleted_id}`",
        )
    return Damage(
        f"{what} of its run {run_id} is missing (deleted for good)",
        "restore the store from a backup; its result is still in the round file",
    )


def _deleted(c: MlflowClient, exp_id: str, run_id: str, role: str, key: str) -> dict[str, str]:
    """Nested runs of ``role`` in MLflow's trash: their ``key`` tag -> run id."""
    from mlflow.entities import ViewType

    runs = c.search_runs(
        [exp_id],
        filter_string=f"tags.`mlflow.parentRunId` = '{run_id}' and tags.`{ROLE}` = '{role}'",
        run_view_type=ViewType.DELETED_ONLY,
        max_results=1000,
    )
    return {str(r.data.tags.get(key)): r.info.run_id for r in runs}


def _role(run: Run) -> str:
    return str(run.data.tags.get(ROLE, ""))


def has_file(c: MlflowClient, run_id: str, path: str) -> bool:
    folder, _, name = path.rpartition("/")
    return any(Path(f.path).name == name for f in c.list_artifacts(run_id, folder or None))


def _round_files(c: MlflowClient, run_id: str) -> dict[int, str]:
    from perturbo.tracking.layout import round_of

    out = {}
    for f in c.list_artifacts(run_id, ROUNDS_DIR):
        name = Path(f.path).name
        r = round_of(name) if name.endswith(".json") else None
        if r is not None:
            out[r] = f"{ROUNDS_DIR}/{name}"
    return out


def _read_round(c: MlflowClient, run_id: str, path: str, dst: Path) -> list[Observation]:
    dst.mkdir(parents=True, exist_ok=True)
    local = Path(c.download_artifacts(run_id, path, str(dst)))
    return parse_round(local.read_text())


def parse_round(text: str) -> list[Observation]:
    """A round file's observations; ``ValueError``/``KeyError``/``TypeError`` where it is not
    one (truncated, not JSON, another shape)."""
    data: Any = json.loads(text)
    int(data["round"])
    return [Observation.from_dict(x) for x in data["observations"]]


def committed_count(c: MlflowClient, run_id: str) -> int:
    """How many round files the parent run holds (what a driver leaves at :data:`COMMITTED_TAG`)."""
    return len(_round_files(c, run_id))


__all__ = [
    "COMMITTED_TAG",
    "Damage",
    "DamagedCampaign",
    "check",
    "committed_count",
    "damaged_file",
    "has_file",
    "missing_config",
    "parse_round",
    "refuse_damaged",
]
