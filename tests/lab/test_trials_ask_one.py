"""``open_campaign(...).ask()`` of a trial-by-trial campaign hands out one new trial, as
Optuna's ``study.ask()`` does and as ``perturbo ask NAME -n 1`` does; the open trials (every
worker's) are ``open()``, as ``perturbo ask NAME`` without ``-n`` lists them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from perturbo.cli import main

SPACE = '[x]\ntype = "float"\nlow = 0.0\nhigh = 1.0\n'


def _start(tmp: Path, uri: str, name: str) -> None:
    space = tmp / "space.toml"
    space.write_text(SPACE)
    assert main(["run", "hyperparameter", "--lab", "--space", str(space), "--objective", "loss",
                 "--direction", "min", "--planner", "random", "--batch", "2", "--trials", "6",
                 "--seed", "2", "--name", name, "--tracking-uri", uri]) == 0  # fmt: skip


def test_a_bare_ask_hands_out_one_new_trial_as_ask_n_1_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import perturbo

    uri = f"sqlite:///{tmp_path / 'm.db'}"
    _start(tmp_path, uri, "A")
    _start(tmp_path, uri, "B")
    capsys.readouterr()
    study = perturbo.open_campaign("A", tracking_uri=uri)
    got = study.ask()  # two open (the first batch): one more, not the two open ones
    assert [t["trial_id"] for t in got] == ["t0002"]
    assert main(["ask", "B", "-n", "1", "--tracking-uri", uri]) == 0
    assert json.loads(capsys.readouterr().out) == got  # the same planner calls, the same trial
    assert [t["trial_id"] for t in study.open()] == ["t0000", "t0001", "t0002"]
    assert main(["ask", "A", "--tracking-uri", uri]) == 0  # the CLI's bare ask: the open ones
    listed = json.loads(capsys.readouterr().out)
    assert [t["trial_id"] for t in listed] == ["t0000", "t0001", "t0002"]


def test_open_lists_without_handing_anything_out(tmp_path: Path) -> None:
    import perturbo

    uri = f"sqlite:///{tmp_path / 'm.db'}"
    _start(tmp_path, uri, "A")
    study = perturbo.open_campaign("A", tracking_uri=uri)
    study.tell_many({"t0000": 0.1, "t0001": 0.2})
    assert study.open() == []  # nothing open: nothing new handed out by looking
    assert [t["trial_id"] for t in study.ask()] == ["t0002"]
    with pytest.raises(Exception, match="positive"):
        study.ask(0)


@pytest.mark.parametrize("value", ["-1e-3", "-2.5E+4", "-inf", "-0.001", "-3"])
def test_a_negative_value_in_any_float_spelling_is_a_value_not_an_option(value: str) -> None:
    """``perturbo tell NAME t0001 -1e-3``: argparse's negative-number pattern has no exponent,
    so it said "unrecognized arguments: -1e-3" (the value check then names -inf itself)."""
    from perturbo.cli import build_parser

    ns = build_parser().parse_args(["tell", "H", "t0001", value])
    assert (ns.results, ns.value) == ("t0001", value)
