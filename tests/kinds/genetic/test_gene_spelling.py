"""A screen's gene symbols are shown and recorded as the user's file spells them (a mouse
screen's ``Gm0007``, never an upper-cased ``GM0007``), while every match -- a hits file, a pin,
the gene-set libraries, a resume of a store that recorded the upper case, a lab's exclude,
controls and results -- ignores case."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from stores import *  # noqa: F403

from perturbo import tracking
from perturbo.cli import main
from perturbo.kinds.genetic import screens
from perturbo.kinds.genetic.experiment import GenePool
from perturbo.kinds.genetic.screens import load_screen

N = 40


def _mouse_screen(path: Path) -> Path:
    """Genes ``Gm0000`` ... spelled as a mouse table spells them; scores vary."""
    rng = np.random.default_rng(0)
    rows = [f"Gm{i:04d},{s:.6f}" for i, s in enumerate(rng.normal(size=N))]
    path.write_text("Gene,Score\n" + "\n".join(rows) + "\n")
    return path


def test_the_screen_keeps_the_file_spelling_and_matches_any_case(tmp_path: Path) -> None:
    csv = _mouse_screen(tmp_path / "mouse.csv")
    (tmp_path / "hits.txt").write_text("GM0001\ngm0002\n")  # another case than the screen's
    screen = load_screen(str(csv), hits=str(tmp_path / "hits.txt"))
    assert screen.is_hit("Gm0001") and screen.is_hit("gm0002") and not screen.is_hit("Gm0003")
    assert screen.spell("GM0007") == "Gm0007" == screen.view().spell("gm0007")
    pool = GenePool(screen.genes, screen.spelling)
    assert pool.validate({"gene": " gm0007 "}) == {"gene": "Gm0007"}
    assert pool.key({"gene": "Gm0007"}) == pool.key({"gene": "GM0007"})
    drawn = pool.sample(np.random.default_rng(0), 3, exclude=set())
    assert all(d["gene"].startswith("Gm") for d in drawn)
    near = pool.suggestions("GM0070")
    assert near and all(g.startswith("Gm") for g in near), near


def _run(store: str, csv: Path, hits: Path, *extra: str) -> list[str]:
    return [
        "run", "genetic", "--screen", str(csv), "--hits", str(hits), "--planner", "random",
        "--batch", "5", "--rounds", "1", "--local", "--no-progress", "--tracking-uri", store,
        "--name", "mouse", *extra,
    ]  # fmt: skip


def _genes(store: str) -> list[str]:
    return [str(o.spec.params["gene"]) for o in tracking.load_history(store, "mouse")[1]]


@pytest.mark.parametrize("old_store", [False, True], ids=["spelled", "upper-cased-before"])
def test_runs_record_and_show_the_users_spelling_and_a_resume_matches_any_case(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    store: str,
    tmp_path: Path,
    old_store: bool,
) -> None:
    csv = _mouse_screen(tmp_path / "mouse.csv")
    hits = tmp_path / "hits.txt"
    hits.write_text("\n".join(f"GM{i:04d}" for i in range(N)) + "\n")  # all hits, upper case
    if old_store:  # a store written before the spelling was kept: genes upper-cased
        read = screens.read_gene_scores
        monkeypatch.setattr(screens, "read_gene_scores", lambda *a, **k: (*read(*a, **k)[:2], {}))
    assert main(_run(store, csv, hits, "--pin", '{"gene": "gm0007"}')) == 0, capsys.readouterr()
    first = _genes(store)
    assert len(first) == 5 and first[0] == ("GM0007" if old_store else "Gm0007")
    monkeypatch.undo()
    capsys.readouterr()

    pin = '{"gene": "Gm0007"}'  # tested in round 1, in whichever case it was recorded
    rc = main(
        ["resume", "mouse", "--rounds", "2", "--local", "--tracking-uri", store, "--pin", pin]
    )
    assert rc == 2 and "already tested" in capsys.readouterr().err
    rc = main(
        ["resume", "mouse", "--rounds", "4", "--local", "--no-progress", "--tracking-uri", store]
    )
    assert rc == 0, capsys.readouterr().err
    genes = _genes(store)
    assert len(genes) == 20 and genes[:5] == first
    assert len({g.upper() for g in genes}) == 20  # no gene run twice in another case
    assert all(g.startswith("Gm") for g in genes[5:])  # proposed as the screen spells them

    capsys.readouterr()
    assert main(["show", "mouse", "--hits", "--tracking-uri", store]) == 0
    out = capsys.readouterr().out
    assert "Gm00" in out and (old_store or "GM00" not in out), out


def test_a_lab_campaign_sheets_and_records_the_library_spelling(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import csv as csvlib

    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path}/lab.db"
    genes = [f"Gm{i:03d}" for i in range(30)]
    lib = tmp_path / "lib.csv"
    lib.write_text("Gene,sgRNA\n" + "".join(f"{g},{g}_1\n" for g in genes) + "Ntc1,n1\n")
    (tmp_path / "ex.txt").write_text("GM000\ngm001\n")  # excluded, in other cases
    (tmp_path / "ctl.txt").write_text("NTC1\n")  # a control, spelled otherwise than the library
    argv = [
        "run", "genetic", "--lab", "--library", str(lib), "--hit-rule", "score>=1",
        "--exclude", "ex.txt", "--controls", "ctl.txt", "--task", "find genes",
        "--planner", "random", "--rounds", "1", "--batch", "6", "--name", "L",
        "--tracking-uri", uri,
    ]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    with (tmp_path / "L-round1.csv").open() as f:
        rows = list(csvlib.DictReader(f))
    batch = [r["Gene"] for r in rows if r["Rank"]]
    assert len(batch) == 6 and set(batch) <= set(genes[2:]), batch  # spelled; excluded left out
    assert [r["Gene"] for r in rows if not r["Rank"]] == ["Ntc1"]  # the library's spelling
    assert [r["sgRNA"] for r in rows] == [f"{g}_1" for g in batch] + ["n1"]  # guides found
    res = tmp_path / "r1.csv"  # the lab's file upper-cases every symbol
    res.write_text("Gene,Score\n" + "".join(f"{g.upper()},{i}\n" for i, g in enumerate(batch)))
    assert main(["tell", "L", str(res), "--tracking-uri", uri]) == 0, capsys.readouterr().err
    hist = tracking.open_store(uri).history("L")
    assert [o.spec.params["gene"] for o in hist] == batch
    assert [o.outcome.value("hit") for o in hist] == [0.0, 1.0, 1.0, 1.0, 1.0, 1.0]
