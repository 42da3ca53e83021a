"""What the attack kind prints says what happens: no "bounding the attacked samples" under
``--certify off``, a ``--samples`` larger than the data is said (not capped silently), the
``--input-range`` help names its real default, and ``--max-seconds`` is named as the reason
a campaign ended (it was "ended from outside (wall clock, rounds, ...)")."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from perturbo.kinds.attack.metrics import AttackMetrics, AttackStop
from perturbo.types import ExperimentSpec, Observation, Outcome, Status


class _Cert:
    def __init__(self, mode: str) -> None:
        self.mode = mode

    def __call__(self, wc: Any) -> Any:
        return self

    def line(self) -> str:
        return "attacked <= 1.000; certified: skipped (--certify off)"

    def metrics(self) -> dict[str, float]:
        return {}


class _Planner:
    stopped_by = None


def _hist() -> list[Observation]:
    spec = ExperimentSpec({"method": "fgsm"}, "attack", id="r001-0000", round=0)
    return [Observation(spec, Outcome(Status.COMPLETED, {"passes": 3.0}))]


def test_certify_off_prints_no_bounding_line(capsys: Any) -> None:
    for mode, said in (("off", False), ("auto", True)):
        m = AttackMetrics(4, 0.1, "robust_accuracy", "min", _Planner(), 10, _Cert(mode))
        m([], _hist())
        err = capsys.readouterr().err
        assert ("bounding the attacked samples" in err) is said, (mode, err)


def test_max_seconds_is_named_as_the_reason() -> None:
    stop = AttackStop(wall_clock_s=3.0)
    copy = replace(stop, requested=lambda: None)  # what the composition root does
    assert copy.reason(_hist(), 1, started=0.0) == "wall clock of 3 s reached"  # type: ignore[arg-type]
    m = AttackMetrics(4, 0.1, "robust_accuracy", "min", _Planner(), 10, stop=stop)
    assert m.stopped_by(_hist()) == "--max-seconds 3 reached (1 config ran)"
    idle = AttackMetrics(4, 0.1, "robust_accuracy", "min", _Planner(), 10, stop=AttackStop())
    assert idle.stopped_by(_hist()) == "the planner proposed no new config that could run"


def test_samples_beyond_the_data_are_said(digits_recipe: Any, capsys: Any) -> None:
    from perturbo.kinds.attack.campaign import _load_target

    target = _load_target(replace(digits_recipe, n_samples=100_000))
    err = capsys.readouterr().err
    assert f"--samples 100000: the data holds {len(target.y)} samples" in err, err


def test_input_range_help_names_its_default(capsys: Any) -> None:
    import argparse

    from perturbo.kinds.attack.config import add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    text = " ".join(parser.format_help().split())
    assert "input range low,high (default: 0,1)" in text, text
