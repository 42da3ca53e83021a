"""A lab's library: the genes a campaign may propose, with the guide rows the lab orders.

Accepted files (CSV, tab-separated for ``.tsv``/``.tab``/``.txt`` names, or semicolon-separated
where the header has semicolons and no comma):

- a gene list with a ``Gene`` column (one row per gene), or
- a guide library: ``Gene`` plus guide columns (``sgRNA``, ``Sequence``, ``Guide ID``, ...),
  several rows per gene (Brunello, TKOv3, ...); a row repeated exactly is one guide (the
  sheet's ``Guides`` count said 3 for a gene of two guides, one row pasted twice).

The gene column is matched ignoring case, and may also be called ``Gene Symbol``,
``Target Gene``, ``Target Gene Symbol`` or ``Symbol``. Gene symbols are matched as the
screens match them (:func:`perturbo.kinds.genetic.screens.normalize_gene`: stripped, upper
case) and shown as the file spells them (:attr:`Library.spelling`: a mouse library's
``Cd247`` is proposed, sheeted and recorded as ``Cd247``). :attr:`Library.genes` keeps library
order (first appearance); :meth:`Library.guides` gives each gene's rows as dicts, every column
as the text the file had.

:func:`load_gene_list` reads an ``--exclude`` / ``--controls`` file: one gene per line
(``#`` comments, blank lines ignored) or a CSV with a ``Gene`` column; its genes are kept as
the file spells them (a control is sheeted so), and every use matches them ignoring case.
"""

from __future__ import annotations

import csv
import functools
import io
from dataclasses import dataclass, field
from pathlib import Path

from perturbo.kinds.genetic.lab.errors import LabInputError
from perturbo.kinds.genetic.screen_files import GENE_COLUMNS, delimiter
from perturbo.kinds.genetic.screens import normalize_gene

__all__ = [
    "EXCLUDE_FIX",
    "GENE_COLUMNS",
    "LIBRARY_FIX",
    "Library",
    "load_gene_list",
    "load_library",
    "read_text",
]

_LIB_FIX = (
    "pass a CSV whose first row names a Gene column (one row per gene, or per guide with "
    "columns such as sgRNA, Sequence)"
)
LIBRARY_FIX = _LIB_FIX
"""How to fix an unreadable ``--library`` (for :func:`read_text`)."""
EXCLUDE_FIX = "write one gene per line (or a CSV with a Gene column)"
"""How to fix an unreadable ``--exclude`` / ``--controls`` file."""


@dataclass(frozen=True, eq=False)
class Library:
    """The genes of a library in file order (normalised: the keys they are matched by), each
    gene's rows (guides), and ``spelling``: normalised symbol -> the file's spelling, for the
    genes the file spells otherwise (the first row's)."""

    path: str
    gene_column: str
    columns: tuple[str, ...]
    genes: tuple[str, ...]
    _rows: dict[str, tuple[dict[str, str], ...]] = field(repr=False)
    spelling: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def guide_columns(self) -> tuple[str, ...]:
        """The columns other than the gene column (what the sheet carries over)."""
        return tuple(c for c in self.columns if c != self.gene_column)

    def guides(self, gene: str) -> list[dict[str, str]]:
        """The library rows of ``gene`` (normalised), as ``{column: text}`` dicts, file order;
        ``KeyError`` naming the gene if it is not in the library."""
        g = normalize_gene(gene)
        if g not in self._rows:
            raise KeyError(f"{gene!r} is not in the library {self.path}")
        return [dict(r) for r in self._rows[g]]

    def __contains__(self, gene: object) -> bool:
        return isinstance(gene, str) and normalize_gene(gene) in self._rows

    def __len__(self) -> int:
        return len(self.genes)


def read_text(path: str | Path, what: str, fix: str) -> str:
    """The text of the file ``path`` (``what``: the flag, ``fix``: how to fix it, both for the
    one-line :class:`LabInputError` it raises when the file cannot be read as text). A lab
    campaign keeps this text at start (:mod:`perturbo.lab.frozen`) and parses it thereafter."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise LabInputError(f"{what} {path}: no such file; {fix}") from None
    except IsADirectoryError:
        raise LabInputError(f"{what} {path}: is a folder, not a file; {fix}") from None
    except UnicodeDecodeError:
        raise LabInputError(
            f"{what} {path}: is not UTF-8 text (e.g. latin-1 from Excel or a binary file); "
            "save it as 'CSV UTF-8'"
        ) from None
    except OSError as e:
        raise LabInputError(f"{what} {path}: cannot be read ({e.strerror}); {fix}") from None
    if "\x00" in text[:4096]:
        raise LabInputError(f"{what} {path}: is not a text file; {fix}")
    return text


def _read_rows(
    path: Path, what: str, fix: str, text: str | None = None
) -> list[tuple[int, list[str]]]:
    """``(line number, fields)`` of the non-blank rows of a CSV/TSV file (``text``: its text,
    already read)."""
    if text is None:
        text = read_text(path, what, fix)
    try:
        rows = list(csv.reader(io.StringIO(text), delimiter=_separator(path, text)))
    except csv.Error as e:
        raise LabInputError(f"{what} {path}: cannot be read as CSV ({e}); {fix}") from None
    return [(i, r) for i, r in enumerate(rows, start=1) if any(c.strip() for c in r)]


def _separator(path: Path, text: str) -> str:
    """:func:`delimiter`'s, or ``;`` where the first line has semicolons and no comma (Excel's
    CSV in locales with a decimal comma: a ``Symbol;Guide`` library was refused as having no
    Gene column, while results files took ``;``). Screens keep their own rule: their scores
    would come with decimal commas, which their reader does not take."""
    sep = delimiter(path, text)
    header = text.lstrip().split("\n", 1)[0]
    return ";" if sep == "," and ";" in header and "," not in header else sep


def _gene_column(header: list[str]) -> int | None:
    low = [c.strip().lower() for c in header]
    for name in GENE_COLUMNS:
        if name in low:
            return low.index(name)
    return None


def load_library(path: str | Path, text: str | None = None) -> Library:
    """The :class:`Library` in ``path`` (``text``: the file's text as kept by the campaign, then
    the file is not read); a :class:`LabInputError` naming the file, the line and the fix if it
    cannot be read, is empty, has no gene column, or a row has no gene. Parsed once per process
    while the file (or text) is unchanged (a tell builds the campaign and then its sheet from
    it: an 18k-gene guide library took ~1.8 s a read)."""
    p = Path(path)
    if text is not None:
        return _parsed(str(path), text)
    try:
        st = p.stat()
    except OSError:
        return _load_library(p)  # the read names the problem
    return _load_cached(str(p.resolve()), st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=4)
def _load_cached(path: str, mtime_ns: int, size: int) -> Library:
    return _load_library(Path(path))


@functools.lru_cache(maxsize=4)
def _parsed(path: str, text: str) -> Library:
    return _load_library(Path(path), text)


def _load_library(p: Path, text: str | None = None) -> Library:
    what = "--library"
    numbered = _read_rows(p, what, _LIB_FIX, text)
    rows = [r for _, r in numbered]
    if not rows:
        raise LabInputError(f"{what} {p}: the file is empty; {_LIB_FIX}")
    header = [c.strip() for c in rows[0]]
    gi = _gene_column(header)
    if gi is None:
        raise LabInputError(
            f"{what} {p}: no Gene column in its first row ({len(header)} fields); {_LIB_FIX}"
        )
    if len(rows) == 1:
        raise LabInputError(f"{what} {p}: the header has no gene rows below it; {_LIB_FIX}")
    cols = tuple(c or f"column{i + 1}" for i, c in enumerate(header))
    by_gene: dict[str, list[dict[str, str]]] = {}
    spelling: dict[str, str] = {}
    for lineno, r in numbered[1:]:
        gene = normalize_gene(r[gi]) if gi < len(r) else ""
        if not gene:
            raise LabInputError(
                f"{what} {p}: line {lineno} has an empty {header[gi]}; fill or delete that row"
            )
        row = {c: (r[i].strip() if i < len(r) else "") for i, c in enumerate(cols)}
        if gene not in by_gene and row[cols[gi]] != gene:
            spelling[gene] = row[cols[gi]]
        if row not in by_gene.get(gene, ()):  # a row pasted twice is one guide, not two
            by_gene.setdefault(gene, []).append(row)
    return Library(
        str(p),
        cols[gi],
        cols,
        tuple(by_gene),
        {g: tuple(rs) for g, rs in by_gene.items()},
        spelling,
    )


def load_gene_list(
    path: str | Path, what: str = "gene list", text: str | None = None
) -> tuple[str, ...]:
    """The genes of an ``--exclude`` / ``--controls`` file (``what`` names the flag in errors;
    ``text``: the file's text as kept by the campaign, then the file is not read): one gene per
    line (``#`` comments and blank lines ignored), or a CSV whose first row has a ``Gene``
    column. As the file spells them (stripped; matched ignoring case by every use), repeats
    (in any case) dropped, file order kept."""
    p = Path(path)
    fix = EXCLUDE_FIX
    numbered = _read_rows(p, what, fix, text)
    entries = [(n, r, ",".join(r).split("#", 1)[0].strip()) for n, r in numbered]
    entries = [e for e in entries if e[2]]  # comment lines and blank ones dropped
    gi = _gene_column(entries[0][1]) if entries else None
    if gi is not None:  # a CSV with a Gene column
        names = [r[gi] for _, r, _ in entries[1:] if gi < len(r)]
    else:  # one gene per line
        wide = next((n for n, _, text in entries if "," in text), None)
        if wide is not None:
            raise LabInputError(
                f"{what} {p}: line {wide} holds several fields and the file has no Gene "
                f"column; {fix}"
            )
        names = [text for _, _, text in entries]
    genes = [n.strip() for n in names if n.strip()]
    if not genes:
        raise LabInputError(f"{what} {p}: no gene names in it; {fix}")
    first = {normalize_gene(g): g for g in reversed(genes)}  # the first spelling of each
    return tuple(dict.fromkeys(first[normalize_gene(g)] for g in genes))
