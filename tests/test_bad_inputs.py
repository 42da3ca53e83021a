"""The bad-input catalogue (issue 10): every user-facing input a new user gets wrong, through
the real CLI (``perturbo.cli.main``). Each must end in a clear ``perturbo: error:`` line naming
the input, a non-zero exit (2), no traceback, and nothing already recorded lost.

Cases that fail today are marked ``xfail(strict=True)`` with what is missing: fixing one makes
its test pass, and strict makes that an error until the mark is removed.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
from stores import *  # noqa: F403
from stores import make_screen_csv

from perturbo import tracking
from perturbo.cli import main

HPO = ["run", "hyperparameter", "--task", "branin", "--planner", "random", "--no-progress"]
SMALL = ["--trials", "4", "--batch", "2"]  # where a case runs a campaign after all: a short one


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    """(exit code, stderr) of ``perturbo ARGV``; an exception escaping ``main`` is what the
    console script shows as a traceback, so it fails the test with that traceback."""
    try:
        rc = main(list(argv))
    except SystemExit as e:  # argparse: usage + one error line, exit 2
        rc = int(e.code or 0)
    return rc, capsys.readouterr().err


def clear_error(rc: int, err: str, *needles: str, only_line: bool = True) -> str:
    """The error line, checked: exit 2, no traceback, ``perturbo: error:`` naming ``needles``.
    ``only_line``: nothing else on stderr but start-up progress lines (an error found before
    anything ran); else the error is the last line (after the campaign's progress lines)."""
    assert "Traceback" not in err, err
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert rc == 2, (rc, err[-2000:])
    assert lines, "no error message"
    if only_line:  # progress lines of a slow start ("starting ... ...") may come first
        assert len([ln for ln in lines if not ln.rstrip().endswith("...")]) == 1, err
    line = lines[-1]
    assert line.startswith("perturbo: error: "), err[-2000:]
    for n in needles:
        assert n.lower() in line.lower(), (n, line)
    return line


def argparse_error(rc: int, err: str, *needles: str) -> None:
    """argparse's own: a usage line, then ``perturbo ...: error: ...``, exit 2."""
    assert rc == 2 and "Traceback" not in err, err
    last = err.strip().splitlines()[-1]
    assert ": error: " in last, err
    for n in needles:
        assert n in last, (n, last)


@pytest.fixture
def screen(tmp_path: Path) -> Path:
    return make_screen_csv(tmp_path / "toy.csv", n=40)


def _genetic(store: str, screen: Path, *extra: str) -> list[str]:
    return [
        "run",
        "genetic",
        "--screen",
        str(screen),
        "--planner",
        "random",
        "--local",
        "--no-progress",
        "--tracking-uri",
        store,
        *extra,
    ]


# --------------------------------------------------------------------------- flags


@pytest.mark.parametrize(
    "flags,needles",
    [
        (["--trials", "0"], ["--trials", "(got 0)"]),
        (["--batch", "-2"], ["--batch", "(got -2)"]),
        (["--planner", "oracle"], ["--planner", "'oracle'"]),
        (["--task", "no-such-task"], ["'no-such-task'", "branin"]),
        (["--task", "os:getcwd"], ["--allow-user-code"]),
        (["--objective", "no_such_metric"], ["no_such_metric"]),
        (["--direction", "up"], ["--direction", "'up'"]),
        (["--space", "/no/such/space.toml"], ["space", "/no/such/space.toml"]),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) and v and v[0].startswith("--") else None,
)
def test_bad_flag(
    capsys: pytest.CaptureFixture[str], store: str, flags: list[str], needles: list[str]
) -> None:
    rc, err = run_cli(capsys, *HPO, *SMALL, "--local", "--tracking-uri", store, *flags)
    clear_error(rc, err, *needles)
    assert tracking.list_campaigns(store) == []


def test_non_numeric_flag_is_argparses_error(capsys: pytest.CaptureFixture[str]) -> None:
    rc, err = run_cli(capsys, *HPO, "--local", "--trials", "many")
    argparse_error(rc, err, "--trials", "'many'")


@pytest.mark.parametrize("kind", ["hyperparameter", "genetic"])
def test_negative_seed(
    capsys: pytest.CaptureFixture[str], store: str, screen: Path, kind: str
) -> None:
    argv = (
        [*HPO, "--local", "--tracking-uri", store, "--trials", "2", "--batch", "2"]
        if kind == "hyperparameter"
        else _genetic(store, screen, "--rounds", "1", "--batch", "2")
    )
    rc, err = run_cli(capsys, *argv, "--seed", "-1")
    clear_error(rc, err, "--seed", "-1")
    assert tracking.list_campaigns(store) == []


def test_address_beside_local(capsys: pytest.CaptureFixture[str], store: str) -> None:
    rc, err = run_cli(
        capsys, *HPO, *SMALL, "--local", "--address", "127.0.0.1:6379", "--tracking-uri", store
    )
    clear_error(rc, err, "--address", "--local")
    assert tracking.list_campaigns(store) == []


def test_unreachable_ray_address(capsys: pytest.CaptureFixture[str], store: str) -> None:
    rc, err = run_cli(
        capsys,
        *HPO,
        "--trials",
        "2",
        "--batch",
        "2",
        "--address",
        "127.0.0.1:1",
        "--tracking-uri",
        store,
    )
    clear_error(rc, err, "127.0.0.1:1", "--address", only_line=False)


@pytest.mark.parametrize("address", ["http://head:8265", "head:port"])
def test_malformed_ray_address(
    capsys: pytest.CaptureFixture[str], store: str, address: str
) -> None:
    rc, err = run_cli(capsys, *HPO, "--address", address, "--tracking-uri", store)
    clear_error(rc, err, address, "not a Ray address", only_line=False)


# --------------------------------------------------------------------------- tracking URI


def test_garbage_tracking_uri(capsys: pytest.CaptureFixture[str]) -> None:
    rc, err = run_cli(capsys, *HPO, "--local", "--tracking-uri", "garbage://x")
    clear_error(rc, err, "garbage://x", "--tracking-uri")


def test_unreachable_tracking_server(capsys: pytest.CaptureFixture[str]) -> None:
    rc, err = run_cli(capsys, *HPO, "--local", "--tracking-uri", "http://127.0.0.1:1")
    clear_error(rc, err, "http://127.0.0.1:1")


def test_show_on_a_mistyped_store(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "mlflw.db"
    rc, err = run_cli(capsys, "show", "--tracking-uri", f"sqlite:///{missing}")
    clear_error(rc, err, str(missing))
    assert not missing.exists(), "show must not create a store"


def test_show_unknown_campaign(capsys: pytest.CaptureFixture[str], store: str) -> None:
    rc, err = run_cli(capsys, "show", "no-such-campaign", "--tracking-uri", store)
    clear_error(rc, err, "no-such-campaign")


def test_status_and_stop_on_a_mistyped_store(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "mlflw.db"
    for argv in (["status"], ["stop", "some-campaign"]):
        rc, err = run_cli(capsys, *argv, "--tracking-uri", f"sqlite:///{missing}")
        clear_error(rc, err, str(missing))
    assert not missing.exists(), "status and stop must not create a store"


def test_stop_unknown_campaign_and_bad_wait(capsys: pytest.CaptureFixture[str], store: str) -> None:
    rc, err = run_cli(capsys, "stop", "no-such-campaign", "--tracking-uri", store)
    clear_error(rc, err, "no-such-campaign")
    rc, err = run_cli(capsys, "stop", "x", "--wait", "-1", "--tracking-uri", store)
    clear_error(rc, err, "--wait -1")


def test_status_with_a_ray_address_that_is_not_a_dashboard(
    capsys: pytest.CaptureFixture[str], store: str
) -> None:
    rc, err = run_cli(capsys, "status", "--address", "127.0.0.1:6379", "--tracking-uri", store)
    clear_error(rc, err, "127.0.0.1:6379", "http://")
    rc, err = run_cli(capsys, "status", "--address", "http://127.0.0.1:1", "--tracking-uri", store)
    clear_error(rc, err, "http://127.0.0.1:1", "dashboard")


# --------------------------------------------------------------------------- TOML


@pytest.mark.parametrize(
    "text,needles",
    [
        ("trials = \n", ["not valid TOML"]),
        ("trialz = 3\n", ["trialz", "unknown setting"]),
        ('trials = "many"\n', ["trials", "'many'"]),
        ("batch = 0\n", ["batch", "(got 0)"]),
    ],
    ids=["syntax", "unknown-key", "wrong-type", "out-of-range"],
)
def test_bad_toml(
    capsys: pytest.CaptureFixture[str], store: str, tmp_path: Path, text: str, needles: list[str]
) -> None:
    cfg = tmp_path / "run.toml"
    cfg.write_text(text)
    rc, err = run_cli(capsys, *HPO, "--local", "--tracking-uri", store, "--config", str(cfg))
    clear_error(rc, err, "run.toml", *needles)
    assert tracking.list_campaigns(store) == []


def test_missing_toml(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rc, err = run_cli(capsys, *HPO, "--local", "--config", str(tmp_path / "nope.toml"))
    clear_error(rc, err, "nope.toml", "not found")


@pytest.mark.parametrize(
    "text,needles",
    [
        pytest.param("[x1\n", ["space.toml"], id="syntax"),
        pytest.param(
            '[x1]\ntype = "banana"\n',
            ["space.toml", "banana"],
            id="unknown-type",
        ),
        pytest.param(
            '[x1]\ntype = "float"\nlow = 1\nhigh = 0\n',
            ["space.toml", "x1"],
            id="low-above-high",
        ),
    ],
)
def test_bad_space_file(
    capsys: pytest.CaptureFixture[str], store: str, tmp_path: Path, text: str, needles: list[str]
) -> None:
    space = tmp_path / "space.toml"
    space.write_text(text)
    rc, err = run_cli(capsys, *HPO, "--local", "--tracking-uri", store, "--space", str(space))
    clear_error(rc, err, *needles)
    assert tracking.list_campaigns(store) == []


# --------------------------------------------------------------------------- screen files


@pytest.mark.parametrize(
    "content,needles",
    [
        (b"", ["empty"]),
        (b"Gene,Score\n", ["no data rows"]),
        (b"Gene,Value\nA,1\nB,2\n", ["Score column"]),
        (b"Gene,Score\nA,1\nB,nan\nC,2\n", ["NaN"]),
        (b"Gene,Score\nA,1\nB,2\na ,3\n", ["more than one row"]),
        (b"\xff\xfe\x00\x81garbage\x00\x00", []),
        (b"Gene_pairs,Score\n", ["pair screen", "no data rows"]),
        (b"Gene_pairs,Value\n\"('A', 'B')\",1\n", ["pair screen", "Score column"]),
    ],
    ids=[
        "empty",
        "header-only",
        "no-score",
        "nan",
        "duplicates",
        "binary",
        "pairs-header-only",
        "pairs-no-score",
    ],
)
def test_bad_screen_file(
    capsys: pytest.CaptureFixture[str],
    store: str,
    tmp_path: Path,
    content: bytes,
    needles: list[str],
) -> None:
    bad = tmp_path / "screen.csv"
    bad.write_bytes(content)
    rc, err = run_cli(capsys, *_genetic(store, bad, "--rounds", "1", "--batch", "2"))
    clear_error(rc, err, "screen.csv", *needles)
    assert tracking.list_campaigns(store) == []


def test_missing_hits_file(capsys: pytest.CaptureFixture[str], store: str, screen: Path) -> None:
    rc, err = run_cli(capsys, *_genetic(store, screen, "--hits", "no_hits.txt"))
    clear_error(rc, err, "no_hits.txt")


def test_rounds_times_batch_beyond_the_screen(
    capsys: pytest.CaptureFixture[str], store: str, tmp_path: Path
) -> None:
    small = make_screen_csv(tmp_path / "ten.csv", n=10)
    rc, err = run_cli(capsys, *_genetic(store, small, "--rounds", "3", "--batch", "4"))
    clear_error(rc, err, "--rounds", "--batch", "10")
    assert tracking.list_campaigns(store) == []


# --------------------------------------------------------------------------- resume


@pytest.fixture
def two_rounds(capsys: pytest.CaptureFixture[str], store: str, screen: Path) -> str:
    rc, err = run_cli(
        capsys, *_genetic(store, screen, "--rounds", "2", "--batch", "4", "--name", "two")
    )
    assert rc == 0, err
    return "two"


def test_resume_with_fewer_rounds_than_recorded(
    capsys: pytest.CaptureFixture[str], store: str, two_rounds: str
) -> None:
    rc, err = run_cli(
        capsys, "resume", two_rounds, "--rounds", "1", "--local", "--tracking-uri", store
    )
    clear_error(rc, err, "--rounds 1", "2 rounds")
    config, history = tracking.load_history(store, two_rounds)
    assert config["rounds"] == 2 and history.last_round == 1  # nothing rewritten, nothing lost


def test_resume_with_a_zero(
    capsys: pytest.CaptureFixture[str], store: str, two_rounds: str
) -> None:
    rc, err = run_cli(
        capsys, "resume", two_rounds, "--rounds", "0", "--local", "--tracking-uri", store
    )
    clear_error(rc, err, "--rounds")
    assert tracking.load_history(store, two_rounds)[1].last_round == 1


def test_resume_unknown_campaign(capsys: pytest.CaptureFixture[str], store: str) -> None:
    rc, err = run_cli(capsys, "resume", "nope", "--local", "--tracking-uri", store)
    clear_error(rc, err, "nope")


# --------------------------------------------------------------------------- every trial fails


def _user_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, body: str) -> str:
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(body))
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop(name, None)
    return f"{name}:objective"


def _space(tmp_path: Path, *names: str) -> Path:
    p = tmp_path / "space.toml"
    p.write_text("".join(f'[{n}]\ntype = "float"\nlow = 0.0\nhigh = 1.0\n' for n in names))
    return p


def _assert_all_failed_clearly(rc: int, err: str, store: str, name: str, why: str) -> None:
    line = clear_error(rc, err, "failed", why, only_line=False)
    assert "traceback" not in line.lower()
    _, history = tracking.load_history(store, name)
    assert history, "the failed trials are recorded (nothing lost)"
    assert len(history) < 8, "every trial failed the same way: the campaign stops early"


def test_every_trial_fails_space_misses_a_parameter(
    capsys: pytest.CaptureFixture[str], store: str, tmp_path: Path
) -> None:
    space = _space(tmp_path, "x1")  # branin needs x0 and x1
    rc, err = run_cli(
        capsys,
        *HPO,
        "--local",
        "--tracking-uri",
        store,
        "--trials",
        "8",
        "--batch",
        "2",
        "--space",
        str(space),
        "--name",
        "missing-x2",
    )
    _assert_all_failed_clearly(rc, err, store, "missing-x2", "x0")


def test_every_trial_fails_objective_raises(
    capsys: pytest.CaptureFixture[str], store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = _user_module(
        tmp_path,
        monkeypatch,
        "bad_inputs_raises",
        """
        def objective(params):
            raise ZeroDivisionError("the objective divided by zero")
    """,
    )
    rc, err = run_cli(
        capsys,
        *HPO[:2],
        "--task",
        task,
        "--allow-user-code",
        "--direction",
        "max",
        "--planner",
        "random",
        "--no-progress",
        "--space",
        str(_space(tmp_path, "x")),
        "--local",
        "--tracking-uri",
        store,
        "--trials",
        "8",
        "--batch",
        "2",
        "--name",
        "raises",
    )
    _assert_all_failed_clearly(rc, err, store, "raises", "ZeroDivisionError")


def test_every_trial_fails_objective_returns_nan(
    capsys: pytest.CaptureFixture[str], store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = _user_module(
        tmp_path,
        monkeypatch,
        "bad_inputs_nan",
        """
        def objective(params):
            return float("nan")
    """,
    )
    rc, err = run_cli(
        capsys,
        *HPO[:2],
        "--task",
        task,
        "--allow-user-code",
        "--direction",
        "max",
        "--planner",
        "random",
        "--no-progress",
        "--space",
        str(_space(tmp_path, "x")),
        "--local",
        "--tracking-uri",
        store,
        "--trials",
        "16",
        "--batch",
        "2",
        "--name",
        "nan",
    )
    # NaN is a config's result (a diverged training), not a bug: fail-fast waits for 12; the
    # trial already running when the 12th failed (the asynchronous schedule, 2 workers) ends
    # and is recorded too
    line = clear_error(rc, err, "failed", "never returned a finite value", only_line=False)
    assert "traceback" not in line.lower()
    _, history = tracking.load_history(store, "nan")
    assert 12 <= len(history) <= 13, len(history)


def test_user_objective_that_cannot_be_imported(
    capsys: pytest.CaptureFixture[str], store: str, tmp_path: Path
) -> None:
    rc, err = run_cli(
        capsys,
        *HPO[:2],
        "--task",
        "no_such_module_xyz:objective",
        "--allow-user-code",
        "--space",
        str(_space(tmp_path, "x")),
        "--local",
        "--tracking-uri",
        store,
    )
    clear_error(rc, err, "no_such_module_xyz")
