"""What ``perturbo run --lab``, ``ask`` and ``tell`` say: a flag a lab campaign of trials
cannot use is refused in one line (exit 2) or warned about, never silently ignored; lines and
help name what is true (the campaign's own name, a missing file as missing, exit 2 for a
trial told twice)."""

from __future__ import annotations

from pathlib import Path

import pytest

from perturbo.cli import main
from tests.lab.loop_helpers import trials_start_args


def _start(tmp: Path, uri: str, *extra: str) -> list[str]:
    return trials_start_args(tmp, uri, "my-hpo", 4, *extra)


def _one_line_error(err: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if ln.startswith("perturbo: ")]
    assert len(lines) == 1 and lines[0].startswith("perturbo: error: "), err
    assert "Traceback" not in err, err
    return lines[0]


def test_task_with_lab_is_refused_and_mf_bo_without_fidelity_warns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    uri = f"sqlite:///{tmp_path / 'm.db'}"
    assert main(_start(tmp_path, uri, "--task", "wine-mlp")) == 2
    line = _one_line_error(capsys.readouterr().err)
    assert "--task wine-mlp" in line and "drop --task" in line
    config = tmp_path / "run.toml"
    config.write_text('task = "wine-mlp"\n')  # from a TOML file: refused the same
    assert main([*_start(tmp_path, uri), "--config", str(config)]) == 2
    assert "--task wine-mlp" in _one_line_error(capsys.readouterr().err)
    args = [a if a != "random" else "mf-bo" for a in _start(tmp_path, uri)]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert err.count("perturbo: warning: mf-bo: the space has no fidelity parameter") == 1, err
    assert "runs as plain bo" in err


def test_the_lines_name_the_campaign_and_a_missing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'm.db'}"
    assert main(_start(tmp_path, uri)) == 0
    capsys.readouterr()
    assert main(["tell", "my-hpo", "t0000", "0.5", "--tracking-uri", uri]) == 0
    err = capsys.readouterr().err
    assert "no trial open: `perturbo ask my-hpo -n K` hands out K more" in err
    assert "CAMPAIGN" not in err
    for missing in ("missing.csv", "results.JSON", "runs/out", "plate.tsv"):
        assert main(["tell", "my-hpo", missing, "--tracking-uri", uri]) == 2
        line = _one_line_error(capsys.readouterr().err)
        assert f"results file {missing} not found" in line, line
    assert main(["tell", "my-hpo", "t0001", "--tracking-uri", uri]) == 2  # an id, no value
    assert "TRIAL_ID VALUE" in _one_line_error(capsys.readouterr().err)
    assert main(["tell", "my-hpo", "t0000", "0.7", "--tracking-uri", uri]) == 2  # told twice
    assert "already told" in _one_line_error(capsys.readouterr().err)


def test_tell_help_says_a_trial_told_twice_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["tell", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    status = out[out.index("exit status:") :]
    assert "(or already recorded)" not in status
    assert "2 an error, nothing recorded" in status and "a trial told twice" in status
