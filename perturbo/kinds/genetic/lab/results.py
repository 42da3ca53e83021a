"""Reading what the lab measured (``perturbo tell CAMPAIGN results.csv``) and checking it
against the pending batch before anything is recorded.

The file is a CSV with ``Gene`` and ``Score`` (matched ignoring case; the gene column may
have any name the library's may, e.g. ``Gene Symbol``), an optional ``Hit`` column (0/1;
``true``/``false`` too; read by the ``column`` hit rule only, a warning under another) and an
optional replicate column (``Replicate``, ``Rep`` or ``Replicate_ID``): with one, a gene's
rows are averaged (Score: mean; Hit: a hit when at least half the replicates say so). Fields
are separated as in the library (a tab for ``.tsv``/``.tab``/``.txt`` files that have one),
or by ``;`` when the header has semicolons and no comma (Excel's CSV where the decimal mark is
a comma). A Score with a decimal comma (``-2,388``) is read as a point wherever it cannot be
two fields: in a tab or semicolon file, or quoted in a comma file (``"-0,49"``). Genes are named
in messages as the file writes them. Every problem is one :class:`LabInputError` line naming
the file, the rows or genes, and the fix; nothing is returned half-checked:

- the file cannot be read, is empty, or lacks Gene / Score;
- a row has more fields than the header (in a comma file, probably an unquoted decimal comma);
- a row has no gene, a Score that is missing or not a finite number (the line is named), or a
  Hit that is not 0/1;
- genes recorded already (the round named, and both values where the file gives another), or
  not in the pending batch (in the library but not proposed, or not in the library: listed);
- a gene on several rows without a replicate column, or twice with the same replicate, or a
  row with a blank replicate (the gene and the lines are named).

Partial results are allowed: :attr:`LabResults.told` are the batch genes measured now,
:attr:`LabResults.still_pending` the rest. Controls (``--controls``) may appear in every
results file; they are measured and used by a z rule, never counted as experiments or hits.
A :class:`pandas.DataFrame` with the same columns is accepted in place of a path (the Python
API's ``tell(dataframe)``).
"""

from __future__ import annotations

import csv
import io
import math
import re
import warnings
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from perturbo.kinds.genetic.lab.errors import (
    LabInputError,
    Recorded,
    listed,
    not_in_batch,
    recorded_already,
)
from perturbo.kinds.genetic.lab.hit_rules import HitRule
from perturbo.kinds.genetic.lab.library import GENE_COLUMNS
from perturbo.kinds.genetic.screen_files import delimiter
from perturbo.kinds.genetic.screens import normalize_gene

__all__ = ["REPLICATE_COLUMNS", "LabResults", "read_results", "recorded_genes"]

REPLICATE_COLUMNS = ("replicate", "rep", "replicate_id", "replicate id")
_FIX = "write a CSV with a header row Gene,Score (optional Hit 0/1, optional Replicate)"
_DECIMAL_COMMA = re.compile(r"^[-+]?\d*,\d+([eE][-+]?\d+)?$")
_TRUE = {"1", "1.0", "true", "yes"}
_FALSE = {"0", "0.0", "false", "no"}


@dataclass(frozen=True, eq=False)
class LabResults:
    """Checked results, one row per gene, genes as the pending batch and the controls' list
    spell them (matched ignoring case). ``table``: ``Gene``, ``Score``, ``Hit`` (bool, by the
    campaign's rule), ``Replicates`` (rows averaged), ``Control``. ``told``: the batch genes
    measured now (file order, controls left out); ``still_pending``: the batch genes not in
    this file; ``hits``: the hit genes among ``told``; ``replicates``: the rows as read, one
    per gene and replicate (``Line``, ``Gene``, ``Score``, ``Replicate``, ``Hit``: the file's
    Hit column, NaN without one), before averaging."""

    source: str
    table: pd.DataFrame
    told: tuple[str, ...]
    still_pending: tuple[str, ...]
    hits: frozenset[str]
    controls_told: tuple[str, ...]
    replicates: pd.DataFrame | None = None

    def score(self, gene: str) -> float:
        g = normalize_gene(gene)
        return float(self.table.loc[self.table["Gene"].map(normalize_gene) == g, "Score"].iloc[0])

    def is_hit(self, gene: str) -> bool:
        return normalize_gene(gene) in {normalize_gene(h) for h in self.hits}


def _listed(genes: Iterable[str], limit: int = 8) -> str:
    return listed(genes, limit)


def recorded_genes(history: Iterable[object]) -> dict[str, Recorded]:
    """What the recorded rounds of ``history`` (observations) hold, by normalised gene: the
    round (1-based) and the score (``None``: recorded failed); the ``earlier`` of
    :func:`read_results`."""
    out: dict[str, Recorded] = {}
    for o in history:
        spec, outcome = o.spec, o.outcome  # type: ignore[attr-defined]
        gene = normalize_gene(str(spec.params.get("gene", "")))
        score = outcome.metrics.get("score") if outcome.ok else None
        out[gene] = (int(spec.round) + 1, None if score is None else float(score))
    return out


def _read_frame(source: str | Path | pd.DataFrame) -> tuple[str, pd.DataFrame, list[int], str]:
    """(name for messages, the raw table as text, the file line of each of its rows, the
    field separator)."""
    if isinstance(source, pd.DataFrame):
        frame = source.astype(object).where(source.notna(), "")
        return "results (table)", frame, list(range(1, len(frame) + 1)), ","
    p = Path(source)
    name = f"results {p}"
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise LabInputError(f"{name}: no such file; pass the path of the lab's CSV") from None
    except UnicodeDecodeError:
        raise LabInputError(
            f"{name}: is not UTF-8 text (e.g. latin-1 from Excel, or a binary file); save it "
            "as 'CSV UTF-8'"
        ) from None
    except OSError as e:
        raise LabInputError(f"{name}: cannot be read ({e.strerror}); {_FIX}") from None
    if not text.strip():
        raise LabInputError(f"{name}: the file is empty; {_FIX}")
    sep = _separator(p, text)
    header, rows, lines = _split(name, text, sep)
    frame = pd.DataFrame(rows, columns=_unique(header), dtype=object)
    return name, frame, lines, sep


def _split(name: str, text: str, sep: str) -> tuple[list[str], list[list[str]], list[int]]:
    """The header, the data rows (as long as the header: short rows padded with blanks, blank
    trailing fields dropped) and each row's file line; a row with more filled fields than the
    header is refused (in a comma file, most likely a decimal comma left unquoted)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    header: list[str] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        end = 0
        for fields in reader:
            first, end = end + 1, reader.line_num
            if not any(f.strip() for f in fields):
                continue
            if header is None:
                header = fields
                continue
            extra = fields[len(header) :]
            if any(f.strip() for f in extra):
                raise LabInputError(_too_many(name, first, fields, header, sep))
            rows.append(fields[: len(header)] + [""] * (len(header) - len(fields)))
            lines.append(first)
    except csv.Error as e:
        raise LabInputError(f"{name}: cannot be read as CSV ({e}); {_FIX}") from None
    return header or [], rows, lines


def _too_many(name: str, line: int, fields: list[str], header: list[str], sep: str) -> str:
    shown = sep.join(fields) if len(sep.join(fields)) <= 60 else sep.join(fields)[:57] + "..."
    said = f"{name}: line {line} ({shown!r}) has {len(fields)} fields, more than the header's "
    said += f"{len(header)} ({sep.join(header)!r})"
    numbers = [bool(re.fullmatch(r"[-+]?\d+", f.strip())) for f in fields]
    if sep == "," and any(a and b for a, b in zip(numbers, numbers[1:], strict=False)):
        return (
            f"{said}: probably a decimal comma (a number written 0,5); quote such numbers "
            '("0,5"), write them with a decimal point, or save the file with ; separators '
            "(Excel: CSV with the list separator ;)"
        )
    return f"{said}: a separator inside a value? quote that value, or remove the extra field"


def _unique(header: list[str]) -> list[str]:
    """Column names as pandas would make them: a repeated name gets ``.1``, ``.2``, ..."""
    seen: dict[str, int] = {}
    out = []
    for h in header:
        k = seen.get(h, 0)
        seen[h] = k + 1
        out.append(h if k == 0 else f"{h}.{k}")
    return out


def _separator(path: Path, text: str) -> str:
    """The library reader's separator (a tab for ``.tsv``/``.tab``/``.txt`` with a tab in it,
    else a comma), or ``;`` for a file whose header has semicolons and no comma (Excel's CSV in
    locales with a decimal comma)."""
    sep = delimiter(path, text)
    header = text.lstrip().splitlines()[0] if text.strip() else ""
    if sep == "," and ";" in header and "," not in header:
        return ";"
    return sep


def _number(raw: str) -> float:
    """The Score ``raw`` as a float; NaN if not a number. A decimal comma (``-0,5``) is read as
    a point: a field holds one only where a comma cannot separate fields (a tab or semicolon
    file), or quoted in a comma file (``"-0,5"``), or in a table handed in."""
    if _DECIMAL_COMMA.match(raw):
        raw = raw.replace(",", ".")
    try:
        return float(raw)
    except ValueError:
        return math.nan


Row = tuple[int, str, float, float | None, str]
"""A results row as read: its line, gene (normalised), score, Hit (0/1, None) and replicate."""


def _refuse_repeats(name: str, rows: list[Row], rep_c: object, written: Mapping[str, str]) -> None:
    """One line naming the first gene on several rows without a replicate column, or with
    the same replicate twice (genes and replicates matched ignoring case), and its lines."""
    lines: dict[tuple[str, str], list[int]] = {}
    for line, gene, _, _, rep in rows:
        lines.setdefault((gene, rep), []).append(line)
    repeats = {k: v for k, v in lines.items() if len(v) > 1}
    if not repeats:
        return
    (gene, rep), at = next(iter(repeats.items()))
    where = f"lines {', '.join(map(str, at))}"
    more = f" (and {len(repeats) - 1} more repeat(s))" if len(repeats) > 1 else ""
    if rep_c is None:
        raise LabInputError(
            f"{name}: {written[gene]} appears on several rows ({where}){more} and there is no "
            "Replicate column; add one (a gene's replicates are averaged) or keep one row "
            "per gene"
        )
    raise LabInputError(
        f"{name}: {written[gene]} has {str(rep_c).strip()} {rep!r} on several rows ({where})"
        f"{more}; give each replicate its own number, or delete the repeated row"
    )


def _column(frame: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    low = {str(c).strip().lower(): c for c in frame.columns}
    return next((low[n] for n in names if n in low), None)


def _rows(
    name: str, frame: pd.DataFrame, lines: list[int], hit_rule: HitRule, columns: tuple
) -> tuple[list[Row], dict[str, str]]:
    """The rows of ``frame`` checked one by one, and each gene as the file first writes it."""
    gene_c, score_c, hit_c, rep_c = columns
    rows: list[Row] = []
    written: dict[str, str] = {}
    for line, r in zip(lines, frame.itertuples(index=False), strict=True):
        rec = dict(zip(frame.columns, r, strict=True))
        if all(not str(v).strip() for v in rec.values()):
            continue
        spelled = str(rec[gene_c]).strip()
        gene = normalize_gene(spelled)
        if not gene:
            raise LabInputError(f"{name}: line {line} has no Gene; fill it or delete that row")
        written.setdefault(gene, spelled)
        raw = str(rec[score_c]).strip()
        score = _number(raw)
        if not math.isfinite(score):
            what = "no Score" if not raw else f"Score {raw!r}, not a finite number"
            raise LabInputError(
                f"{name}: line {line} ({spelled}) has {what}; give it a number, or leave the "
                "gene out (it stays pending) if it was not measured"
            )
        hit: float | None = None
        if hit_c is not None:
            h = str(rec[hit_c]).strip().lower()
            if h in _TRUE or h in _FALSE:
                hit = 1.0 if h in _TRUE else 0.0
            elif h or hit_rule.needs_hit_column:
                raise LabInputError(
                    f"{name}: line {line} ({spelled}) has Hit {str(rec[hit_c]).strip()!r}; Hit "
                    "must be 1 (hit) or 0 (not a hit)"
                )
        rep = str(rec[rep_c]).strip() if rep_c else ""
        if rep_c is not None and not rep:
            raise LabInputError(
                f"{name}: line {line} ({spelled}) has no {str(rep_c).strip()}; fill it (each "
                "replicate of a gene its own number) or delete that row"
            )
        rows.append((line, gene, score, hit, rep.lower()))
    return rows, written


def read_results(
    path: str | Path | pd.DataFrame,
    *,
    pending: Collection[str],
    earlier: Collection[str] | Mapping[str, Recorded] = (),
    hit_rule: HitRule,
    controls: Collection[str] = (),
    library: Collection[str] | Callable[[], Collection[str]] | None = None,
) -> LabResults:
    """The checked :class:`LabResults` of ``path`` for a campaign whose pending batch is
    ``pending``, whose recorded rounds hold ``earlier`` (:func:`recorded_genes`, or only the
    genes' names), with ``hit_rule`` and ``controls``; ``library``: the campaign's library
    genes (or a function giving them, called only to tell a stray gene of the library from one
    it does not have). Raises one :class:`LabInputError` line per problem (see the module
    docstring)."""
    name, frame, lines, _ = _read_frame(path)
    gene_c, score_c = _column(frame, GENE_COLUMNS), _column(frame, ("score",))
    hit_c, rep_c = _column(frame, ("hit",)), _column(frame, REPLICATE_COLUMNS)
    if gene_c is None or score_c is None:
        missing = " and ".join(n for n, c in (("Gene", gene_c), ("Score", score_c)) if c is None)
        raise LabInputError(f"{name}: no {missing} column in its header; {_FIX}")
    if hit_rule.needs_hit_column and hit_c is None:
        raise LabInputError(
            f"{name}: the campaign's hit rule is 'column' but the file has no Hit column; add "
            "Hit (1 = hit, 0 = not) for every gene"
        )
    rows, written = _rows(name, frame, lines, hit_rule, (gene_c, score_c, hit_c, rep_c))
    if not rows:
        raise LabInputError(f"{name}: no result rows below the header; {_FIX}")
    ctl = {normalize_gene(c) for c in controls}
    batch = [normalize_gene(g) for g in pending]
    in_batch = set(batch)
    before = (
        {normalize_gene(g): v for g, v in earlier.items()}
        if isinstance(earlier, Mapping)
        else {normalize_gene(g): None for g in earlier}
    )
    genes = list(dict.fromkeys(g for _, g, *_ in rows))
    old = [g for g in genes if g in before and g not in ctl]
    if old:
        long = pd.DataFrame([r[1:3] for r in rows], columns=["Gene", "Score"])
        now = long.groupby("Gene")["Score"].mean().to_dict()
        held = {g: v for g, v in before.items() if v is not None}
        raise recorded_already(name, old, written, now, held if held else None)
    stray = [g for g in genes if g not in in_batch and g not in ctl]
    if stray:
        lib = library() if callable(library) else library
        known = None if lib is None else {normalize_gene(str(g)) for g in lib}
        raise not_in_batch(name, stray, written, known)
    _refuse_repeats(name, rows, rep_c, written)
    long = pd.DataFrame(rows, columns=["Line", "Gene", "Score", "HitIn", "Replicate"])
    agg = long.groupby("Gene", sort=False).agg(
        Score=("Score", "mean"), HitIn=("HitIn", "mean"), Replicates=("Score", "size")
    )
    table = agg.reset_index()
    table["Control"] = table["Gene"].isin(ctl)
    if hit_c is not None:
        table["Hit"] = table["HitIn"]
    hits = frozenset(hit_rule.hits(table, ctl))
    table["Hit"] = table["Gene"].isin(hits)
    table = table[["Gene", "Score", "Hit", "Replicates", "Control"]]
    told = tuple(g for g in table["Gene"] if g not in ctl)
    if not told:
        raise LabInputError(
            f"{name}: only controls, no gene of the pending batch "
            f"({_listed(str(g).strip() for g in pending)}); add the measured batch genes"
        )
    if hit_c is not None and not hit_rule.needs_hit_column:
        warnings.warn(
            f"{name}: its {str(hit_c).strip()} column is ignored under the campaign's hit rule "
            f"{hit_rule.text!r} ({hit_rule.describe()}); the Hit column is used only by the "
            "hit rule 'column'",
            stacklevel=2,
        )
    told_set = set(told)
    # checked by the normalised symbols; returned as the batch (and the controls' list) spell
    # them, whatever case the lab's file used: the campaign records the user's own symbols
    spelled = {normalize_gene(c): str(c).strip() for c in reversed(list(controls))}
    spelled.update({normalize_gene(g): str(g).strip() for g in reversed(list(pending))})

    def spell(g: str) -> str:
        return spelled.get(g, g)

    table = table.assign(Gene=table["Gene"].map(spell))
    long = long.assign(Gene=long["Gene"].map(spell), Hit=long["HitIn"].astype(float))
    return LabResults(
        name,
        table,
        tuple(map(spell, told)),
        tuple(spell(g) for g in batch if g not in told_set and g not in ctl),
        frozenset(map(spell, hits)),
        tuple(g for g in table["Gene"] if normalize_gene(g) in ctl),
        long[["Line", "Gene", "Score", "Replicate", "Hit"]],
    )
