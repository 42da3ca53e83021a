"""What a kind hands the composition root (:mod:`perturbo.launch`, which every entry uses):
everything one campaign needs, built from one plain config dict (from CLI flags, a TOML file,
or the config logged to MLflow on resume).

The parts are complete when the kind's ``build`` returns: nothing patches them afterwards.
Where a run adds to them (the ``--schedule`` and ``--experiment-timeout`` options, pinned
experiments, the store's stop request), the root makes its own copy
(:func:`dataclasses.replace`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from perturbo.campaign import RoundReport, StopRule, run
from perturbo.history import History
from perturbo.protocols import ExecutorFactory, ExecutorPool, Planner, Recorder, RoundMetrics, Space


@dataclass
class CampaignParts:
    """One campaign, assembled.

    ``config`` is the plain, JSON-serialisable config the parts were built from: the
    recorder logs it so ``perturbo resume`` can rebuild the same parts. ``params`` are the
    few values worth showing as MLflow params (planner, seed, batch, rounds, screen...).
    ``objective``/``direction`` name the metric a planner optimises ("hit", "max");
    ``objectives``/``directions`` name all of them where a campaign has several (the first
    is ``objective``); left empty they default to the one ``objective``/``direction``.
    ``tags`` become MLflow experiment tags (``perturbo.<key>``: the screen, the task, the
    model...), so the store can be searched by them. ``schedule``: ``"sync"`` runs rounds
    (a wet-lab batch), ``"async"`` refills a worker as soon as it frees (kinds whose
    experiments vary in duration); ``None``: the kind's default (:attr:`KindSpec.schedule`)
    under ``perturbo run``, rounds elsewhere. ``experiment_timeout_s``: an experiment running longer
    ends FAILED with the reason (``None``: no limit).
    """

    kind: str
    planner: Planner
    space: Space
    executor_factory: ExecutorFactory
    batch: int
    stop: StopRule
    config: Mapping[str, Any]
    params: Mapping[str, Any] = field(default_factory=dict)
    metrics: RoundMetrics | None = None
    objective: str = ""
    direction: str = "max"
    num_gpus_per_worker: float = 0.0
    objectives: tuple[str, ...] = ()
    directions: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    schedule: str | None = None
    experiment_timeout_s: float | None = None

    def __post_init__(self) -> None:
        if not self.objectives:
            self.objectives = (self.objective,) if self.objective else ()
            self.directions = (self.direction,) if self.objective else ()
        elif not self.objective:
            self.objective = self.objectives[0]
            self.direction = self.directions[0] if self.directions else self.direction

    @property
    def multi_objective(self) -> bool:
        return len(self.objectives) > 1

    def run(
        self,
        pool: ExecutorPool,
        *,
        recorder: Recorder | None = None,
        history: History | None = None,
        on_round: Callable[[RoundReport], None] | None = None,
        poll_s: float = 0.5,
    ) -> History:
        """Run these parts on ``pool`` through :func:`perturbo.campaign.run` (with their
        ``schedule`` and ``experiment_timeout_s``). On resume (a non-empty ``history``) an
        executor factory holding state rebuilt from the store (ASHA's rungs) is given the
        history first, through its ``resume(history)`` where it has one."""
        if history is not None and len(history):
            resume = getattr(self.executor_factory, "resume", None)
            if callable(resume):
                resume(history)
        return run(
            planner=self.planner,
            pool=pool,
            space=self.space,
            batch=self.batch,
            stop=self.stop,
            recorder=recorder,
            metrics=self.metrics,
            history=history,
            on_round=on_round,
            poll_s=poll_s,
            schedule=self.schedule or "sync",
            experiment_timeout_s=self.experiment_timeout_s,
        )
