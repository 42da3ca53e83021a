"""The MLflow summary and ``perturbo show`` of campaigns with several objectives.

* a Pareto campaign (``--objective a,b``): the summary, the run marks and the ``perturbo.*``
  tags named the best of the first objective alone, a trial another one dominated (the first
  of a tie on it, beaten on the second); now they give the front and mark its runs.
* a desirability campaign none of whose trials met every range: every desirability is 0 and
  the first trial was presented and marked as "best"; now none is, and the texts say how
  close each objective came.
"""

from __future__ import annotations

from typing import Any

import pytest

from perturbo.tracking.layout import BEST_TAG, NOTE_TAG
from perturbo.tracking.summary import BEST_SUFFIX
from perturbo.tracking.summary_multi import FRONT_SUFFIX, FRONT_TAG
from perturbo.types import ExperimentSpec, Observation, Outcome, Status


def _client(uri: str) -> Any:
    from mlflow import MlflowClient

    return MlflowClient(uri)


def _obs(i: int, **metrics: float) -> Observation:
    return Observation(
        ExperimentSpec({"width": 10 * (i + 1)}, "random", id=f"r001-{i:04d}", round=0),
        Outcome(Status.COMPLETED, metrics),
    )


def _recorded(store: str, name: str, obs: list[Observation], end: str, **kw: Any) -> Any:
    from perturbo.tracking import MlflowRecorder

    rec = MlflowRecorder(store, name, "hyperparameter", {"kind": "hyperparameter"}, **kw)
    rec.start()
    rec.record_round(0, obs, {}, {})
    if end == "finish":
        rec.finish(obs, {})
    else:
        rec.abort("KILLED", "stopped midway", obs)
    return rec


def _show(store: str, name: str, capsys: pytest.CaptureFixture[str]) -> str:
    from perturbo.cli import main

    capsys.readouterr()
    assert main(["show", name, "--tracking-uri", store]) == 0
    return capsys.readouterr().out


# --------------------------------------------------------------------------- Pareto front

# acc is maximised, size minimised: r001-0001 and r001-0002 tie on acc (the best of it), and
# r001-0002 is smaller, so it dominates r001-0001, which the best-of-the-first-alone named
_FRONT = [
    _obs(0, acc=0.90, size=100.0),
    _obs(1, acc=0.96, size=500.0),
    _obs(2, acc=0.96, size=400.0),
    _obs(3, acc=0.80, size=300.0),  # dominated by r001-0000
]
_PARETO_KW: dict[str, Any] = {
    "params": {"planner": "random", "objective": "acc,size", "direction": "max,min"},
    "objective": "acc",
    "direction": "max",
    "objectives": ("acc", "size"),
    "directions": ("max", "min"),
}


@pytest.mark.parametrize("end", ["finish", "abort"])
def test_a_pareto_campaign_summarises_and_marks_its_front_not_a_dominated_best(
    store: str, end: str, capsys: pytest.CaptureFixture[str]
) -> None:
    rec = _recorded(store, f"mo-{end}", _FRONT, end, **_PARETO_KW)
    c = _client(store)
    parent = c.get_run(rec.run_id)
    tags = parent.data.tags
    assert tags["perturbo.objective"] == "acc,size" and tags["perturbo.direction"] == "max,min"
    assert tags["perturbo.front.ids"] == "r001-0000,r001-0002"
    assert not any(k.startswith("perturbo.best.") for k in tags), tags
    note = tags[NOTE_TAG]
    assert "**Pareto front**" in note and "Best result" not in note, note
    assert "**2 trials**" in note and "r001-0002" in note and "r001-0000" in note
    assert "r001-0001" not in note and "r001-0003" not in note, note
    assert "| r001-0000 |" not in note  # linked to its marked run, not plain
    assert (
        "Pareto front of acc, size: 2 trials" in c.get_experiment(rec.experiment_id).tags[NOTE_TAG]
    )
    runs = c.search_runs([rec.experiment_id], "tags.`perturbo.role` = 'trial'")
    marked = {r.data.tags["perturbo.id"] for r in runs if r.data.tags.get(FRONT_TAG) == "true"}
    assert marked == {"r001-0000", "r001-0002"}
    for r in runs:
        assert r.info.run_name.endswith(FRONT_SUFFIX) == (r.data.tags["perturbo.id"] in marked)
        assert not r.info.run_name.endswith(BEST_SUFFIX) and r.data.tags.get(BEST_TAG) != "true"
    out = _show(store, f"mo-{end}", capsys)  # the front, from pareto_front.json or the history
    assert "Pareto front of acc (max), size (min): 2 trials" in out, out
    assert "r001-0001" not in out and "best acc" not in out, out


def test_a_resume_moves_the_front_marks(store: str) -> None:
    """A later summary clears the marks of trials pushed off the front."""
    from perturbo.tracking import MlflowRecorder

    rec = _recorded(store, "mo-resume", _FRONT, "finish", **_PARETO_KW)
    better = Observation(
        ExperimentSpec({"width": 99}, "random", id="r002-0000", round=1),
        Outcome(Status.COMPLETED, {"acc": 0.97, "size": 50.0}),  # dominates all of round 1
    )
    rec2 = MlflowRecorder(
        store, "mo-resume", "hyperparameter", {"kind": "hyperparameter"}, resume=True,
        **_PARETO_KW,
    )  # fmt: skip
    rec2.start()
    rec2.record_round(1, [better], {}, {})
    rec2.finish([*_FRONT, better], {})
    c = _client(store)
    runs = c.search_runs([rec.experiment_id], "tags.`perturbo.role` = 'trial'")
    marked = [r.data.tags["perturbo.id"] for r in runs if r.data.tags.get(FRONT_TAG) == "true"]
    assert marked == ["r002-0000"]
    assert [r.info.run_name.endswith(FRONT_SUFFIX) for r in runs].count(True) == 1


# --------------------------------------------------------------------------- desirability


SPEC = "acc:max:0.985..0.995,size:min:100..200"


def _desired(i: int, acc: float, size: float) -> Observation:
    from perturbo.desirability import parse_desirability

    m = {"acc": acc, "size": size}
    return _obs(i, **m, **parse_desirability(SPEC).values(m))


_DESIRED_KW: dict[str, Any] = {
    "params": {
        "planner": "random", "objective": "desirability", "direction": "max",
        "desirability": SPEC,
    },
    "objective": "desirability",
    "direction": "max",
    "objectives": ("desirability",),
    "directions": ("max",),
}  # fmt: skip


def test_a_desirability_campaign_none_of_whose_trials_met_the_ranges_has_no_best(
    store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # acc never reaches 0.985; size meets its range in r001-0001 (150 < 200), not with acc
    obs = [_desired(0, 0.95, 700.0), _desired(1, 0.90, 150.0), _desired(2, 0.97, 900.0)]
    assert all(o.outcome.metrics["desirability"] == 0.0 for o in obs)
    rec = _recorded(store, "desired-none", obs, "finish", **_DESIRED_KW)
    c = _client(store)
    runs = c.search_runs([rec.experiment_id])
    assert not any(r.info.run_name.endswith(BEST_SUFFIX) for r in runs), [
        r.info.run_name for r in runs
    ]
    assert not any(r.data.tags.get(BEST_TAG) == "true" for r in runs)
    parent = c.get_run(rec.run_id)
    assert "perturbo.best.run" not in parent.data.tags
    note = parent.data.tags[NOTE_TAG]
    assert "no trial met every desirability range" in note, note
    assert "best desirability (max)" not in note, note
    lines = note.splitlines()
    acc = next(i for i, ln in enumerate(lines) if "acc: best 0.97, needs > 0.985" in ln)
    size = next(i for i, ln in enumerate(lines) if "size: best 150, needs < 200" in ln)
    assert acc < size, "the range never met comes first: it is the hard one"
    assert "never met" in lines[acc] and "not together" in lines[size]
    desc = c.get_experiment(rec.experiment_id).tags[NOTE_TAG]
    assert "No trial met every desirability range yet." in desc
    out = _show(store, "desired-none", capsys)
    assert "no trial met every desirability range yet" in out, out
    assert "acc: best 0.97, needs > 0.985" in out and "best desirability" not in out, out


def test_a_desirability_campaign_that_met_the_ranges_keeps_its_best(
    store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    obs = [_desired(0, 0.95, 700.0), _desired(1, 0.99, 150.0)]
    rec = _recorded(store, "desired-met", obs, "finish", **_DESIRED_KW)
    c = _client(store)
    best = c.search_runs([rec.experiment_id], f"tags.`{BEST_TAG}` = 'true'")
    assert [r.data.tags["perturbo.id"] for r in best] == ["r001-0001"]
    assert "best desirability (max) = **0.5**" in c.get_run(rec.run_id).data.tags[NOTE_TAG]
    assert "best desirability (max) = 0.5: experiment r001-0001" in _show(
        store, "desired-met", capsys
    )
