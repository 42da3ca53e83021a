"""``--mean`` / ``--std`` are checked up front, each error one line naming the flag: a std of 0
(it used to surface as "NaN logits on --data" without --data), counts that differ, and a
count that does not match the inputs' channels (it used to be a tensor shape error)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from perturbo.types import PerturboError


def test_std_zero_is_refused_at_parse_time(capsys: Any, tmp_path: Path) -> None:
    from perturbo.cli import main

    store = f"sqlite:///{tmp_path}/m.db"
    argv = ["run", "attack", "--std", "0", "--mean", "0.5", "--local", "--no-progress"]
    rc = main([*argv, "--tracking-uri", store])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1, err
    assert "--std" in err[0] and "std <= 0" in err[0] and "NaN" not in err[0]


def test_mean_and_std_counts_must_agree() -> None:
    from perturbo.kinds.attack.config import AttackConfig

    with pytest.raises(ValueError, match=r"3 values and --mean 2"):
        AttackConfig.model_validate({"mean": "0.5,0.5", "std": "0.2,0.2,0.3"})
    AttackConfig.model_validate({"mean": "0.5", "std": "0.2,0.2,0.3"})  # one for all: fine


def test_count_must_match_the_inputs_channels(digits_files: tuple[Path, Path]) -> None:
    from perturbo.kinds.attack.targets import TargetRecipe

    model, data = digits_files
    recipe = TargetRecipe(str(model), data=str(data), mean=(0.5, 0.5), std=(0.2, 0.2))
    with pytest.raises(PerturboError, match=r"--mean has 2 values for inputs with 1 channels"):
        recipe.load()
