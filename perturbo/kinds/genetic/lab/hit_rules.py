"""What counts as a hit in a lab campaign, declared when it starts (``--hit-rule``).

"Top 5% of the screen" cannot be computed from a screen that is not done, so a lab campaign
states its rule up front, one of:

- ``column``: the results carry a ``Hit`` column (0/1) the lab decided;
- ``score>=T`` / ``score<=T`` / ``abs>=T`` (also ``|score|>=T``): a threshold on the measured
  score, with its tail;
- ``z>=T`` / ``z<=T`` / ``|z|>=T`` (also ``abs(z)>=T``): the score's z against the
  non-targeting controls measured in the same results (``--controls``; mean and sample sd of
  the controls' scores, at least two controls with different scores).

Spaces and case do not matter; ``>`` / ``<`` are read as ``>=`` / ``<=`` (for measured scores
the difference is nil). Controls are never hits. :meth:`HitRule.hits` applies a rule to a results table (columns
``Gene``, ``Score`` and, for ``column``, ``Hit``; one row per gene).
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import pandas as pd

from perturbo.kinds.genetic.lab.errors import LabInputError
from perturbo.kinds.genetic.screens import normalize_gene

__all__ = ["HIT_RULE_FORMS", "HitRule", "parse_hit_rule", "require_hit_rule"]

HIT_RULE_FORMS = (
    '"column" (a Hit column of 0/1 in the results), "score>=T", "score<=T", "abs>=T" '
    '(|score| >= T), or "z>=T" / "z<=T" / "|z|>=T" (z against the --controls measured '
    "in each batch)"
)
_RULE = re.compile(
    r"^\s*(?P<var>score|abs|\|\s*score\s*\||abs\(\s*score\s*\)|z|\|\s*z\s*\||abs\(\s*z\s*\)|absz)"
    r"\s*(?P<op>>=|<=|>|<|=>|=<)\s*(?P<t>[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?)\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class HitRule:
    """A parsed hit rule. ``kind``: ``column``, ``score`` or ``z``; ``tail``: ``high``
    (``>=``), ``low`` (``<=``) or ``both`` (magnitude ``>=``); ``threshold``: ``T``."""

    text: str
    kind: str
    tail: str = "both"
    threshold: float = math.nan

    @property
    def needs_controls(self) -> bool:
        """True for the z rules: the results must include the non-targeting controls."""
        return self.kind == "z"

    @property
    def needs_hit_column(self) -> bool:
        return self.kind == "column"

    @property
    def hit_tail(self) -> str:
        """The screen ``hit_tail`` this rule implies (what the planner's score target uses)."""
        return self.tail

    def describe(self) -> str:
        """The rule in words, for reports and the batch sheet."""
        if self.kind == "column":
            return "a gene is a hit when the lab's Hit column says 1"
        var = "Score" if self.kind == "score" else "z against the controls"
        op = {"high": f"{var} >= {self.threshold:g}", "low": f"{var} <= {self.threshold:g}"}
        return "a gene is a hit when " + op.get(self.tail, f"|{var}| >= {self.threshold:g}")

    def values(self, table: pd.DataFrame, controls: Collection[str] = ()) -> pd.Series:
        """What the threshold is compared with, per gene (the score, or its z); NaN for a
        ``column`` rule."""
        score = pd.to_numeric(table["Score"], errors="coerce").astype(float)
        if self.kind != "z":
            return score if self.kind == "score" else score * math.nan
        mean, sd, _ = self.control_stats(table, controls)
        return (score - mean) / sd

    def control_stats(
        self, table: pd.DataFrame, controls: Collection[str] = ()
    ) -> tuple[float, float, int]:
        """A z rule's reference: the mean, the sample sd and the number of the controls'
        scores in ``table``; a :class:`LabInputError` where fewer than two controls were
        measured or they all have the same score."""
        score = pd.to_numeric(table["Score"], errors="coerce").astype(float)
        ctl = {normalize_gene(c) for c in controls}
        is_ctl = table["Gene"].map(lambda g: normalize_gene(str(g)) in ctl)
        c_scores = score[is_ctl].dropna()
        if len(c_scores) < 2:
            raise LabInputError(
                f"hit rule {self.text!r}: needs the non-targeting controls' scores in the "
                f"results, found {len(c_scores)} control row(s); include the --controls genes "
                "(at least two) in the results file, or start the campaign with a score rule"
            )
        sd = float(np.std(c_scores.to_numpy(), ddof=1))
        if not sd > 0:
            raise LabInputError(
                f"hit rule {self.text!r}: the {len(c_scores)} controls all have the same score "
                f"({float(c_scores.iloc[0]):g}), so no z can be computed; check the controls' "
                "scores, or use a score rule"
            )
        return float(c_scores.mean()), sd, len(c_scores)

    def hits(self, table: pd.DataFrame, controls: Collection[str] = ()) -> set[str]:
        """The hit genes (normalised) of ``table`` (``Gene``, ``Score``, and ``Hit`` for the
        column rule); controls are never hits."""
        ctl = {normalize_gene(c) for c in controls}
        genes = table["Gene"].map(lambda g: normalize_gene(str(g)))
        if self.kind == "column":
            if "Hit" not in table.columns:
                raise LabInputError(
                    "hit rule 'column': the results have no Hit column; add a Hit column "
                    "(1 = hit, 0 = not) to the results file"
                )
            flag = pd.to_numeric(table["Hit"], errors="coerce").fillna(0.0) >= 0.5
        else:
            v = self.values(table, ctl)
            t = self.threshold
            flag = {"high": v >= t, "low": v <= t}.get(self.tail, v.abs() >= t)
        return {g for g, f in zip(genes, flag, strict=True) if bool(f) and g not in ctl}


def parse_hit_rule(text: str) -> HitRule:
    """The :class:`HitRule` of ``--hit-rule TEXT``; a :class:`LabInputError` listing the forms
    if ``text`` is none of them."""
    raw = str(text).strip()
    if raw.lower() in ("column", "hit", "hit column", "hit-column"):
        return HitRule("column", "column")
    m = _RULE.match(raw.replace(" ", ""))
    if m is None:
        raise LabInputError(f"--hit-rule {raw!r}: not a hit rule; use {HIT_RULE_FORMS}")
    var = m["var"].lower().replace(" ", "")
    op = {"=>": ">=", "=<": "<="}.get(m["op"], m["op"])
    absolute = var.startswith(("abs", "|"))
    kind = "z" if "z" in var else "score"
    t = float(m["t"])
    if absolute:
        if "<" in op:
            raise LabInputError(
                f"--hit-rule {raw!r}: a hit is a large |score|, so use >= with abs "
                f'(e.g. "abs>={abs(t):g}"), or "score<=T" for the low tail'
            )
        if t < 0:
            raise LabInputError(
                f"--hit-rule {raw!r}: |value| >= {t:g} holds for every gene; "
                "use a threshold above 0"
            )
        tail = "both"
    else:
        tail = "high" if ">" in op else "low"
    return HitRule(raw, kind, tail, t)


def require_hit_rule(text: str | None) -> HitRule:
    """The parsed rule of a lab campaign; a :class:`LabInputError` if none was given (a lab
    campaign cannot compute "top 5% of the screen" from a screen that is not done)."""
    if text is None or not str(text).strip():
        raise LabInputError(
            "--hit-rule: a lab campaign needs a hit rule at start (the screen is not done, "
            f"so 'top 5% of the screen' cannot be computed); pass --hit-rule with {HIT_RULE_FORMS}"
        )
    return parse_hit_rule(text)
