"""A lab campaign's export columns from the results files told: per measured gene, how many
replicate rows its file held (``replicates``) and the file it came from (``file``).

Each told file is kept in the campaign's store as ``lab/hit-call-rNNN-pKK.csv`` (round NNN,
part KK: one row per row read, with the file, the gene, whether it is a control, its replicate
value and the hit call); this reads them through the store reader and adds the two columns to
:func:`perturbo.export.rows`' table, matching rows by round and gene. A campaign without such
files (a study's trials, a screen run in perturbo) is returned as it was.
"""

from __future__ import annotations

import csv
import re
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["LAB_COLUMNS", "with_lab_files"]

LAB_COLUMNS = ("replicates", "file")
_HIT_CALL = re.compile(r"^lab/hit-call-r(\d+)-p(\d+)\.csv$")


def _key(gene: object) -> str:
    return str(gene).strip().casefold()


def _files(store: Any, name: str) -> dict[tuple[int, str], dict[str, Any]]:
    """(round, gene) -> its replicates and file, from every kept hit-call file (a later part
    of a round wins: it is the one recorded)."""
    found = sorted(
        (int(m[1]), int(m[2]), p) for p in store.artifacts(name, "lab") if (m := _HIT_CALL.match(p))
    )
    out: dict[tuple[int, str], dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="perturbo-export-") as tmp:
        for rnd, _, path in found:
            local = store.download(name, path, tmp)
            counts: dict[str, list[Any]] = {}
            with Path(local).open(newline="", encoding="utf-8") as f:
                for row in csv.DictReader(f):
                    if str(row.get("control", "0")).strip() in ("1", "True", "true"):
                        continue
                    got = counts.setdefault(_key(row.get("gene", "")), [0, row.get("file", "")])
                    got[0] += 1
            for gene, (n, file) in counts.items():
                out[(rnd, gene)] = {"replicates": n, "file": file}
    return out


def with_lab_files(
    store: Any, name: str, columns: list[str], table: list[dict[str, Any]]
) -> tuple[list[str], list[dict[str, Any]]]:
    """``columns`` and ``table`` with :data:`LAB_COLUMNS` filled where the campaign kept its
    told files (before ``duration_s``); unchanged otherwise."""
    files = _files(store, name)
    if not files or "gene" not in columns:
        return columns, table
    for row in table:
        row.update(files.get((int(row["round"]), _key(row.get("gene", ""))), {}))
    at = columns.index("duration_s") if "duration_s" in columns else len(columns)
    return [*columns[:at], *LAB_COLUMNS, *columns[at:]], table
