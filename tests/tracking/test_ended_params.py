"""Why a campaign ended is logged as a param when it ends; a resumed campaign that ends again
for another reason must still finish (MLflow params are immutable): found by resuming a
finished attack campaign with a larger budget, which failed with "Changing param values is
not allowed" on ``stopped_by``."""

from __future__ import annotations

from pathlib import Path

from perturbo import tracking
from perturbo.tracking.writer import _ended_params


class Final(dict):
    """Final metrics with the params a kind logs beside them (as the attack kind's)."""

    def __init__(self, params: dict[str, str]) -> None:
        super().__init__({"score": 1.0})
        self.params = params


def _end(uri: str, why: str, resume: bool) -> dict[str, str]:
    rec = tracking.MlflowRecorder(uri, "c", "toy", {"kind": "toy"}, resume=resume)
    rec.start()
    rec.finish([], Final({"stopped_by": why}))
    run = rec.client.get_run(rec.run_id)
    assert run.info.status == "FINISHED"
    return {k: v for k, v in run.data.params.items() if k.startswith("stopped_by")}


def test_a_resumed_campaign_ending_otherwise_keeps_both_reasons(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path}/m.db"
    assert _end(uri, "trial budget spent: 8 of 8", resume=False) == {
        "stopped_by": "trial budget spent: 8 of 8"
    }
    assert _end(uri, "done: no sample broken", resume=True) == {
        "stopped_by": "trial budget spent: 8 of 8",
        "stopped_by_2": "done: no sample broken",
    }
    assert _end(uri, "done: no sample broken", resume=True) == {  # the same again: nothing new
        "stopped_by": "trial budget spent: 8 of 8",
        "stopped_by_2": "done: no sample broken",
    }


def test_ended_params_keys() -> None:
    assert _ended_params({"a": "x"}, {}) == {"a": "x"}
    assert _ended_params({"a": "x"}, {"a": "x"}) == {}
    assert _ended_params({"a": "y"}, {"a": "x"}) == {"a_2": "y"}
    assert _ended_params({"a": "z"}, {"a": "x", "a_2": "y"}) == {"a_3": "z"}
    assert _ended_params({"a": "y"}, {"a": "x", "a_2": "y"}) == {}
