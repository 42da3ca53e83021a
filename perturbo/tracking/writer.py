"""The write side of the store: :class:`MlflowRecorder` implements
:class:`perturbo.protocols.Recorder` on MLflow (layout: :mod:`perturbo.tracking.layout`).

All writes happen on the driver and are batched. If a round cannot be written (server down,
disk full), it is saved to the local spool and the campaign goes on: later rounds are spooled
too until a retry (at most every ``retry_s``) uploads the backlog, in round order and exactly
once. At the end the recorder waits up to ``store_wait_s`` for the store; if it is still down,
the error names the spool and ``perturbo resume`` uploads it: nothing recorded is lost.

While the campaign runs, a :class:`~perturbo.tracking.heartbeat.Heartbeat` thread beats on the
parent run and notices ``perturbo stop``: the campaign then ends KILLED, resumable.

The recorder never holds the planner: an LLM agent's trace of each ask reaches it in the
round's notes (:data:`perturbo.protocols.AGENT_TRACE`), from the loop.
"""

from __future__ import annotations

import contextlib
import shlex
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from perturbo.plots import Plotter
from perturbo.tracking.artifacts import log_findings, log_pareto
from perturbo.tracking.backlog import Backlog
from perturbo.tracking.batch import finite, log_batch
from perturbo.tracking.buffer_notice import clear_buffered, is_ours, mark_buffered
from perturbo.tracking.heartbeat import Heartbeat, driver_tags
from perturbo.tracking.layout import ROUND_BASE
from perturbo.tracking.opening import Opened, create_campaign, reopen_campaign
from perturbo.tracking.reader import find_parent
from perturbo.tracking.round_writer import RoundWriter
from perturbo.tracking.run_summary import RunSummary
from perturbo.tracking.spool import Spool
from perturbo.tracking.uri import make_client, shown_uri, wrap_error
from perturbo.types import Observation, PerturboError, Status

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from perturbo.findings import Findings
    from perturbo.kindspec import Nesting
    from perturbo.parts import CampaignParts


@dataclass
class MlflowRecorder(RoundWriter, RunSummary):
    """Implements :class:`perturbo.protocols.Recorder` on MLflow.

    This module holds its lifecycle (open, finish, abort); :class:`RoundWriter` writes its
    rounds (``record_round``) and :class:`RunSummary` the parent run's summary and plots.

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
        self._n_failed: int | None = 0
        self._base = ROUND_BASE  # a resumed campaign keeps the numbering it was recorded with
        self._seen: list[Observation] = []  # what the findings CSV is counted from
        self.stopped: str | None = None
        """Why the campaign ended early at someone's request (``perturbo stop``), if it did."""

    @classmethod
    def from_parts(
        cls, parts: CampaignParts, tracking_uri: str, campaign: str, **kw: Any
    ) -> MlflowRecorder:
        """A recorder of the campaign ``parts`` make; ``kw``: ``nesting``, ``plotters``
        (the kind's), ``resume``... (``tags`` default to ``parts.tags``). It never holds the
        planner: an agent's trace reaches it in each round's notes."""
        from perturbo.names import check_name

        check_name(campaign)  # every way to record a campaign: the CLI, the APIs, the chat
        kw.setdefault("tags", dict(parts.tags))
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

    def ui_target(self) -> str:
        """What to open for this campaign's parent run: its address on the tracking server, for
        an ``http(s)`` store; else the link ``perturbo ui`` prints (it holds the server's access
        token, drawn at each start) and the run's place in the UI."""
        path = f"#/experiments/{self.experiment_id}/runs/{self.run_id}"
        if self.tracking_uri.startswith(("http://", "https://")):
            return f"{shown_uri(self.tracking_uri.rstrip('/'))}/{path}"
        return f"the link it prints (this campaign's run: {path})"

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
                    f"campaign {self.campaign!r} was deleted in {shown_uri(self.tracking_uri)!r}: restore it "
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
            if self.resume:
                self._clear_mark()
        except PerturboError:
            raise
        except Exception as e:  # the store, not the user's input
            raise wrap_error(self.tracking_uri, f"opening campaign {self.campaign!r}", e) from None
        self._started = time.monotonic()
        self._heartbeat = Heartbeat(lambda: make_client(self.tracking_uri), self.run_id).start()

    def stop_requested(self) -> str | None:
        """Why the campaign should stop now (``perturbo stop``), else ``None``."""
        return self._heartbeat.stop_reason if self._heartbeat is not None else None

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
            ended = _ended_params(
                dict(getattr(metrics, "params", None) or {}),  # a kind's "stopped_by"
                c.get_run(self.run_id).data.params,
            )
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
            self._upload_or_mark()
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

    def _upload_or_mark(self) -> None:
        """Stopping early with rounds still buffered while the store takes writes again: upload
        them now; where it still refuses them, say on the parent run where they are
        (:mod:`perturbo.tracking.buffer_notice`), so a resume elsewhere is warned."""
        if not self._backlog.pending or self._backlog.flush(self._upload):
            return
        with contextlib.suppress(Exception):
            mark_buffered(self.client, self.run_id, self._spool, self._backlog.pending)

    def _clear_mark(self) -> None:
        """This host's buffer is uploaded: its mark on the parent run goes (another host's
        mark stays: that buffer is still out there)."""
        tags = self.client.get_run(self.run_id).data.tags
        if is_ours(tags, self._spool) and not self._spool.count():
            clear_buffered(self.client, self.run_id, tags)

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
            self._n_failed = opened.n_failed
            if opened.series is not None:
                self._series = opened.series
        self._drop_orphans()
        if self.findings is not None:
            from perturbo.tracking.reader import MlflowStore

            self._seen = list(MlflowStore(self.tracking_uri, self.spool_dir).history(self.campaign))
            if self._n_failed is None:  # recorded before the failed were counted: count them
                self._n_failed = sum(o.outcome.status is Status.FAILED for o in self._seen)

    def _close_heartbeat(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.close()
            self._heartbeat = None


def _ended_params(ended: Mapping[str, Any], logged: Mapping[str, str]) -> dict[str, Any]:
    """The params a campaign logs when it ends (why it ended), keyed so a resumed campaign's
    new ending never overwrites its first (MLflow params are immutable): an unchanged value is
    not logged again; a changed one goes to ``KEY_2``, ``KEY_3``... in the order of endings."""
    out: dict[str, Any] = {}
    for key, value in ended.items():
        name, n = key, 1
        while name in logged and logged[name] != str(value):
            n += 1
            name = f"{key}_{n}"
        if logged.get(name) != str(value):
            out[name] = value
    return out
