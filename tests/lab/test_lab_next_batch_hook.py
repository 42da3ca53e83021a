"""``--next-batch`` larger than what is left (issue: the kind-neutral lab layer read the genetic
kind's ``library_genes`` and said "genes"): how many experiments are left, and what they are
called, is the kind's lab hook ``untested_left``; the lab layer only counts and refuses."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from loop_helpers import results, sheet_genes, start_args

from perturbo.cli import main
from perturbo.lab.pending import Pending
from perturbo.lab.step_checks import refuse_next_batch
from perturbo.types import ExperimentSpec, PerturboError

STEP_CHECKS = Path(__file__).resolve().parents[2] / "perturbo" / "lab" / "step_checks.py"


def _pending(n: int, round_no: int = 0) -> Pending:
    specs = [ExperimentSpec({"x": i}, id=f"e{i}", round=round_no) for i in range(n)]
    return Pending(round_no, time.time(), specs, [], noun=f"{n} widgets")


class _Widgets:
    """A kind's lab hooks: its library holds ``params["widgets"]`` widgets."""

    def untested_left(self, params, tested):
        return int(params["widgets"]) - tested, "untested widget(s) are left"


def test_the_lab_layer_names_no_kinds_param() -> None:
    text = STEP_CHECKS.read_text().lower()
    assert "library_genes" not in text and "gene" not in text


def test_the_kinds_hook_says_what_is_left_and_how_it_is_called() -> None:
    with pytest.raises(PerturboError) as e:
        refuse_next_batch(_Widgets(), {"widgets": "10"}, {"rounds": 5}, [], _pending(4), 7)
    assert str(e.value) == (
        "--next-batch 7: only 6 untested widget(s) are left after this batch; use "
        "--next-batch 6 or less (nothing recorded)"
    )
    refuse_next_batch(_Widgets(), {"widgets": "10"}, {"rounds": 5}, [], _pending(4), 6)
    refuse_next_batch(_Widgets(), {"widgets": "10"}, {"rounds": 1}, [], _pending(4), 7)  # last


def test_a_kind_without_the_hook_is_not_checked() -> None:
    refuse_next_batch(object(), {"widgets": "10"}, {"rounds": 5}, [], _pending(4), 1000)


def test_lab_tell_asks_the_campaigns_kind(tmp_path: Path, monkeypatch) -> None:
    from perturbo import kinds, lab

    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path}/lab.db"
    assert main(start_args(tmp_path, uri, rounds=3, batch=8)) == 0
    told = str(results(tmp_path / "r1.csv", sheet_genes(tmp_path / "L-round1.csv")))
    with pytest.raises(PerturboError, match=r"only 32 untested gene\(s\) are left in the library"):
        lab.tell(kinds.get, uri, "L", told, next_batch=33)
    lab.tell(kinds.get, uri, "L", told, next_batch=32)
