"""What a z hit rule's call of a round stood on, kept so a scientist can audit it.

Under ``--hit-rule "z<=T"`` (``z>=T``, ``|z|>=T``) a gene is a hit when its score's z against
the controls measured in the same results file passes ``T``. Each results file told
(:func:`hit_call_csv`) is written down with what the call used: every row as read (one per
gene and replicate, the controls' too), the gene's averaged score, the controls' mean, sample
sd and count in that file, the z and whether it was called a hit. A round told in several
files (or corrected) has one part per file; :func:`hit_call_round` makes the round's record
from them: each gene from the last file that told it (what was recorded), the controls of
those files, and a JSON summary of each file's reference. Score and column rules call hits
without a reference, so they write nothing.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Collection, Sequence

from perturbo.kinds.genetic.lab.hit_rules import HitRule
from perturbo.kinds.genetic.lab.results import LabResults
from perturbo.kinds.genetic.screens import normalize_gene

__all__ = ["HIT_CALL_COLUMNS", "HIT_CALL_CSV", "HIT_CALL_JSON", "hit_call_csv", "hit_call_round"]

HIT_CALL_COLUMNS = (
    "file", "line", "gene", "control", "replicate", "value", "score", "control_mean",
    "control_sd", "n_controls", "z", "rule", "hit",
)  # fmt: skip
"""One row per results row: ``value`` as read, ``score`` the gene's mean over its replicates
(what the z is computed from), ``z = (score - control_mean) / control_sd``."""
HIT_CALL_CSV = "hit_call.csv"
HIT_CALL_JSON = "hit_call.json"


def hit_call_csv(
    results: LabResults, rule: HitRule, controls: Collection[str], source: str
) -> str | None:
    """The record of the call of ``results`` (read from ``source``) under ``rule``; ``None``
    for a rule that is not a z rule."""
    if rule.kind != "z" or results.replicates is None:
        return None
    ctl = {normalize_gene(c) for c in controls}
    mean, sd, n = rule.control_stats(results.table, ctl)
    score = dict(zip(results.table["Gene"], results.table["Score"], strict=True))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(HIT_CALL_COLUMNS)
    for line, gene, value, rep in results.replicates.itertuples(index=False):
        s = float(score[gene])
        w.writerow(
            [source, int(line), gene, int(normalize_gene(gene) in ctl), rep, repr(float(value)), repr(s),
             repr(mean), repr(sd), n, repr((s - mean) / sd), rule.text,
             int(gene in results.hits)]
        )  # fmt: skip
    return buf.getvalue()


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def hit_call_round(parts: Sequence[str]) -> dict[str, str]:
    """``{file name: text}`` of a round's hit call from its parts (:func:`hit_call_csv` of each
    file told, in the order told): ``hit_call.csv`` (each gene's rows from the last part that
    told it; the controls of the parts that gave a gene) and ``hit_call.json`` (the rule and,
    per file, the controls' mean, sd and count, and the genes it gave). Empty without parts."""
    read = [_rows(p) for p in parts if p.strip()]
    last: dict[str, int] = {}
    for i, rows in enumerate(read):
        for r in rows:
            if r["control"] != "1":
                last[r["gene"]] = i
    used = sorted(set(last.values()))
    kept = [r for i in used for r in read[i] if r["control"] == "1" or last.get(r["gene"]) == i]
    if not kept:
        return {}
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(HIT_CALL_COLUMNS), lineterminator="\n")
    w.writeheader()
    w.writerows(kept)
    files = []
    for i in used:
        first = read[i][0]
        genes = sorted({r["gene"] for r in read[i] if last.get(r["gene"]) == i})
        files.append(
            {
                "file": first["file"],
                "control_mean": float(first["control_mean"]),
                "control_sd": float(first["control_sd"]),
                "n_controls": int(first["n_controls"]),
                "genes": len(genes),
                "hits": sorted({r["gene"] for r in kept if r["hit"] == "1" and r["gene"] in genes}),
            }
        )
    summary = {
        "rule": read[used[0]][0]["rule"],
        "z": "(score - control_mean) / control_sd, score = the mean of the gene's replicates",
        "files": files,
    }
    return {HIT_CALL_CSV: buf.getvalue(), HIT_CALL_JSON: json.dumps(summary, indent=1)}
