"""Reading a lab's results against the pending batch, and the batch sheet's rows: a minimal
stand-in used by :mod:`perturbo.kinds.genetic.lab.outside` until the full readers
(``results.py``, ``sheet.py``) are wired in."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from perturbo.kinds.genetic.lab.errors import LabInputError
from perturbo.kinds.genetic.screens import normalize_gene
from perturbo.types import ExperimentSpec, Observation, Outcome, Status

__all__ = ["read_told", "sheet_rows"]

REPLICATE_COLUMNS = ("replicate", "rep")


def _table(path: str) -> Any:
    import pandas as pd

    try:
        t = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise LabInputError(f"results {path}: no such file") from None
    except pd.errors.EmptyDataError:
        raise LabInputError(f"results {path}: the file is empty; write Gene,Score rows") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as e:
        raise LabInputError(f"results {path}: cannot be read as CSV ({e})") from None
    cols = {c.strip().lower(): c for c in t.columns}
    if "gene" not in cols or "score" not in cols:
        raise LabInputError(
            f"results {path}: needs a Gene and a Score column (has {list(t.columns)})"
        )
    if not len(t):
        raise LabInputError(f"results {path}: no result rows below the header")
    out = pd.DataFrame({"Gene": t[cols["gene"]].map(normalize_gene), "Score": t[cols["score"]]})
    if "hit" in cols:
        out["Hit"] = t[cols["hit"]].str.strip()
    rep = next((cols[c] for c in REPLICATE_COLUMNS if c in cols), None)
    return out, rep


def _numbers(path: str, t: Any) -> None:
    for i, (g, s) in enumerate(zip(t["Gene"], t["Score"], strict=True), start=2):
        try:
            v = float(s)
        except ValueError:
            v = math.nan
        if not math.isfinite(v):
            raise LabInputError(f"results {path}: line {i} ({g}) has no numeric Score ({s!r})")
    if "Hit" in t.columns:
        bad = [(i, h) for i, h in enumerate(t["Hit"], start=2) if h not in ("0", "1", "0.0", "1.0")]
        if bad:
            raise LabInputError(
                f"results {path}: line {bad[0][0]} has Hit {bad[0][1]!r}; use 0 or 1"
            )


def read_told(
    config: Mapping[str, Any],
    path: str,
    pending: Sequence[ExperimentSpec],
    history: Sequence[Observation],
) -> dict[str, Outcome]:
    """Outcomes by pending spec id for the genes the results file ``path`` reports."""
    from perturbo.kinds.genetic.lab.hit_rules import parse_hit_rule

    t, rep = _table(path)
    _numbers(path, t)
    t["Score"] = t["Score"].astype(float)
    controls = set(_controls(config))
    by_gene = {normalize_gene(str(s.params["gene"])): s for s in pending}
    earlier = {normalize_gene(str(o.spec.params.get("gene", ""))) for o in history}
    genes = [g for g in dict.fromkeys(t["Gene"]) if g not in controls]
    old = [g for g in genes if g not in by_gene and g in earlier]
    if old:
        raise LabInputError(
            f"results {path}: {len(old)} gene(s) of an earlier round, already recorded: "
            f"{', '.join(old[:10])}; remove them"
        )
    stray = [g for g in genes if g not in by_gene]
    if stray:
        raise LabInputError(
            f"results {path}: {len(stray)} gene(s) not in the pending batch: "
            f"{', '.join(stray[:10])}; `perturbo ask` shows the batch"
        )
    if rep is None and t["Gene"].duplicated().any():
        dup = t["Gene"][t["Gene"].duplicated()].iloc[0]
        raise LabInputError(
            f"results {path}: gene {dup} appears more than once and there is no Replicate "
            "column; add one (its rows are averaged) or keep one row per gene"
        )
    agg = {"Score": "mean"}
    if "Hit" in t.columns:
        t["Hit"] = t["Hit"].astype(float)
        agg["Hit"] = "max"
    table = t.groupby("Gene", sort=False, as_index=False).agg(agg)
    rule = parse_hit_rule(str(config.get("hit_rule") or ""))
    hits = rule.hits(table, controls)
    out: dict[str, Outcome] = {}
    for g, s in zip(table["Gene"], table["Score"], strict=True):
        if g in controls:
            continue
        values = {"score": float(s), "hit": 1.0 if g in hits else 0.0}
        out[by_gene[g].id] = Outcome(Status.COMPLETED, values, worker="lab")
    return out


def sheet_rows(
    config: Mapping[str, Any], planner: Any, specs: Sequence[ExperimentSpec]
) -> list[dict[str, str]]:
    """One row per proposed gene: Gene, guides, rank, p_hit, sd, why."""
    from perturbo.kinds.genetic.lab.library import load_library

    lib = load_library(str(config["library"]))
    genes = [normalize_gene(str(s.params["gene"])) for s in specs]
    mean = sd = [math.nan] * len(genes)
    posterior = getattr(planner, "posterior", None)
    if callable(posterior):
        try:
            m, d = posterior(genes)
            mean, sd = [float(x) for x in m], [float(x) for x in d]
        except Exception:  # noqa: BLE001 - a prediction is a courtesy, the batch is the sheet
            pass
    rows = []
    for rank, (g, s, p, e) in enumerate(zip(genes, specs, mean, sd, strict=True), start=1):
        guides = ";".join(
            "|".join(v for k, v in row.items() if k != lib.gene_column and v)
            for row in (lib.guides(g) if g in lib else [])
        )
        rows.append(
            {
                "Gene": g,
                "guides": guides,
                "rank": str(rank),
                "p_hit": "" if math.isnan(p) else f"{p:.3f}",
                "sd": "" if math.isnan(e) else f"{e:.3f}",
                "why": s.note or "exploration",
            }
        )
    for c in _controls(config):  # measured in every batch, never experiments nor hits
        rows.append(
            {"Gene": c, "guides": "", "rank": "control", "p_hit": "", "sd": "", "why": "control"}
        )
    return rows


def _controls(config: Mapping[str, Any]) -> tuple[str, ...]:
    from perturbo.kinds.genetic.lab.library import load_gene_list

    path = config.get("controls")
    return load_gene_list(path, "--controls") if path else ()
