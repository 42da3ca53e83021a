"""A setting out of its bounds is refused with a fix that names the real bound (``--eta 1``:
"use a number greater than 1", not "use a positive number")."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field

from perturbo.cli import main
from perturbo.config import build_model
from perturbo.types import PerturboError


class Bounded(BaseModel):
    eta: float = Field(3.0, gt=1)
    trials: int = Field(1, gt=0)
    seed: int = Field(0, ge=0)
    share: float = Field(0.5, lt=1)
    frac: float = Field(0.5, le=1)


@pytest.mark.parametrize(
    "given, fix",
    [
        ({"eta": 1}, "fix: use a number greater than 1"),
        ({"eta": 0.5}, "fix: use a number greater than 1"),
        ({"trials": 0}, "fix: use a number greater than 0"),
        ({"seed": -1}, "fix: use a number of 0 or more"),
        ({"share": 1}, "fix: use a number less than 1"),
        ({"frac": 2}, "fix: use a number of 1 or less"),
    ],
)
def test_the_fix_names_the_bound(given, fix) -> None:
    with pytest.raises(PerturboError) as e:
        build_model(Bounded, given)
    assert fix in str(e.value), str(e.value)
    assert "positive" not in str(e.value) and "larger number" not in str(e.value)


def test_eta_1_on_the_command_line(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    rc = main(["run", "hyperparameter", "--task", "branin", "--eta", "1", "--trials", "2",
               "--local", "--tracking-uri", f"sqlite:///{tmp_path / 'm.db'}"])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err, err
    line = err.strip().splitlines()[-1]
    assert line.startswith("perturbo: error: ") and "--eta" in line, line
    assert "use a number greater than 1" in line, line
