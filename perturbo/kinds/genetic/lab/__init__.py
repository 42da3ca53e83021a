"""Lab in the loop: the pure pieces of a genetic campaign whose experiments run in a lab.

perturbo proposes a batch, the lab measures it (days or weeks later), perturbo records it and
proposes the next. These modules hold what that needs and nothing that touches a store or a
cluster (no MLflow, no Ray): reading the lab's library (:mod:`.library`), the hit rule a lab
campaign declares at start (:mod:`.hit_rules`), checking the lab's results against the pending
batch (:mod:`.results`), the batch sheet the lab works from (:mod:`.sheet`) and the estimate of
hits still in the untested library (:mod:`.remaining`). Every bad input is one
:class:`LabInputError` line naming the input and the fix.
"""

from perturbo.kinds.genetic.lab.errors import LabInputError
from perturbo.kinds.genetic.lab.hit_rules import (
    HIT_RULE_FORMS,
    HitRule,
    parse_hit_rule,
    require_hit_rule,
)
from perturbo.kinds.genetic.lab.library import Library, load_gene_list, load_library
from perturbo.kinds.genetic.lab.remaining import (
    DEFAULT_COVERAGE,
    RemainingHits,
    poisson_binomial,
    remaining_from_sample,
    remaining_hits,
    scaled_to,
)
from perturbo.kinds.genetic.lab.results import LabResults, read_results
from perturbo.kinds.genetic.lab.sheet import SHEET_COLUMNS, batch_sheet, sheet_csv, write_sheet

__all__ = [
    "DEFAULT_COVERAGE",
    "HIT_RULE_FORMS",
    "SHEET_COLUMNS",
    "HitRule",
    "LabInputError",
    "LabResults",
    "Library",
    "RemainingHits",
    "batch_sheet",
    "load_gene_list",
    "load_library",
    "parse_hit_rule",
    "poisson_binomial",
    "read_results",
    "remaining_from_sample",
    "remaining_hits",
    "require_hit_rule",
    "scaled_to",
    "sheet_csv",
    "write_sheet",
]
