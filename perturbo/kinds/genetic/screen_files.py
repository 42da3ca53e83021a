"""Reading a screen's files, each refused in one line naming the file, the place and the fix:
the ``Gene,Score`` CSV (:func:`csv_table` for gene and pair screens alike), a ``--hits`` file
and a task (a task.json, a sentence, or the default). The rules they follow are listed in
:mod:`perturbo.kinds.genetic.screens`, which builds a :class:`~.screens.Screen` from them.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from pathlib import Path

import numpy as np

from perturbo.types import PerturboError

HIT_FRACTION = 0.05
"""Default hit rule for a user's screen without a hits file: the top 5% by |score|."""

GENE_COLUMNS = (
    "gene",
    "gene symbol",
    "gene_symbol",
    "target gene",
    "target_gene",
    "target gene symbol",
    "target_gene_symbol",
    "symbol",
)
"""Header names (lower case) taken as the gene column, first match wins: a screen's and a
lab library's alike."""

TAB_SUFFIXES = (".tsv", ".tab", ".txt")
"""File names read as tab-separated when the file has a tab (else comma-separated)."""


def delimiter(path: Path, text: str) -> str:
    """The field separator of a screen or lab file: a tab for ``.tsv``/``.tab``/``.txt``
    names whose text has one, else a comma."""
    return "\t" if path.suffix.lower() in TAB_SUFFIXES and "\t" in text else ","


def normalize_gene(symbol: str) -> str:
    """The canonical form of a gene symbol: whitespace stripped, upper case. It is the key
    genes are matched by (a mouse ``Cd247`` meets the human gene-set libraries' ``CD247``, a
    hits file's ``cd247`` its screen row), never what a user is shown: that is the screen
    file's own spelling (:func:`read_gene_scores`' third value, :meth:`~.screens.Screen.spell`)."""
    return symbol.strip().upper()


def csv_table(
    path: Path, what: str, columns: tuple[str, ...], fix: str
) -> tuple[list[list[str]], tuple[int, ...]]:
    """The non-empty rows of a CSV screen (tab-separated for the names
    :func:`delimiter` takes so) and the positions of ``columns`` (matched ignoring case; a
    ``gene`` column by any name of :data:`GENE_COLUMNS`) in its header; a
    :class:`PerturboError` naming ``what`` and ``fix`` if the file cannot be read, is empty,
    lacks a column, or has no data rows. Used for gene and pair screens alike."""
    try:
        text = path.read_text(encoding="utf-8-sig")
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter(path, text)))
    except UnicodeDecodeError as e:
        raise PerturboError(_not_utf8(path, what, e)) from None
    except (OSError, csv.Error) as e:
        raise PerturboError(f"{what} {path}: cannot be read as CSV ({e}); {fix}") from None
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise PerturboError(f"{what} {path}: the file is empty; {fix}")
    header = [c.strip().lower() for c in rows[0]]
    at = {c: _column(header, c) for c in columns}
    missing = [c for c, i in at.items() if i is None]
    if missing:
        from perturbo.kinds.genetic.screen_formats import missing_columns_hint

        names = " or ".join(m.capitalize() for m in missing)
        hint = missing_columns_hint(header, GENE_COLUMNS, columns)
        raise PerturboError(  # the header is not echoed: it may be any file's first line
            f"{what} {path}: no {names} column in its first row ({len(rows[0])} fields; "
            f"{hint}); {_separator_hint(path, rows[0])}{fix}"
        )
    if len(rows) == 1:
        raise PerturboError(f"{what} {path}: the header has no data rows below it; {fix}")
    return rows, tuple(i for i in at.values() if i is not None)


def _column(header: list[str], name: str) -> int | None:
    for alias in GENE_COLUMNS if name == "gene" else (name,):
        if alias in header:
            return header.index(alias)
    return None


def _separator_hint(path: Path, first: list[str]) -> str:
    """For a one-field header with tabs or semicolons in it: how to have it read."""
    if len(first) != 1:
        return ""
    if "\t" in first[0]:
        return f"its fields are tab-separated: name it {path.stem}.tsv, or "
    if ";" in first[0]:
        return "its fields are separated by ';' (Excel in some languages): save it comma-separated, or "
    return ""


def _not_utf8(path: Path, what: str, e: UnicodeDecodeError) -> str:
    """The line, and the fix, for a file that is not UTF-8 text (latin-1 from Excel, binary)."""
    try:  # the decoder's error is relative to a chunk: find the place in the whole file
        data = path.read_bytes()
        data.decode("utf-8-sig")
    except UnicodeDecodeError as whole:
        e = whole
    except OSError:
        data = b""
    start = e.start + (3 if data.startswith(b"\xef\xbb\xbf") else 0)
    line = data[:start].count(b"\n") + 1
    byte = data[start : start + 1].hex() or "?"
    if b"\x00" in data[:4096]:
        return (
            f"{what} {path}: is not a text file (binary data near line {line}); pass a "
            "CSV saved as UTF-8 text"
        )
    return (
        f"{what} {path}: line {line} is not UTF-8 text (byte 0x{byte}, e.g. latin-1 from "
        f"Excel); save the file as 'CSV UTF-8', or convert it: iconv -f latin1 -t utf-8 "
        f"{path} > {path.with_suffix('')}-utf8.csv"
    )


def read_gene_scores(
    path: Path, allow_duplicates: bool
) -> tuple[tuple[str, ...], np.ndarray, dict[str, str]]:
    """(genes, scores, spelling) of a ``Gene,Score`` CSV: genes normalised (the keys genes are
    matched by), ``spelling`` the file's own spelling of each gene whose symbol is not already
    upper case (``{"CD247": "Cd247"}`` for a mouse screen; the first row's where a gene repeats),
    so proposals, hits and records show the user's symbols. A :class:`PerturboError` naming
    the line and the fix for a short row, an empty gene, a score that is not a finite number,
    or (unless ``allow_duplicates``: the largest |score| is kept) a repeated gene."""
    fix = (
        "it must be a CSV (or a .tsv, tab-separated) with a header row containing Gene and "
        "Score, one gene per row"
    )
    rows, (gi, si) = csv_table(path, "screen", ("gene", "score"), fix)
    best: dict[str, float] = {}
    spelling: dict[str, str] = {}
    dupes: list[str] = []
    bad_nan: list[str] = []
    not_number: list[str] = []
    for lineno, r in enumerate(rows[1:], start=2):
        if len(r) <= max(gi, si):
            raise PerturboError(f"screen {path}: line {lineno} has {len(r)} fields, too few; {fix}")
        gene = normalize_gene(r[gi])
        if not gene:
            raise PerturboError(
                f"screen {path}: line {lineno} has an empty Gene; fill or delete it"
            )
        try:
            score = float(r[si])
        except ValueError:  # NA, blank, text: all of them are listed at once below
            not_number.append(f"line {lineno} {r[gi].strip()} {r[si].strip()!r}")
            continue
        if not math.isfinite(score):
            bad_nan.append(gene)
            continue
        if gene not in best and r[gi].strip() != gene:
            spelling[gene] = r[gi].strip()
        if gene in best:
            dupes.append(gene)
            if abs(score) > abs(best[gene]):
                best[gene] = score
            continue
        best[gene] = score
    if not_number:
        more = f", ... ({len(not_number) - 5} more)" if len(not_number) > 5 else ""
        raise PerturboError(
            f"screen {path}: {len(not_number)} row(s) have a Score that is not a number "
            f"({', '.join(not_number[:5])}{more}; NA or blank included); give them a number or "
            "delete those rows"
        )
    if bad_nan:
        raise PerturboError(
            f"screen {path}: {len(bad_nan)} gene(s) have a NaN or infinite Score "
            f"({', '.join(bad_nan[:5])}{', ...' if len(bad_nan) > 5 else ''}); "
            "give them a number or delete those rows"
        )
    if dupes and not allow_duplicates:
        shown = sorted({spelling.get(g, g) for g in dupes})  # as the file spells them
        raise PerturboError(
            f"screen {path}: {len(shown)} gene(s) appear on more than one row "
            f"({', '.join(shown[:5])}{', ...' if len(shown) > 5 else ''}; symbols compared "
            "ignoring case and spaces); keep one row per gene (e.g. average the replicates)"
        )
    return tuple(best), np.fromiter(best.values(), float, len(best)), spelling


def hits_file_lines(path: Path, unit: str) -> list[tuple[int, str]]:
    """The ``(line number, text)`` of a ``--hits`` file's entries: ``#`` comments cut, blank
    lines left out; one clear error if it cannot be read (``unit``: "gene", "pair")."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise PerturboError(
            f"--hits {path}: cannot be read ({e}); pass a text file with one hit {unit} per line"
        ) from None
    entries = ((i, ln.split("#", 1)[0].strip()) for i, ln in enumerate(lines, start=1))
    return [(i, text) for i, text in entries if text]


def read_hits(path: Path, genes: tuple[str, ...]) -> frozenset[str]:
    """The genes named in a ``--hits`` file (one per line, ``#`` comments), or in the gene
    column (:data:`GENE_COLUMNS`) of a CSV/TSV with a header; all must be in ``genes``.
    Separated fields without such a header are refused, saying the format. Names are matched
    ignoring case (``genes`` are normalised); the unknown ones are named as the file spells them."""
    lines = hits_file_lines(path, "gene")
    names = _hit_names(path, lines)
    raw = {normalize_gene(text): text.strip() for text in reversed(names)}  # first spelling
    named = [normalize_gene(text) for text in names]
    if not named:
        raise PerturboError(
            f"--hits {path}: no gene names in it; write one hit gene per line, or drop --hits "
            f"to use the top {HIT_FRACTION:.0%} of genes by |score|"
        )
    known = set(genes)
    unknown = [raw[g] for g in dict.fromkeys(named) if g not in known]
    if unknown == [raw[named[0]]] and named.count(named[0]) == 1:  # a header line, likely
        raise PerturboError(
            f"--hits {path}: its first line {lines[0][1]!r} is not a gene of the screen (a "
            "header?); write one hit gene per line with no header, or name the column Gene"
        )
    if unknown:
        raise PerturboError(
            f"--hits {path}: {len(unknown)} gene(s) are not in the screen "
            f"({', '.join(unknown[:5])}{', ...' if len(unknown) > 5 else ''}); "
            "remove them or add them to the screen CSV"
        )
    return frozenset(named)


def _hit_names(path: Path, lines: list[tuple[int, str]]) -> list[str]:
    """The hit genes' names in ``lines``: each line's text, or, where the first line is a
    header of separated fields naming a gene column, that column of the rows below it."""
    if not lines:
        return []
    sep = "\t" if "\t" in lines[0][1] else "," if "," in lines[0][1] else ";"
    header = [c.strip().lower() for c in lines[0][1].split(sep)]
    at = _column(header, "gene")
    if at is not None:  # a table with a gene column (one field alone: a "Gene" header line)
        return [t.split(sep)[at].strip() for _, t in lines[1:] if len(t.split(sep)) > at]
    for lineno, text in lines:
        if any(c in text for c in ",;\t"):
            fields = len(re.split(r"[,;\t]", text))
            raise PerturboError(
                f"--hits {path}: line {lineno} has {fields} separated fields, and the first "
                "line names no Gene column; write one hit gene per line, or give the table a "
                "header with a Gene column"
            )
    return [text for _, text in lines]


def read_task(task: str | None, csv_path: Path | None) -> tuple[str, str, str, dict[str, str]]:
    """(task, measurement, study or "", other keys lower-cased) from a task.json path, a plain
    sentence, or defaults."""
    if task is None and csv_path is not None:
        beside = csv_path.with_name(csv_path.stem + ".task.json")
        task = str(beside) if beside.is_file() else None
    if task is None:
        return (
            "identify genes whose knockout changes the phenotype measured by this screen",
            "the screen's Score column (a hit is a gene whose perturbation changes it strongly)",
            "",
            {},
        )
    path = Path(task)
    if not path.is_file():
        if task.lower().endswith(".json"):
            raise PerturboError(
                f"--task {task}: no such file; pass an existing task.json "
                '({"Task": "...", "Measurement": "..."}) or the task sentence itself'
            )
        return task.strip(), "the screen's Score column", "", {}
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise PerturboError(
            f"--task {task}: not valid JSON ({e}); write "
            '{"Task": "what the screen looks for", "Measurement": "what Score measures"}'
        ) from None
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("Task"), str)
        or not data["Task"].strip()
    ):
        raise PerturboError(
            f'--task {task}: needs a non-empty string "Task" (and optionally "Measurement", '
            '"Study"), e.g. {"Task": "identify genes that regulate IL-2", "Measurement": "..."}'
        )
    measurement = data.get("Measurement") or "the screen's Score column"
    extra = {str(k).lower(): str(v) for k, v in data.items() if isinstance(v, str)}
    return (
        data["Task"].strip(),
        str(measurement).strip(),
        str(data.get("Study") or "").strip(),
        extra,
    )


__all__ = [
    "GENE_COLUMNS",
    "HIT_FRACTION",
    "TAB_SUFFIXES",
    "csv_table",
    "delimiter",
    "normalize_gene",
    "read_gene_scores",
    "read_hits",
    "read_task",
]
