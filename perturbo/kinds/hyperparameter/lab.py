"""The hyperparameter kind's lab mode: trials trained elsewhere (Optuna's ``ask``/``tell`` CLI).

``perturbo run hyperparameter --lab --space space.toml --objective NAME --direction max|min``
builds a campaign with no task: the space file says what a trial is, the objective and its
direction what the planner optimises, and the trials run on the user's own machines;
``perturbo ask``/``tell`` (:mod:`perturbo.lab.trials`) hand them out and record their values.
:data:`LAB` is what the lab loop asks of the kind (its ``KindSpec.extras["lab"]``): how a
told value or a results file becomes outcomes.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from perturbo.lab.trial_ids import trial_id
from perturbo.types import ExperimentSpec, Outcome, PerturboError, Status

if TYPE_CHECKING:
    from perturbo.kindspec import BuildContext
    from perturbo.parts import CampaignParts

__all__ = [
    "LAB",
    "TASK",
    "HyperparameterLab",
    "OutsideTrials",
    "build_lab",
    "lab_name",
    "number",
    "trial_id",
]

TASK = "lab"
"""What a lab campaign records as its task: its trials run elsewhere (``--task`` is unused)."""

ID_COLUMNS = ("trial_id", "trial", "id", "number", "trial_number")
"""Column names a results file may give the trial id under (first found wins)."""


class OutsideTrials:
    """A lab campaign's executor: trials run elsewhere and ``perturbo tell`` records them."""

    def run(self, spec: ExperimentSpec) -> Outcome:
        return Outcome(
            Status.FAILED,
            {},
            error="a lab campaign's trials run outside perturbo: `perturbo tell` records them",
        )


def build_lab(cfg: Any, context: BuildContext | None = None) -> CampaignParts:
    """The parts of a hyperparameter lab campaign: ``cfg.space`` (required), one objective
    with its direction (both required), the planner a simulated campaign on the same space
    would get (so its proposals match one)."""
    from perturbo.campaign import StopRule
    from perturbo.kinds.hyperparameter.compose import (
        KIND_NAME,
        _check_fidelity,
        _names,
        make_planner,
    )
    from perturbo.kinds.hyperparameter.executor import HyperparameterMetrics
    from perturbo.kinds.hyperparameter.space_record import recorded_space
    from perturbo.parts import CampaignParts

    if not cfg.space:
        raise PerturboError(
            "a hyperparameter lab campaign needs --space space.toml (what a trial is: its "
            "trials run elsewhere, so there is no task to take a space from)"
        )
    cfg, space = recorded_space(cfg)  # read once; `perturbo tell` uses the recorded space
    given = [f for f, on in (("--asha", cfg.asha), ("--desirability", cfg.desirability)) if on]
    given += ["--planner agent"] if cfg.planner == "agent" else []
    if given:  # before the objective check: its message would name the wrong input
        raise PerturboError(
            f"a hyperparameter lab campaign takes plain trials, one objective each: drop "
            f"{' and '.join(given)} (lab campaigns run bo, optuna-tpe, random, ... on one "
            "--objective NAME with --direction max|min)"
        )
    objectives, directions = _names(cfg.objective), _names(cfg.direction)
    if len(objectives) != 1 or len(directions) != 1 or directions[0] not in ("max", "min"):
        raise PerturboError(
            "a hyperparameter lab campaign needs one --objective NAME and --direction max|min "
            f"(got --objective {cfg.objective!r} --direction {cfg.direction!r}), e.g. "
            "--objective val_loss --direction min"
        )
    if cfg.fidelity is not None:  # a bad one is one line naming the fix, as without --lab
        _check_fidelity(cfg.fidelity, cfg.planner, space)
    objective, direction = objectives[0], directions[0]
    planner = make_planner(
        cfg.planner, space, cfg.seed, (objective,), (direction,), cfg.model_dump()
    )
    params = {
        "planner": cfg.planner,
        "seed": cfg.seed,
        "batch": cfg.batch,
        "trials": cfg.trials,
        "task": TASK,
        "objective": objective,
        "direction": direction,
        "asha": False,
        "lab": True,
    }
    return CampaignParts(
        kind=KIND_NAME,
        planner=planner,
        space=space,
        executor_factory=OutsideTrials,
        batch=cfg.batch,
        stop=StopRule(max_experiments=cfg.trials),
        config=cfg.model_dump(),
        params=params,
        metrics=HyperparameterMetrics(objective, direction, 0),
        objective=objective,
        direction=direction,
        objectives=(objective,),
        directions=(direction,),
        tags={"task": TASK},
    )


def lab_name(config: Mapping[str, Any]) -> str:
    """A lab campaign's default name: ``hyperparameter-lab-SPACE-PLANNER-sSEED``."""
    space = config.get("space")
    stem = Path(space).stem if isinstance(space, str) else "space"
    return f"hyperparameter-lab-{stem}-{config.get('planner', 'bo')}-s{config.get('seed', 0)}"


def number(text: Any, where: str) -> float:
    """A told value as a float, or one clear error naming ``where``."""
    try:
        v = float(str(text).strip())
    except ValueError:
        raise PerturboError(f"{where}: {text!r} is not a number; tell a numeric value") from None
    if not math.isfinite(v):
        raise PerturboError(f"{where}: {text!r} is not a finite number; use --failed TRIAL_ID")
    return v


class HyperparameterLab:
    """What :mod:`perturbo.lab.trials` asks of the hyperparameter kind."""

    mode = "trials"
    """Trials asked and told one by one (Optuna's CLI), not a batch per round."""

    def describe(self, specs: Sequence[ExperimentSpec]) -> str:
        return f"{len(specs)} trials"

    def outcome(self, objective: str, value: float | None) -> Outcome:
        """A told value (``None``: the trial failed) as the trial's outcome."""
        if value is None:
            return Outcome(Status.FAILED, {}, error="failed (perturbo tell --failed)", worker="lab")
        return Outcome(Status.COMPLETED, {objective: float(value)}, worker="lab")

    def told(
        self, first: str | None, value: str | None, failed: Sequence[str], objective: str
    ) -> list[tuple[str, float | None]]:
        """What ``perturbo tell CAMPAIGN FIRST [VALUE] [--failed ID ...]`` tells: ``(trial id,
        value)`` pairs, ``None`` for a failed trial. ``FIRST`` is a trial id followed by its
        value, or a results file (:meth:`read_results`)."""
        values: list[tuple[str, float | None]] = []
        if first is not None and value is not None:
            values.append((trial_id(first), number(value, f"trial {trial_id(first)}'s VALUE")))
        elif first is not None:
            if not Path(first).is_file():
                raise PerturboError(
                    f"{first}: neither a results file nor TRIAL_ID VALUE; give `perturbo tell "
                    "CAMPAIGN TRIAL_ID VALUE`, a results file (trial_id,value), or --failed ID"
                )
            values.extend(self.read_results(first, objective))
        values.extend((trial_id(t), None) for t in failed)
        return values

    def read_results(self, path: str, objective: str) -> list[tuple[str, float]]:
        """``(trial id, value)`` pairs from a results file: CSV with a trial id column
        (:data:`ID_COLUMNS`) and a value column (``value`` or the objective's name), or JSON
        (``{"t0001": 0.5, ...}`` or ``[{"trial_id": ..., "value": ...}, ...]``)."""
        p = Path(path)
        if not p.is_file():
            raise PerturboError(f"{path}: no such results file (CSV or JSON: trial_id,value)")
        text = p.read_text()
        if not text.strip():
            raise PerturboError(f"{path}: the file is empty; give trial_id,value rows")
        if p.suffix.lower() == ".json":
            try:
                data = json.loads(text)
            except json.JSONDecodeError as e:
                raise PerturboError(f"{path}: not valid JSON ({e.msg}, line {e.lineno})") from None
            rows = (
                [{"trial_id": k, "value": v} for k, v in data.items()]
                if isinstance(data, Mapping)
                else data
            )
            if not isinstance(rows, list) or not all(isinstance(r, Mapping) for r in rows):
                raise PerturboError(
                    f'{path}: give {{"TRIAL_ID": VALUE, ...}} or [{{"trial_id": ..., "value": ...}}]'
                )
        else:
            rows = list(csv.DictReader(text.splitlines()))
        if not rows:
            raise PerturboError(f"{path}: no rows; give trial_id,value rows")
        cols = list(rows[0])
        id_col = next((c for c in ID_COLUMNS if c in cols), None)
        value_col = next((c for c in ("value", objective) if c in cols), None)
        if id_col is None or value_col is None:
            raise PerturboError(
                f"{path}: columns {', '.join(map(str, cols))}; need a trial id column "
                f"({' or '.join(ID_COLUMNS[:2])}) and a value column (value or {objective})"
            )
        out = []
        for i, r in enumerate(rows, start=2 if p.suffix.lower() != ".json" else 1):
            tid = trial_id(r.get(id_col, ""))
            out.append((tid, number(r.get(value_col, ""), f"{path} row {i} ({tid})")))
        return out


LAB = HyperparameterLab()
