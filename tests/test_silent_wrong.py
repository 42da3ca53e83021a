"""Nothing silently wrong, and messages that say what to do (issue 16, items 4, 5 and 7),
through the real CLI (``perturbo.cli.main``), beside the bad-input catalogue.

Each case failed on the code before this file: a campaign ran and reported something a user
would trust (a loss maximised, an agent's campaign that was a random search, arbitrary hits,
a pinned gene that vanished), or the message named neither the input nor the fix.
"""

from __future__ import annotations

import json
import logging
import os
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from stores import *  # noqa: F403
from stores import make_screen_csv
from test_bad_inputs import HPO, _genetic, clear_error, run_cli

from perturbo import tracking

PREFIX = "perturbo: warning: "  # perturbo.cli_warnings.PREFIX


def _space(tmp_path: Path) -> Path:
    p = tmp_path / "space.toml"
    p.write_text('[x]\ntype = "float"\nlow = 0.0\nhigh = 1.0\n')
    return p


@pytest.fixture
def screen(tmp_path: Path) -> Path:
    return make_screen_csv(tmp_path / "toy.csv", n=40)


# --------------------------------------------------------------------------- item 4


def test_user_objective_without_direction_is_refused(
    capsys: pytest.CaptureFixture[str],
    store: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "sw_loss.py").write_text("def objective(p):\n    return (p['x'] - 0.3) ** 2\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    argv = [*HPO[:2], "--task", "sw_loss:objective", "--allow-user-code", "--planner", "random"]
    argv += ["--space", str(_space(tmp_path)), "--trials", "2", "--batch", "2", "--local"]
    rc, err = run_cli(capsys, *argv, "--no-progress", "--tracking-uri", store)
    clear_error(rc, err, "sw_loss:objective", "--direction min", "--direction max")
    assert tracking.list_campaigns(store) == []
    rc, err = run_cli(capsys, *argv, "--no-progress", "--tracking-uri", store, "--direction", "min")
    assert rc == 0, err


def test_another_metric_without_direction_is_refused(
    capsys: pytest.CaptureFixture[str], store: str
) -> None:
    rc, err = run_cli(
        capsys, *HPO[:2], "--task", "wine-mlp", "--objective", "val_loss", "--planner", "random",
        "--local", "--no-progress", "--tracking-uri", store,
    )  # fmt: skip
    clear_error(rc, err, "--objective 'val_loss'", "--direction")
    assert tracking.list_campaigns(store) == []


def test_unreachable_llm_falls_back_and_says_so(
    capsys: pytest.CaptureFixture[str], store: str
) -> None:
    rc, err = run_cli(
        capsys, *HPO[:2], "--task", "branin", "--planner", "agent", "--llm", "openai",
        "--llm-base-url", "http://127.0.0.1:1/v1", "--trials", "4", "--batch", "2", "--local",
        "--no-progress", "--tracking-uri", store, "--name", "fb",
    )  # fmt: skip
    assert "Traceback" not in err
    assert rc == 3, err  # done, but not by the agent: a distinct exit status
    last = err.strip().splitlines()[-1]
    assert last.startswith("perturbo: warning: the agent planner fell back in every round"), err
    assert "4 of 4 experiments" in last and "--llm-base-url" in last
    llm_lines = [ln for ln in err.splitlines() if "LLM call" in ln]
    assert len(llm_lines) == 1 and llm_lines[0].startswith(PREFIX), err  # once, two rounds
    summary, rounds = tracking.round_metrics(store, "fb")
    assert [rounds[r]["planner_fallback_rounds"] for r in sorted(rounds)] == [1.0, 2.0]


def test_screen_whose_scores_are_all_equal_is_refused(
    capsys: pytest.CaptureFixture[str], store: str, tmp_path: Path
) -> None:
    flat = tmp_path / "flat.csv"
    flat.write_text("Gene,Score\n" + "".join(f"G{i},1.0\n" for i in range(40)))
    rc, err = run_cli(capsys, *_genetic(store, flat, "--rounds", "1", "--batch", "2"))
    clear_error(rc, err, "flat.csv", "same", "--hits")
    assert tracking.list_campaigns(store) == []


def _weak_model(tmp_path: Path) -> tuple[Path, Path]:
    """A TorchScript model that always says class 0, and 40 samples of 10 classes."""
    import torch

    net = torch.nn.Linear(4, 10)
    with torch.no_grad():
        net.weight.zero_()
        net.bias.copy_(torch.arange(10, 0, -1, dtype=torch.float32))
    model = tmp_path / "weak.pt"
    torch.jit.save(torch.jit.script(net), str(model))
    data = tmp_path / "weak.npz"
    rng = np.random.default_rng(0)
    np.savez(data, x=rng.random((40, 4)).astype(np.float32), y=np.arange(40) % 10)
    return model, data


def test_attack_on_a_model_that_is_mostly_wrong_warns(
    capsys: pytest.CaptureFixture[str], store: str, tmp_path: Path
) -> None:
    model, data = _weak_model(tmp_path)
    rc, err = run_cli(
        capsys, "run", "attack", "--model", str(model), "--data", str(data), "--planner",
        "random", "--trials", "1", "--batch", "1", "--samples", "40", "--local",
        "--no-progress", "--tracking-uri", store, "--name", "weak",
    )  # fmt: skip
    assert rc == 0 and "Traceback" not in err, err
    warned = [ln for ln in err.splitlines() if "classifies 10% of its 40" in ln]
    assert len(warned) == 1 and warned[0].startswith(PREFIX), err
    assert "robust accuracy is at most 0.10" in warned[0]


@pytest.mark.parametrize(
    "pin,needles",
    [('{"gene": "NOPE"}', ["NOPE", "not a gene"]), ('{"x": 0.3}', ['"x"', "gene"])],
    ids=["gene-not-in-screen", "another-kinds-params"],
)
def test_pin_the_campaign_cannot_run_is_refused(
    capsys: pytest.CaptureFixture[str], store: str, screen: Path, pin: str, needles: list[str]
) -> None:
    rc, err = run_cli(
        capsys, *_genetic(store, screen, "--rounds", "1", "--batch", "2"), "--pin", pin
    )
    clear_error(rc, err, "--pin", *needles)
    assert tracking.list_campaigns(store) == []


def test_a_valid_pin_runs_first_and_a_tested_one_is_refused_on_resume(
    capsys: pytest.CaptureFixture[str], store: str, screen: Path
) -> None:
    argv = _genetic(store, screen, "--rounds", "1", "--batch", "2", "--name", "pinned")
    rc, err = run_cli(capsys, *argv, "--pin", '{"gene": " g0007"}')  # normalised as the screen
    assert rc == 0, err
    first = tracking.load_history(store, "pinned")[1][0].spec
    assert first.params == {"gene": "G0007"} and first.planner == "user"
    rc, err = run_cli(
        capsys, "resume", "pinned", "--rounds", "2", "--pin", '{"gene": "G0007"}', "--local",
        "--tracking-uri", store,
    )  # fmt: skip
    clear_error(rc, err, '--pin {"gene": "G0007"}', "already tested")
    assert len(tracking.load_history(store, "pinned")[1]) == 2


def test_modality_against_a_builtin_screen_is_refused(
    capsys: pytest.CaptureFixture[str], store: str
) -> None:
    argv = _genetic(store, Path("IFNG"), "--rounds", "1", "--batch", "2", "--modality", "crispra")
    rc, err = run_cli(capsys, *argv)
    clear_error(rc, err, "--modality crispra", "IFNG", "knockout")
    assert tracking.list_campaigns(store) == []


# --------------------------------------------------------------------------- item 5


def _pairs(tmp_path: Path) -> Path:
    g = [f"G{i}" for i in range(10)]
    rows = [f"\"('{g[i]}', '{g[i + 1]}')\",{(i * 7) % 11}" for i in range(9)]
    rows += [f"\"('{g[i]}', '{g[i + 2]}')\",{i}" for i in range(8)]
    path = tmp_path / "pairs.csv"
    path.write_text("Gene_pairs,Score\n" + "\n".join(rows) + "\n")
    return path


def test_pair_hits_file_in_biodiscoveryagents_format(
    capsys: pytest.CaptureFixture[str], store: str, tmp_path: Path
) -> None:
    from perturbo.kinds.genetic.pairs import load_pair_screen

    hits = tmp_path / "hits.txt"
    hits.write_text("G0_G1\n('G3', 'G2')\n")
    assert load_pair_screen(_pairs(tmp_path), str(hits)).hits == {"G0+G1", "G2+G3"}
    argv = _genetic(store, _pairs(tmp_path), "--hits", str(hits), "--rounds", "1", "--batch", "4")
    rc, err = run_cli(capsys, *argv)
    assert rc == 0, err
    hits.write_text("G0_G1\n('G3', 'G2')\nXa_Yb  # of a wider library\n")
    rc, err = run_cli(capsys, *argv, "--name", "wider")
    assert rc == 0, err  # a hit outside this screen cannot be found here: said, not counted
    assert f"{PREFIX}--hits {hits}: 1 of 3 hit pairs are not in the screen (Xa_Yb)" in err, err
    hits.write_text("G0_G1\nG0-G1-G2\n")
    rc, err = run_cli(capsys, *argv)
    clear_error(rc, err, "hits.txt", "line 2", "'G0-G1-G2'", "A_B")


# --------------------------------------------------------------------------- item 7


def test_latin1_screen(capsys: pytest.CaptureFixture[str], store: str, tmp_path: Path) -> None:
    bad = tmp_path / "excel.csv"
    bad.write_bytes("Gene,Score\nG1,1\nCAFÉ,2\n".encode("latin-1"))
    rc, err = run_cli(capsys, *_genetic(store, bad, "--rounds", "1", "--batch", "2"))
    clear_error(rc, err, "excel.csv", "line 3", "not UTF-8", "iconv")


def test_huge_rounds(capsys: pytest.CaptureFixture[str], store: str, screen: Path) -> None:
    rc, err = run_cli(capsys, *_genetic(store, screen, "--rounds", "100000", "--batch", "2"))
    line = clear_error(rc, err, "--rounds 100000", "--rounds 20 or less")
    assert "at most 0" not in line


def test_garbage_tracking_uri_from_the_environment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "garbage")
    monkeypatch.chdir(tmp_path)
    rc, err = run_cli(capsys, *HPO, "--local", "--trials", "2")
    clear_error(rc, err, "MLFLOW_TRACKING_URI=garbage", "unset")


@pytest.fixture
def finished(capsys: pytest.CaptureFixture[str], store: str, screen: Path) -> str:
    rc, err = run_cli(
        capsys, *_genetic(store, screen, "--rounds", "2", "--batch", "4", "--name", "my screen")
    )
    assert rc == 0, err
    FINISHED_ERR[:] = [err]
    return "my screen"


FINISHED_ERR: list[str] = []


def test_names_with_spaces_are_quoted_in_commands(finished: str) -> None:
    assert "`perturbo show 'my screen' --tracking-uri" in FINISHED_ERR[0], FINISHED_ERR


def test_resume_of_a_finished_campaign(
    capsys: pytest.CaptureFixture[str], store: str, finished: str
) -> None:
    rc, err = run_cli(capsys, "resume", finished, "--local", "--tracking-uri", store)
    clear_error(rc, err, "is finished", "`perturbo resume 'my screen' --rounds 4`")
    assert tracking.load_history(store, finished)[1].last_round == 1
    rc, err = run_cli(
        capsys, "resume", finished, "--rounds", "3", "--local", "--no-progress",
        "--tracking-uri", store,
    )  # fmt: skip
    assert rc == 0, err
    assert tracking.load_history(store, finished)[1].last_round == 2


def test_same_name_while_it_runs(
    capsys: pytest.CaptureFixture[str], store: str, screen: Path, finished: str
) -> None:
    from mlflow import MlflowClient

    from perturbo.tracking.heartbeat import DRIVER_TAG, HEARTBEAT_TAG
    from perturbo.tracking.reader import find_parent

    client = MlflowClient(store)
    exp = client.get_experiment_by_name(finished)
    run_id = find_parent(client, exp.experiment_id).info.run_id
    client.update_run(run_id, status="RUNNING")  # as if this process drove it now
    driver = {"host": os.uname().nodename, "pid": os.getpid(), "ray_job": ""}
    client.set_tag(run_id, DRIVER_TAG, json.dumps(driver))
    client.set_tag(run_id, HEARTBEAT_TAG, f"{time.time():.3f}")
    rc, err = run_cli(
        capsys, *_genetic(store, screen, "--rounds", "1", "--batch", "2", "--name", finished)
    )
    line = clear_error(rc, err, "--name 'my screen'", "running now", "another --name")
    assert "resume" not in line  # resume refuses a running campaign: never suggest it


def test_every_experiment_failed_and_the_budget_is_spent(
    capsys: pytest.CaptureFixture[str],
    store: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "sw_raises.py").write_text("def objective(p):\n    raise KeyError('boom')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    rc, err = run_cli(
        capsys, *HPO[:2], "--task", "sw_raises:objective", "--allow-user-code", "--direction",
        "max", "--planner", "random", "--space", str(_space(tmp_path)), "--trials", "2",
        "--batch", "2", "--local", "--no-progress", "--tracking-uri", store, "--name", "spent",
    )  # fmt: skip
    line = clear_error(
        rc, err, "all 2 experiments", "`perturbo resume spent --trials 4`", only_line=False
    )
    assert "are spent" in line and len(tracking.load_history(store, "spent")[1]) == 2


@pytest.mark.parametrize(
    "argv,needles",
    [
        (["--model", "resnet50"], ["--model 'resnet50'", "built-in target", "TorchScript"]),
        (["--input-range", "abc"], ["--input-range", "'abc'", "--input-range 0,1"]),
    ],
    ids=["model-resnet50", "input-range-abc"],
)
def test_attack_flags(
    capsys: pytest.CaptureFixture[str], store: str, argv: list[str], needles: list[str]
) -> None:
    rc, err = run_cli(capsys, "run", "attack", *argv, "--local", "--tracking-uri", store)
    clear_error(rc, err, *needles)
    assert tracking.list_campaigns(store) == []


def test_each_warning_once_and_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from perturbo.cli_warnings import one_line_warnings

    def twice() -> None:
        warnings.warn("the prior covers 3 of 40 genes", stacklevel=1)

    with one_line_warnings():
        twice()
        warnings.warn("the prior covers 3 of 40 genes", stacklevel=1)  # another place
        logging.getLogger("perturbo.kinds.genetic.planners.gene_bo").warning(
            "the prior covers 3 of 40 genes"
        )
        warnings.warn("two\nlines", stacklevel=1)
        warnings.warn("unclosed file <_io.BufferedReader>", ResourceWarning, stacklevel=1)
    err = capsys.readouterr().err
    # a library's unclosed file (Python hides ResourceWarning by default) is not the user's
    assert err.splitlines() == [f"{PREFIX}the prior covers 3 of 40 genes", f"{PREFIX}two"]


def test_warnings_print_whatever_logging_state_libraries_left(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A library's logging setup (a root level above WARNING, a ``fileConfig`` that disables
    existing loggers) must not silence perturbo's warnings; the state comes back after."""
    from perturbo.cli_warnings import one_line_warnings

    root, child = logging.getLogger(), logging.getLogger("perturbo.agents.structured")
    saved = root.level
    root.setLevel(logging.ERROR)
    child.disabled = True
    try:
        with one_line_warnings():
            child.warning("LLM call 'x' failed")
        assert capsys.readouterr().err.splitlines() == [f"{PREFIX}LLM call 'x' failed"]
        assert child.disabled and logging.getLogger("perturbo").level == logging.NOTSET
    finally:
        root.setLevel(saved)
        child.disabled = False


def test_a_warning_prints_once_without_source_lines(
    capsys: pytest.CaptureFixture[str], store: str, screen: Path
) -> None:
    argv = _genetic(store, screen, "--rounds", "1", "--batch", "2")
    argv[argv.index("random")] = "bo"  # bo warns that the toy genes match no gene set
    rc, err = run_cli(capsys, *argv)
    assert rc == 0, err
    said = [ln for ln in err.splitlines() if "match a gene set" in ln]
    assert len(said) == 1 and said[0].startswith(f"{PREFIX}screen toy: only 0%"), err
    assert "UserWarning" not in err and "GeneBOPlanner(" not in err, err


def test_an_old_user_objective_campaign_without_direction_still_resumes(
    capsys: pytest.CaptureFixture[str],
    store: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mlflow import MlflowClient

    from perturbo.tracking import CONFIG_FILE
    from perturbo.tracking.reader import find_parent

    (tmp_path / "sw_old.py").write_text("def objective(p):\n    return p['x']\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    rc, err = run_cli(
        capsys, *HPO[:2], "--task", "sw_old:objective", "--allow-user-code", "--direction",
        "min", "--planner", "random", "--space", str(_space(tmp_path)), "--trials", "2",
        "--batch", "2", "--local", "--no-progress", "--tracking-uri", store, "--name", "old",
    )  # fmt: skip
    assert rc == 0, err
    client = MlflowClient(store)  # as recorded before --direction was required: no direction
    run_id = find_parent(client, client.get_experiment_by_name("old").experiment_id).info.run_id
    config, _ = tracking.load_history(store, "old")
    client.log_dict(run_id, {**config, "direction": None}, CONFIG_FILE)
    assert tracking.load_history(store, "old")[0]["direction"] is None
    rc, err = run_cli(
        capsys, "resume", "old", "--trials", "4", "--local", "--no-progress",
        "--tracking-uri", store,
    )  # fmt: skip
    assert rc == 0, err
    summary, _ = tracking.round_metrics(store, "old")
    assert len(tracking.load_history(store, "old")[1]) == 4 and summary.params["direction"] == "min"
