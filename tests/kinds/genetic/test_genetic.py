"""The genetic kind: screens (built-in and user CSVs), the gene pool, the executor, metrics."""

from __future__ import annotations

import csv
import json
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from perturbo.campaign import StopRule, run
from perturbo.kinds.genetic import (
    GenePool,
    GeneticExecutor,
    GeneticMetrics,
    builtin_screens,
    hit_ratio_curve,
    load_screen,
)
from perturbo.kinds.genetic.screens import DATA_DIR
from perturbo.search.random import RandomPlanner
from perturbo.types import ExperimentSpec, InvalidSpec, Observation, PerturboError, Status


def _csv(tmp_path: Path, text: str, name: str = "my_screen.csv") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def _screen_csv(tmp_path: Path, n: int = 40) -> Path:
    rows = "\n".join(f"g{i}, {(-1) ** i * i / n:.4f}" for i in range(n))
    return _csv(tmp_path, "Gene,Score\n" + rows + "\n")


# -- built-in screens ----------------------------------------------------------------------------


def test_builtin_screens_match_the_paper_counts_and_studies() -> None:
    assert builtin_screens() == ("Carnevale22_Adenosine", "IFNG", "IL2", "Scharenberg22")
    ifng, il2, sch = load_screen("IFNG"), load_screen("il2"), load_screen("Scharenberg22")
    assert (len(ifng), len(ifng.hits)) == (18418, 920)
    assert len(il2.hits) == 654 and len(sch.hits) == 53
    assert ifng.study == il2.study != sch.study  # IFNG and IL2 are siblings (one study)
    assert "Interferon" in ifng.task and ifng.measurement
    assert ifng.hits <= set(ifng.genes)


def test_builtin_duplicates_keep_the_row_with_the_largest_abs_score() -> None:
    rows: dict[str, list[float]] = {}
    with (DATA_DIR / "Scharenberg22.csv").open() as f:
        for r in csv.DictReader(f):
            rows.setdefault(r["Gene"].strip().upper(), []).append(float(r["Score"]))
    dupes = {g: v for g, v in rows.items() if len(v) > 1}
    assert len(dupes) == 6
    screen = load_screen("Scharenberg22")
    assert len(screen) == len(rows) == 1055 and len(set(screen.genes)) == len(screen)
    for g, values in dupes.items():
        assert screen.score(g) == max(values, key=abs)


def test_builtin_screen_refuses_a_hits_file(tmp_path: Path) -> None:
    with pytest.raises(PerturboError, match="--hits"):
        load_screen("IFNG", hits=str(tmp_path / "h.txt"))


# -- user CSVs -------------------------------------------------------------------------------------


def test_user_csv_normalises_symbols_and_takes_top_5_percent_as_hits(tmp_path: Path) -> None:
    screen = load_screen(str(_screen_csv(tmp_path)))
    assert screen.name == "my_screen" and screen.study == "my_screen"
    assert screen.genes[:2] == ("G0", "G1")
    assert screen.index(" g3 ") == 3 and screen.score("G39") == pytest.approx(-39 / 40)
    # top 5% of 40 by |score| = the 2 largest |score|: G39 and G38
    assert screen.hits == frozenset({"G39", "G38"})
    assert "phenotype" in screen.task  # the default sentence


def test_user_csv_with_hits_file_and_task(tmp_path: Path) -> None:
    path = _screen_csv(tmp_path)
    hits = tmp_path / "hits.txt"
    hits.write_text("# my hits\n g1\nG2  \n\n")
    task = tmp_path / "t.json"
    task.write_text(json.dumps({"Task": "find X", "Measurement": "Y", "Study": "Lab1"}))
    screen = load_screen(str(path), hits=str(hits), task=str(task))
    assert screen.hits == frozenset({"G1", "G2"})
    assert (screen.task, screen.measurement, screen.study) == ("find X", "Y", "Lab1")
    # a task sentence instead of a file; a task.json beside the CSV is found by name
    assert load_screen(str(path), task="find genes for Z").task == "find genes for Z"
    (tmp_path / "my_screen.task.json").write_text(json.dumps({"Task": "beside"}))
    assert load_screen(str(path)).task == "beside"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "empty"),
        ("Gene,Score\n", "no data rows"),
        ("Gene,Value\nA,1\n", "no Score column"),
        ("Name,Score\nA,1\n", "no Gene column"),
        ("Gene,Score\nA,1\nB,nan\n", "NaN"),
        ("Gene,Score\nA,1\nB,high\n", "not a number"),
        ("Gene,Score\nA,1\nB,2\n a ,3\n", "more than one row"),
        ("Gene,Score\nA,1\n,2\n", "empty Gene"),
    ],
)
def test_bad_csv_raises_one_message_naming_the_file(
    tmp_path: Path, content: str, expected: str
) -> None:
    path = _csv(tmp_path, content)
    with pytest.raises(PerturboError) as err:
        load_screen(str(path))
    assert expected in str(err.value) and str(path) in str(err.value)


def test_a_tsv_screen_and_other_gene_column_names_are_read(tmp_path: Path) -> None:
    """A scientist's screen is often a .tsv, its gene column 'Gene Symbol' or 'Symbol' (the
    names a lab library's gene column already takes)."""
    rows = "".join(f"g{i}\t{(-1) ** i * i / 40:.4f}\tx\n" for i in range(40))
    tsv = _csv(tmp_path, "Gene Symbol\tScore\tNote\n" + rows, name="mine.tsv")
    screen = load_screen(str(tsv))
    assert screen.genes[:2] == ("G0", "G1") and screen.score("G39") == pytest.approx(-39 / 40)
    assert screen.hits == frozenset({"G39", "G38"})
    csv_ = _csv(tmp_path, "symbol,Score\nA,1\nB,-2\n", name="sym.csv")
    assert load_screen(str(csv_)).genes == ("A", "B")


@pytest.mark.parametrize(
    ("name", "header", "hint"),
    [
        ("mine.csv", "Gene\tScore", "tab-separated: name it mine.tsv"),
        ("mine.csv", "Gene;Score", "separated by ';'"),
    ],
)
def test_a_screen_with_another_separator_says_how_to_have_it_read(
    tmp_path: Path, name: str, header: str, hint: str
) -> None:
    sep = header[4]
    path = _csv(tmp_path, f"{header}\nA{sep}1\nB{sep}2\n", name=name)
    with pytest.raises(PerturboError) as err:
        load_screen(str(path))
    assert "no Gene or Score column" in str(err.value) and hint in str(err.value)


def test_duplicate_genes_in_a_user_csv_are_named(tmp_path: Path) -> None:
    with pytest.raises(PerturboError, match=r"\(A\b.*keep one row per gene"):
        load_screen(str(_csv(tmp_path, "Gene,Score\nA,1\nB,2\na,3\n")))


def test_missing_screen_and_bad_side_files(tmp_path: Path) -> None:
    with pytest.raises(PerturboError, match="nope.csv.*built-in screen.*IFNG"):
        load_screen(str(tmp_path / "nope.csv"))
    path = _screen_csv(tmp_path)
    bad_hits = tmp_path / "hits.txt"
    bad_hits.write_text("G1\nNOT_A_GENE\n")
    with pytest.raises(
        PerturboError, match=r"hits.txt: 1 gene\(s\) are not in the screen \(NOT_A_GENE\)"
    ):
        load_screen(str(path), hits=str(bad_hits))
    bad_hits.write_text("# nothing\n\n")
    with pytest.raises(PerturboError, match="no gene names"):
        load_screen(str(path), hits=str(bad_hits))
    with pytest.raises(PerturboError, match="missing.json: no such file"):
        load_screen(str(path), task=str(tmp_path / "missing.json"))
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(PerturboError, match="broken.json: not valid JSON"):
        load_screen(str(path), task=str(broken))


# -- pool, executor, metrics -------------------------------------------------------------------------


def test_gene_pool_validates_and_suggests() -> None:
    pool = GenePool(["IFNG", "IL2", "STAT1", "STAT2"])
    assert pool.validate({"gene": " ifng "}) == {"gene": "IFNG"}
    assert pool.key({"gene": "stat1"}) == "STAT1"
    with pytest.raises(InvalidSpec, match="stat9 is not a gene of this screen.*did you mean STAT"):
        pool.validate({"gene": "stat9"})
    for bad in ({"gene": ""}, {"gene": 3}, {"gen": "IFNG"}, {"gene": None}):
        with pytest.raises(InvalidSpec):
            pool.validate(bad)
    rng = np.random.default_rng(0)
    drawn = pool.sample(rng, 10, exclude={"IFNG", "IL2"})
    assert sorted(d["gene"] for d in drawn) == ["STAT1", "STAT2"]
    assert pool.sample(rng, 3, exclude={"IFNG", "IL2", "STAT1", "STAT2"}) == []


def test_executor_returns_score_and_hit_and_rejects_unknown_genes(tmp_path: Path) -> None:
    screen = load_screen(str(_screen_csv(tmp_path)))
    ex = GeneticExecutor(screen)
    out = ex.run(ExperimentSpec({"gene": "g39"}))
    assert out.status is Status.COMPLETED and out.metrics == {"score": -39 / 40, "hit": 1.0}
    assert ex.run(ExperimentSpec({"gene": "G2"})).metrics["hit"] == 0.0
    bad = ex.run(ExperimentSpec({"gene": "XYZ"}))
    assert bad.status is Status.REJECTED and "XYZ" in bad.error


def test_metrics_count_hits_precision_and_ratio(tmp_path: Path) -> None:
    screen = load_screen(str(_screen_csv(tmp_path)))  # hits: G38, G39
    ex = GeneticExecutor(screen)

    def obs(gene: str, r: int) -> Observation:
        spec = ExperimentSpec({"gene": gene}, "genetic", f"{gene}-{r}", r)
        return Observation(spec, ex.run(spec))

    r0 = [obs("G39", 0), obs("G1", 0), obs("G2", 0), obs("G3", 0)]
    r1 = [obs("G38", 1), obs("G5", 1)]
    m = GeneticMetrics(screen)(r1, r0 + r1)
    assert m == {
        "hits_round": 1.0,
        "precision_round": 0.5,
        "hits_total": 2.0,
        "hit_ratio": 1.0,
        "n_tested": 6.0,
    }
    assert GeneticMetrics(screen)(r0, r0)["precision_round"] == 0.25
    assert hit_ratio_curve(r0 + r1, screen).tolist() == [0.5, 1.0]


def test_campaign_with_random_planner_tests_each_gene_once(tmp_path: Path) -> None:
    from perturbo.actors import LocalExecutorPool

    screen = load_screen(str(_screen_csv(tmp_path)))
    pool_space = GenePool(screen.genes)
    history = run(
        planner=RandomPlanner(pool_space, "genetic", seed=1),
        pool=LocalExecutorPool(partial(GeneticExecutor, screen)),
        space=pool_space,
        batch=8,
        stop=StopRule(rounds=10),
        metrics=GeneticMetrics(screen),
    )
    genes = [o.spec.params["gene"] for o in history if o.outcome.ok]
    assert len(genes) == 40 == len(set(genes))  # 5 rounds exhaust the pool, then it stops
    assert GeneticMetrics(screen)([], list(history))["hit_ratio"] == 1.0
