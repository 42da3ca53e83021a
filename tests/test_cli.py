"""The command line: help that teaches, settings from TOML, and bad input.

Every bad input ends in one line on stderr naming the input and the fix, exit code 2, no
traceback, and nothing already recorded lost.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from stores import *  # noqa: F403
from stores import make_screen_csv

from perturbo import tracking
from perturbo.cli import main


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def assert_one_clear_error(rc: int, err: str, *needles: str) -> None:
    assert rc == 2, err
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    lines = [ln for ln in lines if not ln.rstrip().endswith("...")]  # start-up progress lines
    assert len(lines) == 1, err
    assert lines[0].startswith("perturbo: error: "), err
    assert "Traceback" not in err
    for n in needles:
        assert n in lines[0], (n, lines[0])


def test_help_is_fast_and_teaches() -> None:
    t0 = time.monotonic()
    r = subprocess.run(
        [sys.executable, "-m", "perturbo.cli", "--help"], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0
    assert time.monotonic() - t0 < 5
    assert "perturbo run genetic --screen IFNG --planner bo --rounds 5 --batch 128" in r.stdout
    assert "perturbo resume" in r.stdout and "perturbo ui" in r.stdout
    heavy = "('mlflow', 'ray', 'torch', 'botorch', 'langchain_core', 'numpy', 'scipy', 'pandas')"
    for argv in (["--help"], ["run", "genetic", "--help"], ["run", "attack", "--help"]):
        r = subprocess.run(
            [
                sys.executable,
                "-c",
                "import runpy, sys\n"
                f"sys.argv = ['perturbo', *{argv!r}]\n"
                "try:\n    runpy.run_module('perturbo.cli', run_name='__main__')\n"
                "except SystemExit:\n    pass\n"
                f"print(','.join(m for m in {heavy} if m in sys.modules), file=sys.stderr)",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert r.stderr.strip() == "", f"heavy libraries imported by `perturbo {' '.join(argv)}`"


def test_run_genetic_help_shows_flags_and_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["run", "genetic", "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for flag in (
        "--screen",
        "--planner",
        "--rounds",
        "--batch",
        "--seed",
        "--local",
        "--address",
        "--tracking-uri",
        "--name",
        "--config",
        "(default: 5)",
        "(default: 128)",
    ):
        assert flag in out


@pytest.fixture
def bad_dir(tmp_path: Path) -> Path:
    d = tmp_path / "bad"
    d.mkdir()
    (d / "empty.csv").write_text("")
    (d / "header_only.csv").write_text("Gene,Score\n")
    (d / "no_score.csv").write_text("Gene,Value\nA,1\nB,2\n")
    (d / "nan.csv").write_text("Gene,Score\nA,1\nB,nan\nC,2\n")
    (d / "dupes.csv").write_text("Gene,Score\nA,1\nB,2\na ,3\n")
    (d / "text_score.csv").write_text("Gene,Score\nA,1\nB,high\n")
    (d / "binary.csv").write_bytes(b"\xff\xfe\x00\x81garbage\x00\x00")
    return d


@pytest.mark.parametrize(
    "name,needles",
    [
        ("empty.csv", ["empty.csv", "empty"]),
        ("header_only.csv", ["header_only.csv", "no data rows"]),
        ("no_score.csv", ["no_score.csv", "Score column"]),
        ("nan.csv", ["nan.csv", "NaN", "B"]),
        ("dupes.csv", ["dupes.csv", "more than one row", "A"]),
        ("text_score.csv", ["text_score.csv", "'high'"]),
        ("binary.csv", ["binary.csv"]),
        ("missing.csv", ["missing.csv", "neither a built-in screen"]),
    ],
)
def test_bad_screen_csv(
    capsys: pytest.CaptureFixture[str], bad_dir: Path, store: str, name: str, needles: list[str]
) -> None:
    rc, _, err = cli(
        capsys,
        "run",
        "genetic",
        "--screen",
        str(bad_dir / name),
        "--planner",
        "random",
        "--local",
        "--tracking-uri",
        store,
        "--no-progress",
    )
    assert_one_clear_error(rc, err, *needles)
    assert tracking.list_campaigns(store) == []  # nothing half-created


@pytest.mark.parametrize(
    "args,needles",
    [
        (["--rounds", "0"], ["rounds", "--rounds", "greater than 0", "(got 0)"]),
        (["--rounds", "-3"], ["--rounds", "(got -3)"]),
        (["--batch", "0"], ["--batch", "greater than 0"]),
        (["--planner", "oracle"], ["--planner", "'oracle'", "'bo'"]),
        (["--screen", "NOPE"], ["'NOPE'", "IFNG"]),
        (["--acquisition", "ei"], ["--acquisition", "'ei'"]),
    ],
)
def test_bad_settings(
    capsys: pytest.CaptureFixture[str], store: str, args: list[str], needles: list[str]
) -> None:
    rc, _, err = cli(capsys, "run", "genetic", *args, "--local", "--tracking-uri", store)
    assert_one_clear_error(rc, err, *needles)


def test_batch_larger_than_the_screen(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, store: str
) -> None:
    csv = make_screen_csv(tmp_path / "tiny.csv", n=12)
    rc, _, err = cli(
        capsys,
        "run",
        "genetic",
        "--screen",
        str(csv),
        "--batch",
        "20",
        "--planner",
        "random",
        "--local",
        "--tracking-uri",
        store,
    )
    assert_one_clear_error(rc, err, "--batch 20", "12 genes", "--batch 12 or less")


def test_batch_larger_than_the_untested_genes_left(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, store: str
) -> None:
    csv = make_screen_csv(tmp_path / "small.csv", n=25)
    rc, _, err = cli(
        capsys,
        "run",
        "genetic",
        "--screen",
        str(csv),
        "--batch",
        "10",
        "--rounds",
        "2",
        "--planner",
        "random",
        "--local",
        "--tracking-uri",
        store,
        "--name",
        "small",
        "--no-progress",
    )
    assert rc == 0, err
    _, before = tracking.load_history(store, "small")
    rc, _, err = cli(capsys, "resume", "small", "--rounds", "3", "--local", "--tracking-uri", store)
    assert_one_clear_error(rc, err, "--batch 10", "5 untested", "'small'", "--batch 5 or less")
    _, after = tracking.load_history(store, "small")
    assert [o.to_dict() for o in after] == [o.to_dict() for o in before]  # nothing lost
    assert len(after) == 20


def test_unreachable_tracking_uri(capsys: pytest.CaptureFixture[str]) -> None:
    t0 = time.monotonic()
    rc, _, err = cli(
        capsys,
        "run",
        "genetic",
        "--planner",
        "random",
        "--local",
        "--tracking-uri",
        "http://127.0.0.1:9",
    )
    assert_one_clear_error(rc, err, "http://127.0.0.1:9", "unreachable", "--tracking-uri")
    assert time.monotonic() - t0 < 10


def test_unreachable_ray_address_loses_nothing(
    capsys: pytest.CaptureFixture[str], screen_csv: Path, store: str
) -> None:
    rc, _, err = cli(
        capsys,
        "run",
        "genetic",
        "--screen",
        str(screen_csv),
        "--planner",
        "random",
        "--rounds",
        "1",
        "--batch",
        "8",
        "--local",
        "--tracking-uri",
        store,
        "--name",
        "kept",
        "--no-progress",
    )
    assert rc == 0, err
    _, before = tracking.load_history(store, "kept")
    t0 = time.monotonic()
    rc, _, err = cli(
        capsys,
        "resume",
        "kept",
        "--rounds",
        "2",
        "--address",
        "127.0.0.1:9",
        "--tracking-uri",
        store,
    )
    assert_one_clear_error(rc, err, "127.0.0.1:9", "--address")
    assert time.monotonic() - t0 < 30
    _, after = tracking.load_history(store, "kept")
    assert [o.to_dict() for o in after] == [o.to_dict() for o in before]
    [summary] = tracking.list_campaigns(store)
    assert summary.status == "FINISHED" and summary.rounds == 1


def test_resume_unknown_campaign(capsys: pytest.CaptureFixture[str], store: str) -> None:
    rc, _, err = cli(capsys, "resume", "ghost", "--tracking-uri", store, "--local")
    assert_one_clear_error(rc, err, "'ghost'", "perturbo show")


def test_toml_config_and_flags_override(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, screen_csv: Path, store: str
) -> None:
    toml = tmp_path / "run.toml"
    toml.write_text(
        f'screen = "{screen_csv}"\nplanner = "random"\nrounds = 3\nbatch = 8\n'
        f'seed = 7\nlocal = true\ntracking_uri = "{store}"\nname = "from-toml"\n'
    )
    rc, _, err = cli(
        capsys, "run", "genetic", "--config", str(toml), "--rounds", "2", "--no-progress"
    )
    assert rc == 0, err
    config, hist = tracking.load_history(store, "from-toml")
    assert (config["rounds"], config["batch"], config["seed"]) == (2, 8, 7)
    assert config["screen"] == str(screen_csv.resolve())
    assert len(hist) == 16

    bad = tmp_path / "bad.toml"
    bad.write_text("rounds = 0\nbatchsize = 3\n")
    rc, _, err = cli(capsys, "run", "genetic", "--config", str(bad))
    assert_one_clear_error(rc, err, "bad.toml", "rounds", "batchsize")
    broken = tmp_path / "broken.toml"
    broken.write_text("rounds = = 3\n")
    rc, _, err = cli(capsys, "run", "genetic", "--config", str(broken))
    assert_one_clear_error(rc, err, "broken.toml", "not valid TOML")
    rc, _, err = cli(capsys, "run", "genetic", "--config", str(tmp_path / "none.toml"))
    assert_one_clear_error(rc, err, "none.toml", "not found")


def test_show_and_ui(capsys: pytest.CaptureFixture[str], screen_csv: Path, store: str) -> None:
    rc, out, _ = cli(capsys, "show", "--tracking-uri", store)
    assert rc == 0 and "no campaigns" in out
    rc, _, err = cli(
        capsys,
        "run",
        "genetic",
        "--screen",
        str(screen_csv),
        "--planner",
        "random",
        "--rounds",
        "2",
        "--batch",
        "8",
        "--local",
        "--tracking-uri",
        store,
        "--name",
        "shown",
    )
    assert rc == 0, err
    assert "round 2 (2/2 rounds)" in err and "hit_ratio=" in err  # the progress display
    rc, out, _ = cli(capsys, "show", "--tracking-uri", store)
    assert rc == 0 and "shown" in out and "FINISHED" in out
    rc, out, _ = cli(capsys, "show", "shown", "--tracking-uri", store)
    assert rc == 0 and "hit_ratio" in out and "planner=random" in out
    rows = [ln for ln in out.splitlines() if ln.strip().startswith("│")]
    assert len(rows) == 2
    rc, out, _ = cli(capsys, "ui", "--tracking-uri", store, "--print-only")
    assert rc == 0 and f"mlflow ui --backend-store-uri {store} --host 127.0.0.1" in out


def test_console_script_exit_code_without_traceback(tmp_path: Path) -> None:
    (tmp_path / "e.csv").write_text("")
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "perturbo.cli",
            "run",
            "genetic",
            "--screen",
            str(tmp_path / "e.csv"),
            "--local",
            "--tracking-uri",
            f"sqlite:///{tmp_path}/m.db",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and "e.csv" in r.stderr


def test_python_api_runs_and_resumes(screen_csv: Path, store: str) -> None:
    from perturbo.api import resume_campaign, run_campaign
    from perturbo.types import PerturboError

    h = run_campaign(
        "genetic",
        screen=str(screen_csv),
        planner="random",
        rounds=1,
        batch=8,
        local=True,
        tracking_uri=store,
        name="api",
    )
    assert len(h) == 8
    h2 = resume_campaign("api", rounds=2, local=True, tracking_uri=store)
    assert [o.to_dict() for o in h2[:8]] == [o.to_dict() for o in h]
    assert len({o.spec.params["gene"] for o in h2}) == 16
    with pytest.raises(PerturboError, match="rounds"):
        run_campaign("genetic", rounds=0, local=True, tracking_uri=store)
