"""The recorder's round record: each round the loop hands it (with the agent's trace that
rides in the round's notes) is written at once, or buffered in the spool while the store is
down and uploaded later, in round order and exactly once (:class:`RoundWriter`, a part of
:class:`~perturbo.tracking.writer.MlflowRecorder`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from perturbo.protocols import AGENT_TRACE
from perturbo.tracking.artifacts import findings_files
from perturbo.tracking.heartbeat import FAILED_TAG, PROGRESS_TAG
from perturbo.tracking.interrupts import ctrl_c_after_write
from perturbo.tracking.layout import ROUND_TAG, jsonable
from perturbo.tracking.reader import nested_runs, recorded_rounds
from perturbo.tracking.rounds import RoundTarget, write_round
from perturbo.types import Observation, Status

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from perturbo.findings import Findings
    from perturbo.kindspec import Nesting
    from perturbo.tracking.backlog import Backlog
    from perturbo.tracking.spool import SpooledRound


def split_trace(notes: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """A round's notes without the agent's trace, and the trace as plain JSON (``None``: the
    planner made none)."""
    rest = dict(notes)
    trace = rest.pop(AGENT_TRACE, None)
    return rest, (jsonable(trace) if trace is not None else None)


class RoundWriter:
    """Records rounds (the :class:`~perturbo.protocols.Recorder`'s ``record_round``) for the
    recorder it is a part of, with the state below, which the recorder's lifecycle opens."""

    client: MlflowClient
    experiment_id: str
    run_id: str
    nesting: Nesting
    objective: str
    params: Mapping[str, Any]
    config: Mapping[str, Any]
    findings: Findings | None
    _backlog: Backlog
    _series: dict[str, list[tuple[int, float]]]
    _seen: list[Observation]
    _n_ran: int
    _n_failed: int | None
    """Of ``_n_ran``, the failed ones (``None``: unknown, a campaign recorded before they were
    counted and whose history was not read on resume: no tag is written then)."""
    _base: int
    _traces: bool

    def record_round(
        self,
        round: int,
        observations: Sequence[Observation],
        metrics: Mapping[str, float],
        notes: Mapping[str, Any],
    ) -> None:
        """Write round ``round``; ``notes``: its rationale, who proposed what and, under
        :data:`~perturbo.protocols.AGENT_TRACE`, the agent's trace of the ask behind it."""
        obs = list(observations)
        self._n_ran += sum(o.outcome.status is not Status.REJECTED for o in obs)
        if self._n_failed is not None:
            self._n_failed += sum(o.outcome.status is Status.FAILED for o in obs)
        if self.findings is not None:
            self._seen += obs
        for k, v in metrics.items():
            self._series.setdefault(k, []).append((round, float(v)))
        notes, trace = split_trace(notes)
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
        notes = {**notes, AGENT_TRACE: trace}
        self._backlog.buffer(round, obs, metrics, notes, self.config, error)

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

    def _upload(self, spooled: list[SpooledRound]) -> list[tuple[SpooledRound, str]]:
        """Write spooled rounds the store has not committed, in order; remove their files.
        Returns those whose slot the store filled with other results (a resume elsewhere
        reran them: :mod:`perturbo.tracking.upload_clash`), left in place for the backlog to
        keep and name."""
        from perturbo.tracking.upload_clash import find_clashes

        recorded = set(recorded_rounds(self.client, self.run_id))
        self._drop_orphans(recorded)  # half-written nested runs of a refused round
        clashes = find_clashes(self.client, self.run_id, self._base, spooled, recorded)
        kept = {s.path for s, _ in clashes}
        for s in spooled:
            if s.path in kept:
                continue
            if s.round + self._base not in recorded:
                notes = dict(s.notes)
                trace = notes.pop(AGENT_TRACE, None)
                with ctrl_c_after_write():
                    self._write_round(s.round, s.observations, s.metrics, notes, trace)
            s.path.unlink()
        return clashes

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
        if self._n_failed is not None:
            tags[FAILED_TAG] = self._n_failed
        write_round(target, round, obs, metrics, notes, trace, tags, files)
        self._traces = self._traces or trace is not None


__all__ = ["RoundWriter", "split_trace"]
