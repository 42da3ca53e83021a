"""Per-sample figures of a campaign whose trials were measured on different samples.

The attack kind's cascade attacks, after its first trials, only the samples no trial has
broken yet (the spec's ``samples`` mask), so a trial's own ``robust_accuracy`` is over the
samples still standing: 1.0 whenever it breaks nothing new, and not comparable across trials
(docs/findings/attack.md). What is comparable is which samples each trial broke first: its
``nonrobust_bits_NN`` metrics (48 samples a float; ``cleanwrong_bits_NN``: misclassified
without an attack) give them, as ``per_sample.csv`` does. Read from the history alone.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from perturbo.agents.chat.scores import fmt
from perturbo.types import Observation, Status

__all__ = [
    "SUBSETS_NOTE",
    "Breaks",
    "breaks_of",
    "method_lines",
    "on_subsets",
    "trial_line",
]

BITS = 48
NONROBUST, CLEAN = "nonrobust_bits_", "cleanwrong_bits_"
SUBSETS_NOTE = (
    "each trial after the first attacks only the samples still standing, so a trial's own "
    "{objective} is over a different sample set and is not compared across trials"
)


def _bits(metrics: Mapping[str, float], prefix: str) -> set[int] | None:
    """The samples packed under ``prefix`` (bit i of chunk k: sample 48k+i); None: absent."""
    keys = [k for k in metrics if k.startswith(prefix) and k[len(prefix) :].isdigit()]
    if not keys:
        return None
    out: set[int] = set()
    for k in keys:
        base, v = int(k[len(prefix) :]) * BITS, int(metrics[k])
        out.update(base + i for i in range(BITS) if (v >> i) & 1)
    return out


def _done(history: Sequence[Observation]) -> list[Observation]:
    return [o for o in history if o.outcome.status is Status.COMPLETED]


def on_subsets(history: Sequence[Observation]) -> bool:
    """Whether the completed trials attacked different sample sets (``samples`` masks)."""
    masks = {str(o.spec.params["samples"]) for o in _done(history) if "samples" in o.spec.params}
    return len(masks) > 1


def _standing(o: Observation) -> int | None:
    v = o.outcome.metrics.get("n_attacked")
    return int(v) if v is not None and math.isfinite(float(v)) else None


@dataclass(frozen=True)
class Breaks:
    """Per trial, the samples it broke first (in the order the history recorded them, as
    ``per_sample.csv``); samples misclassified without an attack count for none."""

    first: dict[str, int]
    total: int
    n: int | None = None
    trials: dict[str, Observation] = field(default_factory=dict)

    def by(self, key: Any) -> list[dict[str, Any]]:
        """Per group (``key(observation)``: a method, a planner): trials, samples broken first,
        passes; most samples first."""
        rows: dict[str, dict[str, Any]] = {}
        for tid, o in self.trials.items():
            row = rows.setdefault(str(key(o)), {"name": str(key(o)), "trials": 0, "broke": 0,
                                                "passes": 0.0})  # fmt: skip
            row["trials"] += 1
            row["broke"] += self.first.get(tid, 0)
            p = o.outcome.metrics.get("passes", math.nan)
            row["passes"] += float(p) if math.isfinite(float(p)) else 0.0
        return sorted(rows.values(), key=lambda r: (-r["broke"], r["passes"], r["name"]))

    def top(self, n: int = 3) -> list[Observation]:
        """The trials that broke the most samples first (ties: the earlier)."""
        order = list(self.trials)
        ids = sorted(order, key=lambda t: (-self.first.get(t, 0), order.index(t)))
        return [self.trials[t] for t in ids[:n]]


def breaks_of(history: Sequence[Observation], eps: float | None = None) -> Breaks | None:
    """Who broke which sample first (None where the trials carry no per-sample masks).
    ``eps``: the campaign's; a trial at a larger eps (a min-eps search) does not count."""
    seen: set[int] = set()
    clean: set[int] = set()
    new: dict[str, set[int]] = {}
    trials: dict[str, Observation] = {}
    n = None
    for o in _done(history):
        e = o.spec.params.get("eps")
        if eps is not None and e is not None and float(e) > eps * (1 + 1e-9):
            continue
        bad = _bits(o.outcome.metrics, NONROBUST)
        if bad is None:
            continue
        clean |= _bits(o.outcome.metrics, CLEAN) or set()
        new[o.spec.id] = bad - seen
        seen |= bad
        trials[o.spec.id] = o
        total = o.outcome.metrics.get("n_samples")
        n = int(total) if total is not None and math.isfinite(float(total)) else n
    if not trials:
        return None
    first = {t: len(s - clean) for t, s in new.items()}
    return Breaks(first, len(seen - clean), n, trials)


def trial_line(o: Observation, breaks: Breaks | None, objective: str) -> str:
    """One attack trial of a round: what it broke of the samples it attacked."""
    params = ", ".join(f"{k}={fmt(v)}" for k, v in o.spec.params.items()
                       if k != "samples" and 0 < len(str(v)) <= 24)  # fmt: skip
    head = f"{o.spec.id} ({o.spec.planner or '?'}; {params})"
    if o.outcome.status is not Status.COMPLETED:
        return f"{head}: {o.outcome.status.value}" + (
            f": {o.outcome.error}" if o.outcome.error else ""
        )
    standing = _standing(o)
    if breaks is not None and o.spec.id in breaks.first:
        of = f" of the {standing} samples still standing" if standing is not None else ""
        out = f"{head}: broke {breaks.first[o.spec.id]}{of} (new ones)"
    else:
        out = f"{head}: attacked {standing if standing is not None else '?'} samples"
    v = o.outcome.value(objective) if objective else math.nan
    if math.isfinite(v):
        out += f"; {objective} {fmt(v)} on the samples it attacked"
    return out


def method_lines(
    history: Sequence[Observation], breaks: Breaks | None, objective: str
) -> list[str]:
    """The attack methods of a campaign measured on different sample sets: ranked by the
    samples each broke first where the masks are there, else listed with the caveat."""
    note = SUBSETS_NOTE.format(objective=objective or "figure")
    if breaks is not None:
        rows = breaks.by(lambda o: o.spec.params.get("method", "?"))
        of = f" of {breaks.n}" if breaks.n else ""
        lines = [f"Attack methods tried ({len(rows)}), by the samples each broke first "
                 f"({breaks.total}{of} broken in all; {note}):"]  # fmt: skip
        lines += [f"  {r['name']}: {r['trials']} trials, broke {r['broke']} samples first, "
                  f"{fmt(r['passes'])} passes" for r in rows]  # fmt: skip
        return lines
    counts: dict[str, int] = {}
    for o in history:
        if "method" in o.spec.params:
            counts[str(o.spec.params["method"])] = counts.get(str(o.spec.params["method"]), 0) + 1
    return [f"Attack methods tried ({len(counts)}; {note}, and these trials carry no "
            "per-sample results to rank them by):"] + [
        f"  {m}: {c} trials" for m, c in sorted(counts.items(), key=lambda x: -x[1])
    ]  # fmt: skip
