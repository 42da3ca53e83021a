"""What to tell a user whose screen file lacks the Gene or Score column: the names accepted,
and, for the outputs of the usual screen-analysis tools (MAGeCK, DrugZ, BAGEL), which of their
columns to rename. Their headers are known; any other file's first line is not echoed."""

from __future__ import annotations

__all__ = ["FORMATS", "missing_columns_hint"]

FORMATS: tuple[tuple[str, frozenset[str], str], ...] = (
    (
        "a MAGeCK gene summary",
        frozenset({"id", "neg|lfc", "pos|lfc"}),
        "rename `neg|lfc` to Score (or `pos|lfc` for a positive selection; `neg|score` is an "
        "RRA score, small where strong, not a signed effect) and `id` to Gene",
    ),
    ("a DrugZ output", frozenset({"gene", "normz"}), "rename `normZ` to Score"),
    (
        "a BAGEL output",
        frozenset({"gene", "bf"}),
        "rename `BF` to Score (a high Bayes factor is essential: --hit-tail high)",
    ),
)
"""(what it is, the header names that tell it (lower case), which columns to rename)."""


def missing_columns_hint(
    header: list[str], gene_names: tuple[str, ...], columns: tuple[str, ...]
) -> str:
    """``"the gene column may be called ...; this looks like X: rename ..."`` for a header
    (lower-cased cells) that lacks one of ``columns`` (``gene`` by any of ``gene_names``)."""
    said = []
    for c in columns:
        if c == "gene":
            names = [n.title() for n in gene_names]
            said.append(f"the gene column may be called {', '.join(names[:-1])} or {names[-1]}")
        else:
            said.append(f"the {c.replace('_', ' ')} column {c.capitalize()}")
    hint = ", ".join(said)
    cells = set(header) if len(header) > 1 else {c.strip() for c in header[0].split("\t")}
    for what, tells, fix in FORMATS:
        if tells <= cells:
            return f"{hint}; this looks like {what}: {fix}"
    return hint
