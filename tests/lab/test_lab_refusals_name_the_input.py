"""Refusals of a lab start name the input the user gave, and a swapped desirability range
says how to write it."""

from __future__ import annotations

import pytest
from loop_helpers import trials_start_args

from perturbo.cli import main
from perturbo.desirability import parse_desirability
from perturbo.types import PerturboError


def test_lab_with_desirability_names_desirability_not_the_objective(tmp_path, capsys) -> None:
    args = trials_start_args(tmp_path, f"sqlite:///{tmp_path}/l.db", "L", 8)
    i = args.index("--objective")
    args[i + 1 : i + 4] = ["acc,size", "--desirability", "acc:max:0.9..0.98,size:min:1e3..5e4"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "drop --desirability" in err, err
    assert "needs one --objective" not in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("given", "fixed"),
    [
        ("acc:max:0.98..0.9", "acc:max:0.9..0.98"),
        ("size:min:5e4..1e3^2", "size:min:1000..50000^2"),
        ("lat:target:30..25..20", "lat:target:20..25..30"),
    ],
)
def test_a_swapped_range_says_how_to_write_it(given: str, fixed: str) -> None:
    with pytest.raises(PerturboError, match="write " + fixed.replace("^", r"\^")):
        parse_desirability(given)
    parse_desirability(fixed)  # and what it says to write is accepted
