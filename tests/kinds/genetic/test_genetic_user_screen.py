"""A first-time user's own screen (the pass of /tmp/pass_screen): a resume refuses a screen
or hits file edited since the start, any screen format is recorded by absolute path, the
lab-only flags are refused in a replay, the startup line says how hits are defined, transfer
sources sharing no genes are dropped and named, and the readers' messages say the fix."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from stores import *  # noqa: F403
from stores import make_screen_csv

from perturbo.cli import main
from perturbo.kinds.genetic.screens import Screen, load_screen
from perturbo.kinds.genetic.settings import GeneticConfig
from perturbo.types import PerturboError


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    rc = main(list(argv))
    return rc, capsys.readouterr().err


def _one_error(rc: int, err: str, *needles: str) -> str:
    assert rc == 2, err
    lines = [ln for ln in err.strip().splitlines() if ln.strip() and not ln.endswith("...")]
    assert len(lines) == 1 and lines[0].startswith("perturbo: error: "), err
    assert "Traceback" not in err
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0]


def _run(store: str, name: str, *extra: str) -> list[str]:
    return [
        "run",
        "genetic",
        *extra,
        "--planner",
        "random",
        "--batch",
        "5",
        "--rounds",
        "1",
        "--local",
        "--no-progress",
        "--tracking-uri",
        store,
        "--name",
        name,
    ]


# -- 1. resume refuses a screen or hits file changed since the start -------------------------


def test_resume_refuses_an_edited_screen_and_hits_file(
    capsys: pytest.CaptureFixture[str], store: str, tmp_path: Path
) -> None:
    screen = make_screen_csv(tmp_path / "edit_me.csv")
    hits = tmp_path / "hits.txt"
    hits.write_text("G0001\nG0002\n")
    rc, err = _cli(capsys, *_run(store, "edit", "--screen", str(screen), "--hits", str(hits)))
    assert rc == 0, err
    hits.write_text("G0001\nG0003\n")  # the hit definition changed under the campaign
    rc, err = _cli(capsys, "resume", "edit", "--rounds", "2", "--local", "--tracking-uri", store)
    _one_error(rc, err, f"--hits {hits}", "content changed", "restore the file", "new campaign")
    hits.write_text("G0001\nG0002\n")
    lines = screen.read_text().splitlines()
    screen.write_text("\n".join(lines[:60]) + "\n")  # cut to 59 genes
    rc, err = _cli(capsys, "resume", "edit", "--rounds", "2", "--local", "--tracking-uri", store)
    _one_error(rc, err, f"--screen {screen}", "content changed", "restore the file")
    screen.write_text("\n".join(lines) + "\n")  # restored: the resume goes on
    rc, err = _cli(capsys, "resume", "edit", "--rounds", "2", "--local", "--tracking-uri", store)
    assert rc == 0, err


def test_a_config_recorded_without_hashes_resumes_and_records_them(tmp_path: Path) -> None:
    from perturbo.kinds.genetic.checks import file_sha256, record_files

    screen = make_screen_csv(tmp_path / "old.csv")
    old = GeneticConfig(screen=str(screen))  # what a campaign recorded before hashes
    assert old.screen_sha256 is None
    now = record_files(old)
    assert now.screen_sha256 == file_sha256(screen) and now.hits_sha256 is None
    assert record_files(GeneticConfig(screen="IFNG")).screen_sha256 is None  # built-in


# -- 2. every screen format by absolute path; a missing file names the start folder ----------


@pytest.mark.parametrize("suffix", [".tsv", ".txt", ".csv"])
def test_a_screen_of_any_format_is_recorded_by_absolute_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    (tmp_path / f"mine{suffix}").write_text("Gene\tScore\nA\t1\n")
    monkeypatch.chdir(tmp_path)
    assert GeneticConfig(screen=f"mine{suffix}").screen == str(tmp_path / f"mine{suffix}")
    assert GeneticConfig(screen="IFNG").screen == "IFNG"


def test_a_resume_missing_its_screen_names_the_folder_it_started_in(tmp_path: Path) -> None:
    from perturbo.kinds.genetic.checks import record_files

    screen = make_screen_csv(tmp_path / "gone.csv")
    started = record_files(GeneticConfig(screen=str(screen)))
    screen.unlink()
    with pytest.raises(PerturboError, match=f"started in {os.getcwd()}.*put the file back"):
        record_files(started)


def test_a_relative_screen_not_found_says_where_it_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(PerturboError, match=f"looked in {tmp_path}.*started in another folder"):
        load_screen("mouse_tcell.tsv")


# -- 3. lab-only flags are refused without --lab ---------------------------------------------


@pytest.mark.parametrize(
    ("flag", "fix"),
    [
        ("--hit-rule", "--hits FILE"),
        ("--exclude", "delete those genes"),
        ("--controls", "controls' rows"),
        ("--library", "the screen file is the library"),
    ],
)
def test_lab_only_flags_are_refused_in_a_replay(
    capsys: pytest.CaptureFixture[str], store: str, tmp_path: Path, flag: str, fix: str
) -> None:
    screen = make_screen_csv(tmp_path / "s.csv")
    value = "score<=-1" if flag == "--hit-rule" else str(screen)
    rc, err = _cli(capsys, *_run(store, "lab-only", "--screen", str(screen), flag, value))
    _one_error(rc, err, flag, "--lab", fix)


# -- 4. the startup line: how hits are defined, and a task that picks one tail ---------------


def test_the_start_says_how_hits_are_defined_and_a_task_that_picks_a_tail(
    capsys: pytest.CaptureFixture[str], store: str, tmp_path: Path
) -> None:
    screen = make_screen_csv(tmp_path / "s.csv", n=400)
    task = "identify genes whose knockout lowers IL-2 secretion"
    rc, err = _cli(capsys, *_run(store, "told", "--screen", str(screen), "--task", task))
    assert rc == 0, err
    line = next(ln for ln in err.splitlines() if ln.strip().startswith("hits:"))
    assert "20 of 400 genes" in line and "largest |Score| (both tails)" in line, line
    assert "--hits FILE" in line and "'lowers'" in line and "--hit-tail low" in line, line
    assert err.count("hits: ") == 1 and line.endswith("building the random planner ...")


def test_direction_words_are_read_per_tail() -> None:
    from perturbo.kinds.genetic.checks import direction_words

    assert direction_words("find genes whose knockout raises or lowers X") == {
        "low": ["lowers"],
        "high": ["raises"],
    }


# -- 5. transfer sources sharing no genes are dropped, named and kept on the run -------------


def test_transfer_sources_whose_genes_no_library_knows_are_dropped_and_named() -> None:
    """The prior learns from a source's genes' gene-set features, not from genes it shares
    with the screen (an earlier campaign on other genes still teaches it: tests/test_e2e.py);
    a source of Ensembl IDs teaches nothing and is left out, named."""
    from perturbo.kinds.genetic.planners.gene_priors import LabelSource, training_sources
    from perturbo.kinds.genetic.screens import load_screen

    il2 = load_screen("IL2")
    ens = {f"ENSG{i:011d}": i < 5 for i in range(60)}
    other_genes = {g: i < 3 for i, g in enumerate(il2.genes[:40])}  # known symbols
    left: list[str] = []
    kept = training_sources(
        load_screen("IFNG"),
        [
            LabelSource("campaigns:ENS (x1)", "other", ens),
            LabelSource("campaigns:B", "b", other_genes),
        ],
        left,
    )
    names = [s.name for s in kept]
    assert "campaigns:B" in names and "campaigns:ENS (x1)" not in names, names
    assert left == ["transfer:campaigns:ENS (x1) (0 of its 60 genes known)"], left


def test_bo_keeps_the_coverage_warning_and_names_the_dropped_sources(
    screen: Screen, knowledge: object
) -> None:
    from perturbo.kinds.genetic.planners.gene_bo import GeneBOPlanner

    ens = Screen(
        "ens",
        tuple(f"ENSG{i:05d}" for i in range(60)),
        screen.scores,
        frozenset(),
        "t",
        "m",
        "ens",
    )
    from perturbo.kinds.genetic.genesets import GeneKnowledge

    know = GeneKnowledge.for_genes(ens.genes, [], cache_dir=None)
    with pytest.warns(UserWarning, match="match a gene set"):
        planner = GeneBOPlanner(ens, prior="none", knowledge=know, left_out=["transfer:IL2 (x)"])
    assert "match a gene set" in str(planner.describe()["coverage_warning"])
    note = planner.ask(3, [])[0].note
    assert "left out, too few shared genes: transfer:IL2 (x)" in note, note


# -- 6-8. the readers' messages --------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "says"),
    [
        (
            "id\tnum\tneg|score\tneg|lfc\tpos|score\tpos|lfc",
            "MAGeCK gene summary: rename `neg|lfc`",
        ),
        ("GENE\tsumZ\tnormZ\tpval_synth", "DrugZ output: rename `normZ` to Score"),
        ("GENE\tBF\tSTD\tNumObs", "BAGEL output: rename `BF` to Score"),
    ],
)
def test_tool_outputs_are_named_with_the_column_to_rename(
    tmp_path: Path, header: str, says: str
) -> None:
    path = tmp_path / "out.txt"
    path.write_text(header + "\nVav1" + "\t1" * (header.count("\t")) + "\n")
    with pytest.raises(PerturboError) as e:
        load_screen(str(path))
    assert says in str(e.value) and "Gene Symbol" in str(e.value), str(e.value)
    assert "\n" not in str(e.value)


def test_na_and_blank_scores_are_listed_at_once(tmp_path: Path) -> None:
    path = tmp_path / "na.csv"
    rows = [f"G{i},{s}" for i, s in enumerate(["1", "NA", "2", "", "NA", "x", "NA", "NA", "3"])]
    path.write_text("Gene,Score\n" + "\n".join(rows) + "\n")
    with pytest.raises(PerturboError) as e:
        load_screen(str(path))
    msg = str(e.value)
    assert "6 row(s)" in msg and "line 3 G1 'NA'" in msg and "line 5 G3 ''" in msg, msg
    assert "(1 more)" in msg, msg


def test_a_hits_file_with_a_header_or_as_a_csv(tmp_path: Path) -> None:
    screen = make_screen_csv(tmp_path / "s.csv")
    for name, text in [
        ("hdr.txt", "Gene\nG0001\nG0002\n"),
        ("table.csv", "Gene,FDR\nG0001,0.01\nG0002,0.02\n"),
        ("table.tsv", "FDR\tGene Symbol\n0.01\tG0001\n0.02\tG0002\n"),
    ]:
        (tmp_path / name).write_text(text)
        got = load_screen(str(screen), hits=str(tmp_path / name)).hits
        assert got == {"G0001", "G0002"}, name
    (tmp_path / "nohdr.csv").write_text("G0001,0.01\nG0002,0.02\n")
    with pytest.raises(PerturboError, match="line 1 has 2 separated fields.*one hit gene per"):
        load_screen(str(screen), hits=str(tmp_path / "nohdr.csv"))
    (tmp_path / "hits.txt").write_text("hit genes\nG0001\n")
    with pytest.raises(PerturboError, match="first line 'hit genes'.*a header"):
        load_screen(str(screen), hits=str(tmp_path / "hits.txt"))


# -- 9. a tiny screen of valid symbols is told it is too small, not to rename ----------------


def test_a_small_screen_of_known_symbols_is_told_it_is_too_small(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from perturbo.kinds.genetic.genesets import GeneKnowledge
    from perturbo.kinds.genetic.planners import gene_coverage
    from perturbo.kinds.genetic.screens import ScreenView

    genes = ("CD4", "CD8A", "CD3E")
    monkeypatch.setattr(gene_coverage, "known_symbols", lambda: frozenset(genes))
    know = GeneKnowledge.for_genes(genes, [], cache_dir=None)
    msg = gene_coverage.coverage_warning(ScreenView("three", genes, "t", "m", "s"), know)
    assert msg and "too small" in msg and "HGNC" not in msg and "--batch 3" in msg, msg


# -- 10. show: no best round while nothing was found -----------------------------------------


def test_show_says_no_hits_yet_rather_than_a_best_round() -> None:
    from perturbo.kinds.genetic.spec import KIND
    from perturbo.show_results import best_lines
    from perturbo.types import CampaignSummary

    class Store:
        def best_marks(self, name: str) -> dict[str, str]:
            return {"perturbo.best.round": "1", "perturbo.best.round_metric": "hits_round=0"}

    summary = CampaignSummary("c", "genetic", "FINISHED", 1, 0.0)
    lines = best_lines(Store(), "c", summary, KIND)
    assert lines == ["  best round: none yet, no hits found (hits_round=0 in every round)"]
