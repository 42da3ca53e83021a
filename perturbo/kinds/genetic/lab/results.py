"""Reading what the lab measured (``perturbo tell CAMPAIGN results.csv``) and checking it
against the pending batch before anything is recorded.

The file is a CSV with ``Gene`` and ``Score`` (matched ignoring case; the gene column may
have any name the library's may, e.g. ``Gene Symbol``), an optional ``Hit`` column (0/1;
``true``/``false`` too; read by the ``column`` hit rule only, a warning under another) and an
optional replicate column (``Replicate``, ``Rep`` or ``Replicate_ID``): with one, a gene's
rows are averaged (Score: mean; Hit: a hit when at least half the replicates say so). Fields
are separated as in the library (a tab for ``.tsv``/``.tab``/``.txt`` files that have one),
or by ``;`` when the header has semicolons and no comma (Excel's CSV where the decimal mark is
a comma; its Scores' decimal commas are read as points). Every problem is one :class:`LabInputError` line naming the
file, the rows or genes, and the fix; nothing is returned half-checked:

- the file cannot be read, is empty, or lacks Gene / Score;
- a row has no gene, a Score that is missing or not a finite number (the line is named), or a
  Hit that is not 0/1;
- genes already recorded in an earlier round, or not in the pending batch (listed);
- a gene on several rows without a replicate column, or twice with the same replicate, or a
  row with a blank replicate (the gene and the lines are named).

Partial results are allowed: :attr:`LabResults.told` are the batch genes measured now,
:attr:`LabResults.still_pending` the rest. Controls (``--controls``) may appear in every
results file; they are measured and used by a z rule, never counted as experiments or hits.
A :class:`pandas.DataFrame` with the same columns is accepted in place of a path (the Python
API's ``tell(dataframe)``).
"""

from __future__ import annotations

import io
import math
import re
import warnings
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from perturbo.kinds.genetic.lab.errors import LabInputError
from perturbo.kinds.genetic.lab.hit_rules import HitRule
from perturbo.kinds.genetic.lab.library import GENE_COLUMNS
from perturbo.kinds.genetic.screen_files import delimiter
from perturbo.kinds.genetic.screens import normalize_gene

__all__ = ["REPLICATE_COLUMNS", "LabResults", "read_results"]

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
    per gene and replicate (``Line``, ``Gene``, ``Score``, ``Replicate``), before averaging."""

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
    g = list(genes)
    return ", ".join(g[:limit]) + (f", ... ({len(g)} in all)" if len(g) > limit else "")


def _read_frame(source: str | Path | pd.DataFrame) -> tuple[str, pd.DataFrame, int, str]:
    """(name for messages, the raw table as text, the file line of its first data row, the
    field separator)."""
    if isinstance(source, pd.DataFrame):
        return "results (table)", source.astype(object).where(source.notna(), ""), 1, ","
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
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=sep,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=True,
        )
    except (pd.errors.ParserError, ValueError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise LabInputError(f"{name}: cannot be read as CSV ({first}); {_FIX}") from None
    return name, frame.fillna(""), 2, sep  # fillna: a guard (keep_default_na=False gives "")


def _separator(path: Path, text: str) -> str:
    """The library reader's separator (a tab for ``.tsv``/``.tab``/``.txt`` with a tab in it,
    else a comma), or ``;`` for a file whose header has semicolons and no comma (Excel's CSV in
    locales with a decimal comma)."""
    sep = delimiter(path, text)
    header = text.lstrip().splitlines()[0] if text.strip() else ""
    if sep == "," and ";" in header and "," not in header:
        return ";"
    return sep


def _number(raw: str, sep: str) -> float:
    """The Score ``raw`` as a float; a decimal comma (``-0,5``) is read only in a
    semicolon-separated file, where a comma cannot separate fields. NaN if not a number."""
    if sep == ";" and _DECIMAL_COMMA.match(raw):
        raw = raw.replace(",", ".")
    try:
        return float(raw)
    except ValueError:
        return math.nan


def _refuse_repeats(
    name: str, rows: list[tuple[int, str, float, float | None, str]], rep_c: object
) -> None:
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
            f"{name}: {gene} appears on several rows ({where}){more} and there is no "
            "Replicate column; add one (a gene's replicates are averaged) or keep one row "
            "per gene"
        )
    raise LabInputError(
        f"{name}: {gene} has {str(rep_c).strip()} {rep!r} on several rows ({where}){more}; "
        "give each replicate its own number, or delete the repeated row"
    )


def _column(frame: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    low = {str(c).strip().lower(): c for c in frame.columns}
    return next((low[n] for n in names if n in low), None)


def read_results(
    path: str | Path | pd.DataFrame,
    *,
    pending: Collection[str],
    earlier: Collection[str] = (),
    hit_rule: HitRule,
    controls: Collection[str] = (),
) -> LabResults:
    """The checked :class:`LabResults` of ``path`` for a campaign whose pending batch is
    ``pending``, whose earlier rounds recorded ``earlier``, with ``hit_rule`` and ``controls``.
    Raises one :class:`LabInputError` line per problem (see the module docstring)."""
    name, frame, first_line, sep = _read_frame(path)
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
    rows: list[tuple[int, str, float, float | None, str]] = []
    for k, r in enumerate(frame.itertuples(index=False)):
        rec = dict(zip(frame.columns, r, strict=True))
        line = first_line + k
        if all(not str(v).strip() for v in rec.values()):
            continue
        gene = normalize_gene(str(rec[gene_c]))
        if not gene:
            raise LabInputError(f"{name}: line {line} has no Gene; fill it or delete that row")
        raw = str(rec[score_c]).strip()
        score = _number(raw, sep)
        if not math.isfinite(score):
            what = "no Score" if not raw else f"Score {raw!r}, not a finite number"
            raise LabInputError(
                f"{name}: line {line} ({gene}) has {what}; give it a number, or leave the gene "
                "out (it stays pending) if it was not measured"
            )
        hit: float | None = None
        if hit_c is not None:
            h = str(rec[hit_c]).strip().lower()
            if h in _TRUE or h in _FALSE:
                hit = 1.0 if h in _TRUE else 0.0
            elif h or hit_rule.needs_hit_column:
                raise LabInputError(
                    f"{name}: line {line} ({gene}) has Hit {str(rec[hit_c]).strip()!r}; Hit must "
                    "be 1 (hit) or 0 (not a hit)"
                )
        rep = str(rec[rep_c]).strip() if rep_c else ""
        if rep_c is not None and not rep:
            raise LabInputError(
                f"{name}: line {line} ({gene}) has no {str(rep_c).strip()}; fill it (each "
                "replicate of a gene its own number) or delete that row"
            )
        rows.append((line, gene, score, hit, rep.lower()))
    if not rows:
        raise LabInputError(f"{name}: no result rows below the header; {_FIX}")
    ctl = {normalize_gene(c) for c in controls}
    batch = [normalize_gene(g) for g in pending]
    in_batch, before = set(batch), {normalize_gene(g) for g in earlier}
    genes = list(dict.fromkeys(g for _, g, *_ in rows))
    old = [g for g in genes if g in before and g not in ctl]
    if old:
        raise LabInputError(
            f"{name}: {len(old)} gene(s) were recorded in an earlier round ({_listed(old)}); "
            "remove those rows (a round is recorded once)"
        )
    stray = [g for g in genes if g not in in_batch and g not in ctl]
    if stray:
        raise LabInputError(
            f"{name}: {len(stray)} gene(s) are not in the pending batch ({_listed(stray)}); "
            "remove them, or check that this file belongs to this campaign and round"
        )
    _refuse_repeats(name, rows, rep_c)
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
            f"{name}: only controls, no gene of the pending batch ({_listed(batch)}); add the "
            "measured batch genes"
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
    long = long.assign(Gene=long["Gene"].map(spell))
    return LabResults(
        name,
        table,
        tuple(map(spell, told)),
        tuple(spell(g) for g in batch if g not in told_set and g not in ctl),
        frozenset(map(spell, hits)),
        tuple(g for g in table["Gene"] if normalize_gene(g) in ctl),
        long[["Line", "Gene", "Score", "Replicate"]],
    )
