"""Gene knowledge from the shipped MSigDB Hallmark + C2 canonical pathways over every gene they
name (~13k genes), shared by the tests that build synthetic screens from real pathways."""

from __future__ import annotations

from functools import lru_cache

from perturbo.kinds.genetic.genesets import (
    SHIPPED_DIR,
    SHIPPED_LIBRARIES,
    GeneKnowledge,
    LibrarySource,
    read_gmt,
)


@lru_cache(maxsize=1)
def knowledge() -> GeneKnowledge:
    """The shipped pathway libraries over every gene they name, uncached on disk."""
    srcs = [LibrarySource(n, SHIPPED_DIR / f) for n, f in SHIPPED_LIBRARIES.items()]
    genes = sorted({g for s in srcs for members in read_gmt(s.path).values() for g in members})
    return GeneKnowledge.for_genes(genes, srcs, cache_dir=None)
