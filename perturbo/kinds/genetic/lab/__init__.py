"""Lab in the loop: the pure pieces of a genetic campaign whose experiments run in a lab.

perturbo proposes a batch, the lab measures it (days or weeks later), perturbo records it and
proposes the next. These modules hold what that needs and nothing that touches a store or a
cluster (no MLflow, no Ray): reading the lab's library (:mod:`.library`), the hit rule a lab
campaign declares at start (:mod:`.hit_rules`), checking the lab's results against the pending
batch (:mod:`.results`), the batch sheet the lab works from (:mod:`.sheet`), the estimate of
hits still in the untested library (:mod:`.remaining`, said after each round by
:mod:`.outlook`) and what a z rule's hit call stood on (:mod:`.hit_call`). Every bad input is one
:class:`LabInputError` line naming the input and the fix.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOME = {
    "LabInputError": "errors",
    "HIT_CALL_COLUMNS": "hit_call",
    "hit_call_csv": "hit_call",
    "hit_call_round": "hit_call",
    "HIT_RULE_FORMS": "hit_rules",
    "HitRule": "hit_rules",
    "parse_hit_rule": "hit_rules",
    "require_hit_rule": "hit_rules",
    "Library": "library",
    "load_gene_list": "library",
    "load_library": "library",
    "DEFAULT_COVERAGE": "remaining",
    "RemainingHits": "remaining",
    "poisson_binomial": "remaining",
    "remaining_from_sample": "remaining",
    "remaining_hits": "remaining",
    "scaled_to": "remaining",
    "failed_genes": "outlook",
    "outlook": "outlook",
    "LabResults": "results",
    "read_results": "results",
    "SHEET_COLUMNS": "sheet",
    "batch_sheet": "sheet",
    "sheet_csv": "sheet",
    "write_sheet": "sheet",
}
"""Imported on use: a ``perturbo tell`` needs the hit rule and the results reader, not scipy's
statistics (the remaining-hits interval) before it gets there."""

__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
