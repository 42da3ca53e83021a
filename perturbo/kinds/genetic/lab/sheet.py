"""The batch sheet a lab works from: one row per proposed gene, in the planner's order.

Rank 1 is the planner's best; a hedged round 1 lists its prior-ranked half first (best first)
and then its uniform random half (in draw order: ``P_hit`` is not sorted there); a later
round's set-level Thompson picks follow its posterior-mean picks.

Columns: ``Round``, ``Rank``, ``Gene``, ``P_hit`` (the planner's predicted hit probability),
``P_hit_sd`` (its uncertainty, a standard deviation), ``Why`` (:func:`gene_reasons`: the
planner's note on its pick, per gene where the planner says per gene -- :data:`UNIFORM_WHY`
for a gene drawn uniformly at random -- else the round's note, or "exploration"), ``Guides``
(how many library rows the gene has), then the library's own guide columns carried over
(``sgRNA``, ``Sequence``, ...; a gene's several guides joined by ``"; "`` in library order).
Controls, when given, follow as rows with no rank and ``Why`` = "control (measure in every
batch)".
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from perturbo.kinds.genetic.lab.library import Library
from perturbo.kinds.genetic.screens import normalize_gene
from perturbo.types import ExperimentSpec

__all__ = [
    "GUIDE_JOIN",
    "SHEET_COLUMNS",
    "UNIFORM_WHY",
    "batch_sheet",
    "gene_reasons",
    "sheet_csv",
    "write_sheet",
]

SHEET_COLUMNS = ("Round", "Rank", "Gene", "P_hit", "P_hit_sd", "Why", "Guides")
GUIDE_JOIN = "; "
CONTROL_WHY = "control (measure in every batch)"
UNIFORM_WHY = "uniform random (the stopping estimate's sample)"
RANDOM_PLANNER = "random"
"""The name of the planner whose every pick is a uniform draw (``--planner random``)."""


def gene_reasons(planner: object, specs: Sequence[ExperimentSpec]) -> list[str]:
    """Each proposal's ``Why``, aligned with ``specs``: :data:`UNIFORM_WHY` for a gene the
    planner drew uniformly at random (its ``uniform_genes``: ``bo``'s hedged round-1 half, or
    every pick of ``--planner random``), else the mechanism that chose it (the planner's
    ``pick_reasons``: posterior mean, UCB, a Thompson draw, a set-level Thompson draw, the
    prior, ...) followed by the planner's note (round-level for ``bo``: the same on each gene
    of a round), else "exploration". A pinned gene keeps its own note."""
    drawn = {normalize_gene(str(g)) for g in getattr(planner, "uniform_genes", ()) or ()}
    chose = getattr(planner, "pick_reasons", None) or {}
    out: list[str] = []
    for s in specs:
        gene = normalize_gene(str(s.params.get("gene", "")))
        uniform = s.planner == RANDOM_PLANNER or (gene in drawn and s.planner != "user")
        reason = chose.get(gene) if s.planner != "user" else None
        note = s.note or ("" if reason else "exploration")
        out.append(UNIFORM_WHY if uniform else "; ".join(x for x in (reason, note) if x))
    return out


def _per_gene(
    values: Sequence[object] | Mapping[str, object] | None, genes: Sequence[str], what: str
) -> list[object]:
    if values is None:
        return [None] * len(genes)
    if isinstance(values, Mapping):
        norm = {normalize_gene(str(k)): v for k, v in values.items()}
        return [norm.get(normalize_gene(g)) for g in genes]
    out = list(values)
    if len(out) != len(genes):
        raise ValueError(f"{what}: {len(out)} values for {len(genes)} genes")
    return out


def _prob(v: object) -> float:
    try:
        x = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
    return round(x, 4) if math.isfinite(x) else math.nan


def batch_sheet(
    genes: Sequence[str],
    *,
    library: Library | None = None,
    p_hit: Sequence[float] | Mapping[str, float] | None = None,
    p_sd: Sequence[float] | Mapping[str, float] | None = None,
    why: Sequence[str] | Mapping[str, str] | None = None,
    round_no: int = 1,
    controls: Sequence[str] = (),
) -> pd.DataFrame:
    """The sheet of a batch (``genes`` in proposal order: rank 1 first). ``p_hit`` / ``p_sd`` /
    ``why``: per gene, aligned with ``genes`` or keyed by gene. ``library``: where the guide
    columns come from (genes absent from it get empty guide cells). Genes and controls are
    matched to the library and to each other ignoring case, and sheeted as the library spells
    them (as given where it has no such gene): a mouse library's ``Cd247`` stays ``Cd247``."""

    def spelled(g: object) -> str:
        key = normalize_gene(str(g))
        if library is not None and key in library:
            return library.spelling.get(key, key)
        return str(g).strip()

    gs = [spelled(g) for g in genes]
    keys = {normalize_gene(g) for g in gs}
    ctl = [c for c in map(spelled, controls) if normalize_gene(c) not in keys]
    ps, sds = _per_gene(p_hit, gs, "p_hit"), _per_gene(p_sd, gs, "p_sd")
    whys = _per_gene(why, gs, "why")
    guide_cols = library.guide_columns if library is not None else ()
    rows: list[dict[str, object]] = []
    for rank, g in enumerate(gs + ctl, start=1):
        is_ctl = rank > len(gs)
        k = rank - 1
        row: dict[str, object] = {
            "Round": round_no,
            "Rank": "" if is_ctl else rank,
            "Gene": g,
            "P_hit": math.nan if is_ctl else _prob(ps[k]),
            "P_hit_sd": math.nan if is_ctl else _prob(sds[k]),
            "Why": CONTROL_WHY if is_ctl else str(whys[k] or "exploration"),
        }
        guides = library.guides(g) if library is not None and g in library else []
        row["Guides"] = len(guides)
        for c in guide_cols:
            vals = [r.get(c, "") for r in guides]
            row[c] = GUIDE_JOIN.join(dict.fromkeys(v for v in vals if v)) if vals else ""
        rows.append(row)
    cols = list(SHEET_COLUMNS) + [c for c in guide_cols if c not in SHEET_COLUMNS]
    return pd.DataFrame(rows, columns=cols)


def sheet_csv(sheet: pd.DataFrame) -> str:
    """The sheet as CSV text (what ``perturbo ask`` prints and MLflow stores)."""
    buf = io.StringIO()
    sheet.to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue()


def write_sheet(sheet: pd.DataFrame, path: str | Path) -> Path:
    """Write the sheet as CSV to ``path`` (parent folders made); returns the path. The file is
    written beside and renamed into place, so a reader never sees half a sheet."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.tmp")
    tmp.write_text(sheet_csv(sheet), encoding="utf-8")
    tmp.replace(p)
    return p
