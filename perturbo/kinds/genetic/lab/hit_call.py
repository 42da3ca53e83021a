"""What a round's hit call stood on, kept so a scientist can audit it, under every hit rule.

Each results file told (:func:`hit_call_csv`) is written down with what the call used: every
row as read (one per gene and replicate, the controls' too: the file and line it came from, its
value and its Hit column as read), the gene's averaged score, the rule and whether the gene was
called a hit. Under ``--hit-rule "z<=T"`` (``z>=T``, ``|z|>=T``) a gene is a hit when its
score's z against the controls measured in the same results file passes ``T``: the controls'
mean, sample sd and count in that file and the z are written too. Score rules (``score<=T``,
``abs>=T``) compare the gene's mean score with ``T`` and the ``column`` rule reads the Hit
column: they use no controls, so those four columns are left empty (the JSON says so). A round
told in several files (or corrected) has one part per file; :func:`hit_call_round` makes the
round's record from them: each gene from the last file that told it (what was recorded), the
controls of those files, and a JSON summary of each file's reference.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Collection, Sequence

from perturbo.kinds.genetic.lab.errors import LabInputError
from perturbo.kinds.genetic.lab.hit_rules import HitRule, parse_hit_rule
from perturbo.kinds.genetic.lab.results import LabResults
from perturbo.kinds.genetic.screens import normalize_gene

__all__ = ["HIT_CALL_COLUMNS", "HIT_CALL_CSV", "HIT_CALL_JSON", "hit_call_csv", "hit_call_round"]

HIT_CALL_COLUMNS = (
    "file", "line", "gene", "control", "replicate", "value", "hit_column", "score",
    "control_mean", "control_sd", "n_controls", "z", "rule", "hit",
)  # fmt: skip
"""One row per results row: ``value`` as read, ``hit_column`` the row's Hit column as read (0/1;
empty without one; what the ``column`` rule calls from), ``score`` the gene's mean over its
replicates (what a score rule compares and the z is computed from), ``z = (score -
control_mean) / control_sd`` (the controls' columns and ``z``: empty under a rule without
controls)."""
_Z_COLUMNS = ("control_mean", "control_sd", "n_controls", "z")
_HOW = {
    "z": "z = (score - control_mean) / control_sd, score = the mean of the gene's replicates",
    "score": "score = the mean of the gene's replicates, compared with the rule's threshold",
    "column": "hit = the Hit column: a hit when at least half of the gene's replicates say 1",
}
HIT_CALL_CSV = "hit_call.csv"
HIT_CALL_JSON = "hit_call.json"


def hit_call_csv(
    results: LabResults, rule: HitRule, controls: Collection[str], source: str
) -> str | None:
    """The record of the call of ``results`` (read from ``source``) under ``rule`` (any rule:
    the controls' columns and ``z`` are empty but under a z rule); ``None`` for results that
    kept no rows as read."""
    if results.replicates is None:
        return None
    ctl = {normalize_gene(c) for c in controls}
    mean, sd, n = rule.control_stats(results.table, ctl) if rule.kind == "z" else (0.0, 0.0, 0)
    score = dict(zip(results.table["Gene"], results.table["Score"], strict=True))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(HIT_CALL_COLUMNS)
    for row in results.replicates.to_dict("records"):
        gene, s = row["Gene"], float(score[row["Gene"]])
        ref = (repr(mean), repr(sd), n, repr((s - mean) / sd)) if rule.kind == "z" else ("",) * 4
        hit_in = row.get("Hit")
        w.writerow(
            [source, int(row["Line"]), gene, int(normalize_gene(gene) in ctl), row["Replicate"],
             repr(float(row["Score"])), "" if hit_in is None or hit_in != hit_in else int(hit_in),
             repr(s), *ref, rule.text, int(gene in results.hits)]
        )  # fmt: skip
    return buf.getvalue()


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _kind(rule: str) -> str:
    try:
        return parse_hit_rule(rule).kind
    except LabInputError:
        return ""


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
    rule = read[used[0]][0]["rule"]
    kind = _kind(rule)
    files = []
    for i in used:
        first = read[i][0]
        genes = sorted({r["gene"] for r in read[i] if last.get(r["gene"]) == i})
        reference: dict[str, object] = {}
        if kind == "z":
            reference = {
                "control_mean": float(first["control_mean"]),
                "control_sd": float(first["control_sd"]),
                "n_controls": int(first["n_controls"]),
            }
        files.append(
            {
                "file": first["file"],
                **reference,
                "genes": len(genes),
                "hits": sorted({r["gene"] for r in kept if r["hit"] == "1" and r["gene"] in genes}),
            }
        )
    summary: dict[str, object] = {"rule": rule}
    if kind == "z":
        summary["z"] = _HOW["z"].removeprefix("z = ")
    else:
        summary["call"] = _HOW.get(kind, "")
        summary["empty"] = (
            f"{', '.join(_Z_COLUMNS)}: left empty, the rule {rule!r} uses no controls"
        )
    summary["files"] = files
    return {HIT_CALL_CSV: buf.getvalue(), HIT_CALL_JSON: json.dumps(summary, indent=1)}
