"""The write side of the store: :class:`MlflowRecorder` implements
:class:`perturbo.protocols.Recorder` on MLflow (layout: :mod:`perturbo.tracking.layout`).

All writes happen on the driver and are batched. If a round cannot be written (server down,
disk full), it is saved to the local spool and the campaign goes on: later rounds are spooled
too until a retry (at most every ``retry_s``) uploads the backlog, in round order and exactly
once. At the end the recorder waits up to ``store_wait_s`` for the store; if it is still down,
the error names the spool and ``perturbo resume`` uploads it: nothing recorded is lost.

While the campaign runs, a :class:`~perturbo.tracking.heartbeat.Heartbeat` thread beats on the
parent run and notices ``perturbo stop``: the campaign then ends KILLED, resumable.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from perturbo.plots import PlotData, Plotter
from perturbo.tracking.artifacts import findings_files, log_findings, log_pareto, log_plots
from perturbo.tracking.backlog import Backlog
from perturbo.tracking.batch import finite, log_batch
from perturbo.tracking.heartbeat import PROGRESS_TAG, Heartbeat, driver_tags
from perturbo.tracking.interrupts import ctrl_c_after_write
from perturbo.tracking.layout import (
    ROUND_BASE,
    ROUND_TAG,
    jsonable,
)
from perturbo.tracking.opening import Opened, create_campaign, reopen_campaign
from perturbo.tracking.reader import find_parent, nested_runs, recorded_rounds
from perturbo.tracking.rounds import RoundTarget, write_round
from perturbo.tracking.spool import Spool, SpooledRound
from perturbo.tracking.summary import CampaignFacts, start_tags, write_summary
from perturbo.tracking.uri import make_client, wrap_error
from perturbo.types import Observation, PerturboError, Status

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from perturbo.findings import Findings
    from perturbo.kindspec import Nesting
    from perturbo.parts import CampaignParts


@dataclass
class MlflowRecorder:
    """Implements :class:`perturbo.protocols.Recorder` on MLflow.

    Build it with :meth:`from_parts`; call :meth:`start` before ``campaign.run`` (fresh or
    ``resume=True``), :meth:`abort` where the campaign ends early (Ctrl-C: ``KILLED``,
    resumable). ``kind`` is the kind's registry name; ``nesting`` (nested runs per round, per
    trial, or both) and ``plotters`` come from the kind's :class:`~perturbo.kindspec.KindSpec`.
    ``tags`` become experiment and parent-run tags ``perturbo.<key>``.
    """

    tracking_uri: str
    campaign: str
    kind: str
    config: Mapping[str, Any]
    params: Mapping[str, Any] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    nesting: Nesting = "trial"
    objective: str = ""
    direction: str = "max"
    objectives: tuple[str, ...] = ()
    """All objectives where a campaign has several: its Pareto set is logged at the end."""
    directions: tuple[str, ...] = ()
    plotters: Sequence[Plotter] = ()
    resume: bool = False
    spool_dir: Path | None = None
    planner: Any = None
    """The campaign's planner: where it keeps a ``last_trace`` (LLM agents: prompts, answers,
    repairs, tokens), that round's trace is logged with the round."""
    headline: tuple[str, ...] = ()
    """The kind's headline metrics (:attr:`KindSpec.headline`): with nesting "round", the best
    round is the best by the first of them."""
    subject: str = ""
    """The param that is the campaign's subject (:attr:`KindSpec.subject`), for the summary."""
    findings: Findings | None = None
    """What the kind's experiments find (:attr:`KindSpec.findings`): the summary's headline
    and the CSV of finds on the parent run, rewritten with each round."""
    retry_s: float = 10.0
    """While rounds are buffered, how often a round's write retries uploading them."""
    store_wait_s: float | None = None
    """At the end, how long to wait for a store that is down (``None``:
    ``$PERTURBO_STORE_WAIT_S``, default 300 s) before giving up with the spool named."""
    notify: Callable[[str], None] | None = None
    """Where "the store is down / back" lines go (default: stderr)."""

    def __post_init__(self) -> None:
        if self.nesting not in ("round", "trial", "both"):
            raise ValueError(f"nesting {self.nesting!r}: use 'round', 'trial' or 'both'")
        self._spool = Spool(self.tracking_uri, self.campaign, self.spool_dir)
        self._client: MlflowClient | None = None
        self.experiment_id = ""
        self.run_id = ""
        self._series: dict[str, list[tuple[int, float]]] = {}
        self._started = 0.0
        self._traces = False
        self._heartbeat: Heartbeat | None = None
        self._backlog = Backlog(self._spool, self.retry_s, self.notify)
        self._n_ran = 0
        self._base = ROUND_BASE  # a resumed campaign keeps the numbering it was recorded with
        self._seen: list[Observation] = []  # what the findings CSV is counted from
        self.stopped: str | None = None
        """Why the campaign ended early at someone's request (``perturbo stop``), if it did."""

    @classmethod
    def from_parts(
        cls, parts: CampaignParts, tracking_uri: str, campaign: str, **kw: Any
    ) -> MlflowRecorder:
        """A recorder of the campaign ``parts`` make; ``kw``: ``nesting``, ``plotters``
        (the kind's), ``resume``, ``planner``... (``tags`` default to ``parts.tags``)."""
        from perturbo.names import check_name

        check_name(campaign)  # every way to record a campaign: the CLI, the APIs, the chat
        kw.setdefault("tags", dict(parts.tags))
        kw.setdefault("planner", parts.planner)
        return cls(
            tracking_uri=tracking_uri,
            campaign=campaign,
            kind=str(parts.kind),
            config=dict(parts.config),
            params=dict(parts.params),
            objective=parts.objective,
            direction=parts.direction,
            objectives=tuple(parts.objectives),
            directions=tuple(parts.directions),
            **kw,
        )

    @property
    def client(self) -> MlflowClient:
        if self._client is None:
            self._client = make_client(self.tracking_uri)
        return self._client

    @property
    def spool(self) -> Path:
        """The folder rounds the store refused are saved in."""
        return self._spool.path

    def ui_url(self) -> str:
        """Where this campaign's parent run is in a local ``mlflow ui`` (default port)."""
        return f"http://127.0.0.1:5000/#/experiments/{self.experiment_id}/runs/{self.run_id}"

    # -- Recorder protocol
    def start(self, meta: Mapping[str, Any] | None = None) -> None:
        """Create the experiment and the parent run (fresh), or reopen them (``resume``).

        ``meta`` values become parent-run tags (``perturbo.meta.<key>``): the pool, workers...
        A fresh start refuses a campaign name that already has a parent run.
        """
        c = self.client
        try:
            exp = c.get_experiment_by_name(self.campaign)
            if exp is not None and exp.lifecycle_stage == "deleted":
                raise PerturboError(
                    f"campaign {self.campaign!r} was deleted in {self.tracking_uri!r}: restore it "
                    "(`mlflow experiments restore`) or pick another --name"
                )
            parent = find_parent(c, exp.experiment_id) if exp is not None else None
            if self.resume:
                self._reopen(exp, parent)
            else:
                self._create(exp, parent)
            meta = dict(meta or {})
            meta_tags = {f"perturbo.meta.{k}": v for k, v in meta.items() if v is not None}
            driver = driver_tags(str(meta.get("ray_job", "") or ""))
            log_batch(c, self.run_id, tags={**meta_tags, **driver})
            if not self._backlog.flush(self._upload):
                raise self._backlog.error or RuntimeError("the spool could not be uploaded")
        except PerturboError:
            raise
        except Exception as e:  # the store, not the user's input
            raise wrap_error(self.tracking_uri, f"opening campaign {self.campaign!r}", e) from None
        self._started = time.monotonic()
        self._heartbeat = Heartbeat(lambda: make_client(self.tracking_uri), self.run_id).start()

    def stop_requested(self) -> str | None:
        """Why the campaign should stop now (``perturbo stop``), else ``None``."""
        return self._heartbeat.stop_reason if self._heartbeat is not None else None

    def record_round(
        self,
        round: int,
        observations: Sequence[Observation],
        metrics: Mapping[str, float],
        notes: Mapping[str, Any],
    ) -> None:
        obs = list(observations)
        self._n_ran += sum(o.outcome.status is not Status.REJECTED for o in obs)
        if self.findings is not None:
            self._seen += obs
        for k, v in metrics.items():
            self._series.setdefault(k, []).append((round, float(v)))
        trace = self._agent_trace()
        if self._backlog.due():
            self._backlog.flush(self._upload)
        error = None
        if not self._backlog.pending:
            try:
                with ctrl_c_after_write():
                    self._write_round(round, obs, metrics, notes, trace)
                return
            except Exception as e:  # noqa: BLE001 - the store: buffer the round, go on
                error = e
        notes = {**notes, "agent_trace": trace}
        self._backlog.buffer(round, obs, metrics, notes, self.config, error)

    def finish(self, history: Sequence[Observation], metrics: Mapping[str, float]) -> None:
        try:
            self._backlog.drain(self._upload, self.store_wait_s)
        except PerturboError:
            self._close_heartbeat()
            raise
        reason = self.stop_requested()
        if reason is not None:
            self.stopped = reason
            self.abort(
                "KILLED",
                f"{reason}; `perturbo resume {shlex.quote(self.campaign)}` continues",
                history,
            )
            return
        self._close_heartbeat()
        c = self.client
        try:
            final = [
                (f"final_{k}", v, 0)
                for k, v in metrics.items()
                if k not in self._series and finite(v)
            ]
            n_ran = sum(o.outcome.status is not Status.REJECTED for o in history)
            final.append(("final_n_experiments", float(n_ran), 0))
            ended = dict(getattr(metrics, "params", None) or {})  # a kind's "stopped_by"
            log_batch(
                c, self.run_id, metrics=final, params=ended, tags={"perturbo.stopped": "finished"}
            )
            log_findings(c, self.run_id, self.findings, history)
            plots = self._log_plots(history)
            log_pareto(c, self.run_id, history, self.objectives, self.directions)
            self._summarise(history, "FINISHED", plots)
            c.set_terminated(self.run_id, status="FINISHED")
        except Exception as e:
            raise wrap_error(self.tracking_uri, "finishing the campaign", e) from None

    def abort(
        self, status: Literal["KILLED", "FAILED"], reason: str, history: Sequence[Observation] = ()
    ) -> None:
        """End the parent run early; what was recorded stays and ``perturbo resume`` continues.
        Best effort: never raises (it runs while another error is on its way out)."""
        self._close_heartbeat()
        if not self.run_id:
            return
        try:
            log_batch(self.client, self.run_id, tags={"perturbo.stopped": reason[:500]})
            plots = self._log_plots(history) if history else []
            self.client.set_terminated(self.run_id, status=status)
        except Exception:  # noqa: BLE001 - the store may be the reason we are here
            return
        try:  # the summary of what was recorded, which the history given may not hold whole
            from perturbo.tracking.reader import MlflowStore

            recorded = MlflowStore(self.tracking_uri, self.spool_dir).history(self.campaign)
            log_findings(self.client, self.run_id, self.findings, recorded)
            self._summarise(list(recorded) or list(history), status, plots, reason)
        except Exception:  # noqa: BLE001 - best effort, as above
            pass

    # -- opening
    def _create(self, exp: Any, parent: Any) -> None:
        opened = Opened()
        try:
            create_campaign(
                self.client,
                exp,
                parent,
                opened,
                tracking_uri=self.tracking_uri,
                campaign=self.campaign,
                kind=self.kind,
                nesting=self.nesting,
                tags=self.tags,
                start_tags=self._start_tags(),
                params=self.params,
                config=self.config,
            )
        finally:  # what was created, even where the store failed half way
            self.experiment_id, self.run_id = opened.experiment_id, opened.run_id

    def _reopen(self, exp: Any, parent: Any) -> None:
        opened = Opened(base=self._base)
        try:
            reopen_campaign(
                self.client,
                exp,
                parent,
                opened,
                tracking_uri=self.tracking_uri,
                campaign=self.campaign,
                params=self.params,
                config=self.config,
            )
        finally:  # what was read, even where the store failed half way
            self.experiment_id, self.run_id = opened.experiment_id, opened.run_id
            self._n_ran, self._base = opened.n_ran, opened.base
            if opened.series is not None:
                self._series = opened.series
        self._drop_orphans()
        if self.findings is not None:
            from perturbo.tracking.reader import MlflowStore

            self._seen = list(MlflowStore(self.tracking_uri, self.spool_dir).history(self.campaign))

    def _drop_orphans(self, recorded: set[int] | None = None) -> None:
        """Nested runs of a round that never reached its commit point (a crash while writing)
        would show twice after the round is re-run: delete them. ``recorded``: the committed
        rounds, where the caller has just read them."""
        if recorded is None:
            recorded = set(recorded_rounds(self.client, self.run_id))
        for r in nested_runs(self.client, self.experiment_id, self.run_id):
            rnd = r.data.tags.get(ROUND_TAG)
            if rnd is not None and int(rnd) not in recorded:
                self.client.delete_run(r.info.run_id)

    def _upload(self, spooled: list[SpooledRound]) -> None:
        """Write spooled rounds the store has not committed, in order; remove their files."""
        recorded = set(recorded_rounds(self.client, self.run_id))
        self._drop_orphans(recorded)  # half-written nested runs of a refused round
        for s in spooled:
            if s.round + self._base not in recorded:
                notes = dict(s.notes)
                trace = notes.pop("agent_trace", None)
                with ctrl_c_after_write():
                    self._write_round(s.round, s.observations, s.metrics, notes, trace)
            s.path.unlink()

    def _close_heartbeat(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.close()
            self._heartbeat = None

    # -- writing one round
    def _write_round(
        self,
        round: int,
        obs: list[Observation],
        metrics: Mapping[str, float],
        notes: Mapping[str, Any],
        trace: dict[str, Any] | None,
    ) -> None:
        planner = str(self.params.get("planner", ""))
        target = RoundTarget(
            self.client,
            self.experiment_id,
            self.run_id,
            self.nesting,
            planner,
            self.objective,
            base=self._base,
        )
        files = findings_files(self.findings, self._seen, round)
        tags = {PROGRESS_TAG: self._n_ran}
        write_round(target, round, obs, metrics, notes, trace, tags, files)
        self._traces = self._traces or trace is not None

    def _agent_trace(self) -> dict[str, Any] | None:
        trace = getattr(self.planner, "last_trace", None)
        to_dict = getattr(trace, "to_dict", None)
        return jsonable(to_dict()) if callable(to_dict) else None

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
