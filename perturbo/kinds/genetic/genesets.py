"""Gene knowledge that works offline: gene-set libraries, the gene x set membership matrix, and
the plain typed look-ups planners and LLM agents' tools share.

Libraries (all shipped, no network): MSigDB Hallmark and C2 canonical pathways without
KEGG/BioCarta (``perturbo/data/genesets``), and from the ``pyenrichr`` package data GO
Biological Process 2023, WikiPathways 2023, ChEA 2022, MGI Mammalian Phenotype level 4 (2021)
and ARCHS4 TF co-expression.

:class:`GeneKnowledge` restricts them to a screen's genes, keeps sets of 5..2000 genes, and
builds the TF-IDF-weighted membership matrix (genes x sets, rows L2-normalised): a set's weight
is ``log(n_genes / set_size)`` so small specific sets (a complex) count more than broad ones.
The matrix is cached under ``~/.cache/perturbo/genesets`` keyed by the library files and the
gene list, so only the first use of a screen pays the parsing (~5 s).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from perturbo.kinds.genetic.screens import normalize_gene

SHIPPED_DIR = Path(__file__).resolve().parent / "data" / "genesets"
DEFAULT_CACHE = Path.home() / ".cache" / "perturbo"
MIN_SET, MAX_SET = 5, 2000
_FORMAT = 1  # bump when the cached matrix layout changes

ENRICHR_LIBRARIES = (
    "GO_Biological_Process_2023",
    "WikiPathway_2023_Human",
    "ChEA_2022",
    "MGI_Mammalian_Phenotype_Level_4_2021",
    "ARCHS4_TFs_Coexp",
)
"""Libraries read from the ``pyenrichr`` package data (KEGG, DrugMatrix and dbGaP left out)."""

SHIPPED_LIBRARIES = {
    "MSigDB_Hallmark": "h.all.v7.5.1.symbols.gmt",
    "MSigDB_C2_CP": "c2.cp.v7.5.1.nokegg_nobiocarta.symbols.gmt",
}


@dataclass(frozen=True)
class LibrarySource:
    """One GMT file: ``name`` prefixes its set names (``"GO_Biological_Process_2023: ..."``)."""

    name: str
    path: Path

    def fingerprint(self) -> str:
        st = self.path.stat()
        return f"{self.name}:{self.path.name}:{st.st_size}:{st.st_mtime_ns}"


@dataclass(frozen=True)
class Enrichment:
    """A gene set over-represented among the hits: ``overlap`` of its ``n_tested`` tested genes
    are hits; ``p_value`` is the hypergeometric upper tail."""

    name: str
    overlap: int
    n_tested: int
    size: int
    p_value: float
    hits: tuple[str, ...]


def library_sources() -> list[LibrarySource]:
    """The default libraries that exist on this install (pyenrichr's data if it is installed)."""
    out = [LibrarySource(n, SHIPPED_DIR / f) for n, f in SHIPPED_LIBRARIES.items()]
    spec = importlib.util.find_spec("pyenrichr")  # locate its data without importing it (numba)
    if spec is not None and spec.submodule_search_locations:
        data = Path(next(iter(spec.submodule_search_locations))) / "data"
        out += [LibrarySource(n, data / n) for n in ENRICHR_LIBRARIES if (data / n).is_file()]
    return [s for s in out if s.path.is_file()]


def read_gmt(path: Path) -> dict[str, list[str]]:
    """``{set name: genes}`` from a GMT file (``NAME<TAB>DESC<TAB>GENE...``; Enrichr's
    ``GENE,weight`` entries are reduced to the symbol)."""
    sets: dict[str, list[str]] = {}
    with path.open(encoding="utf-8", errors="replace") as f:
        for line in f:
            parts = line.rstrip("\n\r").split("\t")
            if len(parts) < 3:
                continue
            genes = [normalize_gene(g.split(",", 1)[0]) for g in parts[2:]]
            sets[parts[0].strip()] = [g for g in genes if g]
    return sets


def _all_sets(
    sources: tuple[LibrarySource, ...],
) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    """Every set of ``sources`` as (prefixed names, members); memoised per file version."""
    return _parse_sets(sources, tuple(s.fingerprint() for s in sources))


@lru_cache(maxsize=2)
def _parse_sets(
    sources: tuple[LibrarySource, ...], fingerprints: tuple[str, ...]
) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    names: list[str] = []
    members: list[tuple[str, ...]] = []
    for src in sources:
        for name, genes in read_gmt(src.path).items():
            names.append(f"{src.name}: {name}")
            members.append(tuple(dict.fromkeys(genes)))
    return tuple(names), tuple(members)


class GeneKnowledge:
    """Gene-set knowledge restricted to one gene list (a screen's genes).

    ``membership``: CSR ``(n_genes, n_sets)`` float64, TF-IDF weighted, rows L2-normalised
    (genes in no set have an all-zero row). ``binary``: the same pattern with ones.
    """

    def __init__(
        self, genes: tuple[str, ...], set_names: tuple[str, ...], binary: sp.csr_matrix
    ) -> None:
        self.genes = genes
        self.set_names = set_names
        self.binary = binary.tocsr().astype(np.float64)
        self._index = {g: i for i, g in enumerate(genes)}
        self._set_index = {n: j for j, n in enumerate(set_names)}
        size = np.asarray(self.binary.sum(axis=0)).ravel()
        self.set_sizes = size.astype(int)
        idf = np.log(len(genes) / np.maximum(size, 1.0))
        weighted = self.binary @ sp.diags(idf)
        norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
        self.membership: sp.csr_matrix = sp.csr_matrix(
            sp.diags(1.0 / np.where(norms > 0, norms, 1.0)) @ weighted
        )
        self._csc = self.binary.tocsc()

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def for_genes(
        cls,
        genes: Iterable[str],
        sources: Sequence[LibrarySource] | None = None,
        cache_dir: Path | None = DEFAULT_CACHE,
        min_size: int = MIN_SET,
        max_size: int = MAX_SET,
    ) -> GeneKnowledge:
        """Knowledge over ``genes`` (canonical symbols, order kept), from ``sources`` (default:
        :func:`library_sources`). Cached on disk in ``cache_dir`` (``None``: no disk cache)."""
        genes = tuple(genes)
        srcs = tuple(library_sources() if sources is None else sources)
        key = hashlib.sha256(
            json.dumps(
                [_FORMAT, min_size, max_size, [s.fingerprint() for s in srcs], genes]
            ).encode()
        ).hexdigest()[:20]
        path = None if cache_dir is None else Path(cache_dir) / "genesets" / f"{key}.npz"
        if path is not None and path.is_file():
            try:
                with np.load(path, allow_pickle=False) as z:
                    binary = sp.csr_matrix(
                        (np.ones(len(z["indices"])), z["indices"], z["indptr"]),
                        shape=tuple(z["shape"]),
                    )
                    return cls(genes, tuple(z["set_names"].tolist()), binary)
            except (OSError, ValueError, KeyError):
                pass  # a damaged cache file is rebuilt below
        know = cls._build(genes, srcs, min_size, max_size)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")  # atomic, per process
            np.savez_compressed(
                tmp,
                indices=know.binary.indices,
                indptr=know.binary.indptr,
                shape=np.array(know.binary.shape),
                set_names=np.array(know.set_names),
            )
            tmp.replace(path)
        return know

    @classmethod
    def _build(
        cls, genes: tuple[str, ...], srcs: tuple[LibrarySource, ...], min_size: int, max_size: int
    ) -> GeneKnowledge:
        index = {g: i for i, g in enumerate(genes)}
        names, members = _all_sets(srcs)
        rows: list[int] = []
        cols: list[int] = []
        kept: list[str] = []
        for name, mem in zip(names, members, strict=True):
            idx = [index[g] for g in mem if g in index]
            if min_size <= len(idx) <= max_size:
                rows += idx
                cols += [len(kept)] * len(idx)
                kept.append(name)
        binary = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(genes), len(kept)))
        binary.sum_duplicates()
        binary.data[:] = 1.0
        return cls(genes, tuple(kept), binary)

    # -- look-ups (plain typed functions the agents' tools reuse) ---------------------------
    def __contains__(self, gene: object) -> bool:
        return isinstance(gene, str) and normalize_gene(gene) in self._index

    def index(self, gene: str) -> int:
        return self._index[normalize_gene(gene)]

    def sets_containing(self, gene: str) -> list[str]:
        """Names of the sets that contain ``gene``, smallest (most specific) first."""
        g = normalize_gene(gene)
        if g not in self._index:
            return []
        row = self.binary.getrow(self._index[g]).indices
        return [self.set_names[j] for j in sorted(row, key=lambda j: self.set_sizes[j])]

    def genes_in_set(self, name: str) -> list[str]:
        """Members of set ``name`` within this gene list (empty if the set is unknown)."""
        j = self._set_index.get(name)
        if j is None:
            return []
        col = self._csc.indices[self._csc.indptr[j] : self._csc.indptr[j + 1]]
        return [self.genes[i] for i in col]

    def enriched_sets(
        self, hits: Iterable[str], tested: Iterable[str], top: int = 20, min_overlap: int = 2
    ) -> list[Enrichment]:
        """Sets over-represented among ``hits`` relative to the ``tested`` genes (hypergeometric
        test; the universe is the tested genes), best p-value first."""
        from scipy.stats import hypergeom

        t_idx = np.array(sorted({self._index[g] for g in _canon(tested) if g in self._index}), int)
        h_set = {self._index[g] for g in _canon(hits) if g in self._index}
        h_idx = np.array(sorted(h_set & set(t_idx.tolist())), int)
        if len(t_idx) == 0 or len(h_idx) == 0:
            return []
        n_tested = np.asarray(self.binary[t_idx].sum(axis=0)).ravel()
        overlap = np.asarray(self.binary[h_idx].sum(axis=0)).ravel()
        cand = np.flatnonzero(overlap >= min_overlap)
        if len(cand) == 0:
            return []
        p = hypergeom.sf(overlap[cand] - 1, len(t_idx), n_tested[cand], len(h_idx))
        order = np.lexsort((-overlap[cand], p))[:top]
        hit_genes = [self.genes[i] for i in h_idx]
        out = []
        for o in order:
            j = int(cand[o])
            members = set(self.genes_in_set(self.set_names[j]))
            out.append(
                Enrichment(
                    self.set_names[j],
                    int(overlap[j]),
                    int(n_tested[j]),
                    int(self.set_sizes[j]),
                    float(p[o]),
                    tuple(g for g in hit_genes if g in members),
                )
            )
        return out

    def similar_genes(self, gene: str, k: int = 10) -> list[tuple[str, float]]:
        """The ``k`` genes whose set memberships are closest to ``gene``'s (cosine, TF-IDF)."""
        g = normalize_gene(gene)
        if g not in self._index:
            return []
        i = self._index[g]
        sims = np.asarray((self.membership @ self.membership.getrow(i).T).todense()).ravel()
        sims[i] = -np.inf
        top = np.argpartition(-sims, min(k, len(sims) - 1))[:k]
        top = top[np.argsort(-sims[top])]
        return [(self.genes[j], float(sims[j])) for j in top if sims[j] > 0]

    def cosine(
        self, rows: Sequence[int] | np.ndarray, cols: Sequence[int] | np.ndarray
    ) -> np.ndarray:
        """Dense cosine similarities ``(len(rows), len(cols))`` between genes by index."""
        a = self.membership[np.asarray(rows, int)]
        b = self.membership[np.asarray(cols, int)]
        return np.asarray((a @ b.T).todense())


def _canon(genes: Iterable[str]) -> list[str]:
    return [normalize_gene(g) for g in genes]


def known_symbols(sources: Sequence[LibrarySource] | None = None) -> frozenset[str]:
    """Every gene symbol in any set of ``sources`` (default: :func:`library_sources`), before
    sets are restricted to a screen: tells IDs no library knows from a screen too small for
    its sets."""
    srcs = tuple(library_sources() if sources is None else sources)
    return _symbols(srcs, tuple(s.fingerprint() for s in srcs))


@lru_cache(maxsize=2)
def _symbols(sources: tuple[LibrarySource, ...], fingerprints: tuple[str, ...]) -> frozenset[str]:
    return frozenset(g for members in _all_sets(sources)[1] for g in members)


@lru_cache(maxsize=4)
def knowledge_for(genes: tuple[str, ...]) -> GeneKnowledge:
    """Process-wide memo of :meth:`GeneKnowledge.for_genes` with the default libraries/cache."""
    return GeneKnowledge.for_genes(genes)


__all__ = [
    "DEFAULT_CACHE",
    "ENRICHR_LIBRARIES",
    "MAX_SET",
    "MIN_SET",
    "SHIPPED_DIR",
    "SHIPPED_LIBRARIES",
    "Enrichment",
    "GeneKnowledge",
    "LibrarySource",
    "knowledge_for",
    "known_symbols",
    "library_sources",
    "read_gmt",
]
