"""``perturbo tell`` / ``ask`` flags of a genetic lab campaign checked before anything is
recorded: ``--next-batch`` larger than the genes left untested, an ``--out`` that cannot be
written (and a write that fails after recording says the round was recorded and how to get
the sheet again); a Hit column a score rule ignores is warned about, once."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from perturbo import tracking
from perturbo.cli import main

GENES = [f"G{i:03d}" for i in range(20)]


def _start(tmp: Path, uri: str) -> list[str]:
    lib = tmp / "lib.csv"
    lib.write_text("Gene,sgRNA\n" + "".join(f"{g},{g}_1\n" for g in GENES))
    return ["run", "genetic", "--lab", "--library", str(lib), "--hit-rule", "score>=2",
            "--task", "find genes", "--planner", "random", "--rounds", "5", "--batch", "6",
            "--name", "L", "--tracking-uri", uri]  # fmt: skip


def _one_line_error(err: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if ln.startswith("perturbo: ")]
    assert len(lines) == 1 and lines[0].startswith("perturbo: error: "), err
    assert "Traceback" not in err, err
    return lines[0]


def _results(tmp: Path, hit: bool = False) -> Path:
    with (tmp / "L-round1.csv").open() as f:
        genes = [r["Gene"] for r in csv.DictReader(f) if r["Rank"]]
    p = tmp / "plate.csv"
    p.write_text(
        ("Gene,Score,Hit\n" if hit else "Gene,Score\n")
        + "".join(f"{g},{i / 2}{',1' if hit else ''}\n" for i, g in enumerate(genes))
    )
    return p


@pytest.fixture
def campaign(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[str, Path]:
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'm.db'}"
    assert main(_start(tmp_path, uri)) == 0
    capsys.readouterr()
    return uri, _results(tmp_path)


def _recorded(uri: str) -> int:
    return len(tracking.open_store(uri).history("L"))


def test_a_next_batch_larger_than_the_genes_left_is_refused(
    campaign: tuple[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    uri, plate = campaign
    args = ["tell", "L", str(plate), "--tracking-uri", uri, "--next-batch"]
    assert main([*args, "1000"]) == 2
    line = _one_line_error(capsys.readouterr().err)
    assert "--next-batch 1000" in line and "only 14 untested" in line, line
    assert "--next-batch 14 or less" in line, line
    assert _recorded(uri) == 0
    assert main([*args, "14"]) == 0  # all that is left: accepted
    assert _recorded(uri) == 6


def test_the_python_api_refuses_a_next_batch_larger_than_the_genes_left(
    campaign: tuple[str, Path],
) -> None:
    import perturbo
    from perturbo.types import PerturboError

    uri, plate = campaign
    lab = perturbo.open_campaign("L", tracking_uri=uri)
    with pytest.raises(PerturboError, match="only 14 untested"):
        lab.tell(str(plate), next_batch=1000)
    assert _recorded(uri) == 0


def test_an_out_that_cannot_be_written_is_refused_before_recording(
    campaign: tuple[str, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    uri, plate = campaign
    bad = str(tmp_path / "nonexistent" / "x.csv")
    assert main(["tell", "L", str(plate), "--tracking-uri", uri, "--out", bad]) == 2
    line = _one_line_error(capsys.readouterr().err)
    assert f"--out {bad}" in line and "does not exist" in line, line
    assert _recorded(uri) == 0
    assert main(["ask", "L", "--tracking-uri", uri, "--out", bad]) == 2
    assert "does not exist" in _one_line_error(capsys.readouterr().err)


def test_a_write_failing_after_recording_says_the_round_was_recorded(
    campaign: tuple[str, Path],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import perturbo.lab.step_checks as checks

    uri, plate = campaign
    monkeypatch.setattr(checks, "check_out", lambda out: None)  # the folder goes away after it
    bad = str(tmp_path / "gone" / "x.csv")
    assert main(["tell", "L", str(plate), "--tracking-uri", uri, "--out", bad]) == 2
    line = _one_line_error(capsys.readouterr().err)
    assert "round 1 was recorded" in line and "perturbo ask L --out" in line, line
    assert _recorded(uri) == 6
    assert main(["ask", "L", "--tracking-uri", uri, "--out", str(tmp_path / "r2.csv")]) == 0
    assert (tmp_path / "r2.csv").read_text().startswith("Round,Rank,Gene")


def test_a_hit_column_under_a_score_rule_is_warned_about_once(
    campaign: tuple[str, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    uri, _ = campaign
    plate = _results(tmp_path, hit=True)
    assert main(["tell", "L", str(plate), "--tracking-uri", uri]) == 0
    err = capsys.readouterr().err
    warned = [ln for ln in err.splitlines() if "Hit column is ignored" in ln]
    assert len(warned) == 1 and warned[0].startswith("perturbo: warning: "), err
    assert "'score>=2'" in warned[0] and "'column'" in warned[0], err
    hits = [o.outcome.metrics["hit"] for o in tracking.open_store(uri).history("L")]
    assert sum(hits) == sum(i / 2 >= 2 for i in range(6))  # by the rule, not the column
