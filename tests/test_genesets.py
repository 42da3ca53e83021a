"""Gene-set knowledge: GMT parsing, the TF-IDF membership matrix, the disk cache, look-ups."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.stats import hypergeom

from perturbo.kinds.genetic.genesets import GeneKnowledge, LibrarySource, library_sources, read_gmt

GENES = tuple(f"G{i}" for i in range(30))


def _library(tmp_path: Path) -> list[LibrarySource]:
    lines = [
        "SMALL\tdesc\tG0\tG1\tG2\tG3\tG4",  # 5 genes
        "BIG\tdesc\t" + "\t".join(f"G{i}" for i in range(20)),  # 20 genes
        "TINY\tdesc\tG0\tG1",  # 2 genes: below min_size, dropped
        "OTHER\tdesc\tG10\tg11 \tG12,1.0\tG13\tG14\tNOT_IN_SCREEN",  # case/space/weight cleaned
    ]
    p = tmp_path / "lib.gmt"
    p.write_text("\n".join(lines) + "\n")
    return [LibrarySource("Lib", p)]


def test_read_gmt_cleans_symbols(tmp_path: Path) -> None:
    sets = read_gmt(_library(tmp_path)[0].path)
    assert sets["OTHER"][:3] == ["G10", "G11", "G12"] and len(sets) == 4


def test_membership_is_tfidf_weighted_and_row_normalised(tmp_path: Path) -> None:
    know = GeneKnowledge.for_genes(
        GENES, _library(tmp_path), cache_dir=None, min_size=3, max_size=20
    )
    assert know.set_names == ("Lib: SMALL", "Lib: BIG", "Lib: OTHER")  # TINY dropped (2 < 3)
    m = know.membership.toarray()
    norms = np.linalg.norm(m, axis=1)
    assert np.allclose(norms[:15], 1.0)
    assert np.all(norms[20:] == 0.0)  # G20..G29 are in no set
    # G0 is in SMALL (5 genes) and BIG (20): the smaller set weighs more (idf = log(30 / size))
    assert m[0, 0] / m[0, 1] == pytest.approx(np.log(30 / 5) / np.log(30 / 20))
    assert know.set_sizes.tolist() == [5, 20, 5]


def test_knowledge_is_cached_on_disk_and_reloaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    libs = _library(tmp_path)
    first = GeneKnowledge.for_genes(GENES, libs, cache_dir=tmp_path, min_size=3)
    assert len(list((tmp_path / "genesets").glob("*.npz"))) == 1

    def no_build(*a: object, **k: object) -> None:
        raise AssertionError("rebuilt although cached")

    monkeypatch.setattr(GeneKnowledge, "_build", classmethod(no_build))
    again = GeneKnowledge.for_genes(GENES, libs, cache_dir=tmp_path, min_size=3)
    assert again.set_names == first.set_names
    assert (again.membership != first.membership).nnz == 0
    monkeypatch.undo()
    libs[0].path.write_text("X\td\tG0\tG1\tG2\n")  # a changed library is a new key
    changed = GeneKnowledge.for_genes(GENES, libs, cache_dir=tmp_path, min_size=3)
    assert changed.set_names == ("Lib: X",)
    assert len(list((tmp_path / "genesets").glob("*.npz"))) == 2


def test_lookups(tmp_path: Path) -> None:
    know = GeneKnowledge.for_genes(GENES, _library(tmp_path), cache_dir=None, min_size=3)
    assert know.sets_containing(" g0") == ["Lib: SMALL", "Lib: BIG"]  # smallest first
    assert know.sets_containing("NOPE") == []
    assert know.genes_in_set("Lib: OTHER") == ["G10", "G11", "G12", "G13", "G14"]
    near = know.similar_genes("G1", k=3)
    assert {g for g, _ in near} <= {"G0", "G2", "G3", "G4"} and near[0][1] == pytest.approx(1.0)
    assert know.similar_genes("G25") == []  # in no set: no neighbours


def test_enriched_sets_hypergeometric(tmp_path: Path) -> None:
    know = GeneKnowledge.for_genes(GENES, _library(tmp_path), cache_dir=None, min_size=3)
    tested = GENES[:25]
    hits = ["G0", "G1", "G2", "G11"]
    res = know.enriched_sets(hits, tested)
    assert res[0].name == "Lib: SMALL" and res[0].overlap == 3 and res[0].n_tested == 5
    assert res[0].p_value == pytest.approx(hypergeom.sf(2, 25, 5, 4))
    assert res[0].hits == ("G0", "G1", "G2")
    assert [r.p_value for r in res] == sorted(r.p_value for r in res)
    assert all(r.overlap >= 2 for r in res)
    assert know.enriched_sets([], tested) == []


def test_default_libraries_are_installed_offline() -> None:
    names = {s.name for s in library_sources()}
    assert {
        "MSigDB_Hallmark",
        "MSigDB_C2_CP",
        "GO_Biological_Process_2023",
        "MGI_Mammalian_Phenotype_Level_4_2021",
        "ARCHS4_TFs_Coexp",
    } <= names
    assert not any("KEGG" in n for n in names)
