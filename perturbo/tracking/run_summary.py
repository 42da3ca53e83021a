"""The recorder's account of its campaign on the parent run: the start tags, the plots and the
summary written when the campaign ends, however it ends (:class:`RunSummary`, a part of
:class:`~perturbo.tracking.writer.MlflowRecorder`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from perturbo.plots import PlotData, Plotter
from perturbo.tracking.artifacts import log_plots
from perturbo.tracking.summary import CampaignFacts, start_tags, write_summary
from perturbo.types import Observation

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from perturbo.findings import Findings
    from perturbo.kindspec import Nesting


class RunSummary:
    """The parent run's summary, plots and start tags, from the recorder's facts below."""

    client: MlflowClient
    campaign: str
    kind: str
    experiment_id: str
    run_id: str
    objective: str
    direction: str
    objectives: tuple[str, ...]
    directions: tuple[str, ...]
    nesting: Nesting
    headline: tuple[str, ...]
    subject: str
    params: Mapping[str, Any]
    tags: Mapping[str, str]
    findings: Findings | None
    plotters: Sequence[Plotter]
    _series: dict[str, list[tuple[int, float]]]
    _base: int
    _traces: bool

    def _summarise(
        self, history: Sequence[Observation], status: str, plots: Sequence[str], reason: str = ""
    ) -> None:
        facts = CampaignFacts(
            campaign=self.campaign,
            kind=self.kind,
            experiment_id=self.experiment_id,
            run_id=self.run_id,
            status=status,
            history=list(history),
            series=dict(self._series),
            objective=self.objective,
            direction=self.direction,
            objectives=tuple(self.objectives),  # several: the summary gives their front
            directions=tuple(self.directions),
            nesting=self.nesting,
            headline=tuple(self.headline),
            subject=self._subject(),
            planner=str(self.params.get("planner", "")),
            params=dict(self.params),
            findings=self.findings,
            round_base=self._base,
            plots=plots,
            traces=self._traces,
            reason=reason if status != "FINISHED" else "",
        )
        write_summary(self.client, facts)

    def _start_tags(self) -> tuple[dict[str, str], dict[str, str]]:
        planner = str(self.params.get("planner", ""))
        return start_tags(self.campaign, self.kind, planner, self._subject())

    def _subject(self) -> tuple[str, str] | None:
        """(name, value) of the campaign's subject: the kind's ``subject`` param, else its
        first tag (what the kind tags its campaigns by)."""
        if self.subject and self.subject in self.params:
            return self.subject, str(self.params[self.subject])
        return next(((k, str(v)) for k, v in self.tags.items()), None)

    def _log_plots(self, history: Sequence[Observation]) -> list[str]:
        data = PlotData(
            self.campaign,
            list(history),
            dict(self._series),
            self.objective,
            self.direction,
            tuple(self.objectives),
            tuple(self.directions),
            dict(self.params),
        )
        return log_plots(self.client, self.run_id, data, self.plotters)


__all__ = ["RunSummary"]
