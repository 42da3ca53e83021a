"""A synthetic gene-set library the gene planner's tests share: 400 genes, 40 disjoint
'complexes' of 10 genes (set k = G10k..G10k+9) and 40 random 'pathways' of 12."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from perturbo.kinds.genetic import Screen
from perturbo.kinds.genetic.genesets import GeneKnowledge, LibrarySource

N = 400
GENES = tuple(f"G{i}" for i in range(N))


def library(tmp_path: Path, names: dict[int, str] | None = None) -> list[LibrarySource]:
    """40 disjoint 'complexes' of 10 genes (set k = G10k..G10k+9) plus 40 random 'pathways'."""
    rng = np.random.default_rng(123)
    names = names or {}
    lines = [
        names.get(k, f"COMPLEX_{k}") + "\tx\t" + "\t".join(GENES[10 * k : 10 * k + 10])
        for k in range(40)
    ]
    for k in range(40):
        members = rng.choice(N, size=12, replace=False)
        lines.append(f"PATHWAY_{k}\tx\t" + "\t".join(GENES[i] for i in members))
    p = tmp_path / "syn.gmt"
    p.write_text("\n".join(lines) + "\n")
    return [LibrarySource("Syn", p)]


NAMED = {3: "interferon gamma production", 12: "ribosome biogenesis", 25: "cholesterol transport"}
"""Three complexes named for what they do (the rest keep their COMPLEX_k names)."""

IFNG_TASK = Screen(
    "T",
    GENES,
    np.zeros(N),
    frozenset(),
    "identify genes that regulate the production of interferon gamma",
    "IFNG levels",
    "T",
)
"""A label-free screen of the library's genes whose task names complex 3's function."""


def named_knowledge(tmp_path: Path) -> GeneKnowledge:
    """Gene knowledge from the library with :data:`NAMED`'s three complexes named."""
    return GeneKnowledge.for_genes(GENES, library(tmp_path, NAMED), cache_dir=None)
