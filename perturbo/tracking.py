"""MLflow: the campaign's store of record. The only module that imports mlflow (lazily).

Layout of one campaign in MLflow (the campaign name is the MLflow experiment)::

    experiment <campaign>                       tags perturbo.kind, perturbo.screen, ...
      run <campaign>  (parent, perturbo.role=campaign)
          params   planner, seed, batch, rounds, screen ...   (CampaignParts.params)
          metrics  every round metric with step=round (hit_ratio, hits_total, planner_s ...)
          artifacts campaign/config.json   the full config: `perturbo resume` rebuilds from it
                    rounds/round-NNN.json  the round's observations, exactly (History JSON);
                                           written last, so a round is recorded iff it is here
                    plots/*.png            at the end (hit ratio vs round ...)
        run round-NNN   (nested, perturbo.role=round; genetic kind)
              metrics of the round (step=round), results table (per gene), rationale.txt
        run trial-...   (nested, perturbo.role=trial; hyperparameter kind)
              params = config, per-epoch values (step=epoch), final metrics, duration, planner

All writes happen on the driver and are batched (``MlflowClient.log_batch``: per-value
calls measured ~3x slower). If a write fails (server down, disk full), the round is saved
to a local spool file first, the error names the URI and the file, and the next ``resume``
uploads it: nothing recorded is lost.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import signal
import tempfile
import threading
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from perturbo.history import History
from perturbo.plots import PlotData, Plotter, default_plotters, save_png
from perturbo.types import Kind, Observation, PerturboError, Status

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from perturbo.parts import CampaignParts

Nesting = Literal["round", "trial", "both"]

DEFAULT_NESTING: Mapping[Kind, Nesting] = {
    Kind.GENETIC: "round",
    Kind.HYPERPARAMETER: "trial",
    Kind.ATTACK: "trial",
}
"""One nested run per round (a genetic round is 128 genes: a table is what people read) or
one per trial (a hyperparameter trial is what people compare), by kind."""

ROLE = "perturbo.role"
CONFIG_FILE = "campaign/config.json"
ROUNDS_DIR = "rounds"
PARETO_FILE = "pareto_front.json"
"""Multi-objective campaigns: the Pareto set, on the parent run (and ``pareto_front.csv``)."""
_TIMING_KEYS = ("planner_s", "run_s")
_MAX_PARAM_LEN = 6000  # MLflow's limit on a param value
_MAX_TAG_LEN = 5000  # stay well under MLflow's 8000 on a tag value
_BATCH_METRICS = 1000  # log_batch limits
_BATCH_PARAMS_TAGS = 100


def default_spool_dir(uri: str) -> Path:
    """Where rounds go when the store cannot be written: beside a sqlite store
    (``<dir>/perturbo-unsent``), else ``~/.cache/perturbo/unsent``."""
    db = _sqlite_path(uri) if uri.startswith("sqlite:") else None
    if db is not None:
        return db.resolve().parent / "perturbo-unsent"
    return Path.home() / ".cache" / "perturbo" / "unsent"


# --------------------------------------------------------------------------- the store


def _limit_http_retries() -> None:
    """MLflow retries an unreachable server 7 times with back-off (minutes). A tracking write
    that cannot succeed should fail in seconds: the round is spooled, not lost. A value the
    user set in the environment is kept."""
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "20")
    # tqdm bars for every artifact download would tear through the progress display
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    # agent traces are written with their round, before the round counts as recorded
    os.environ.setdefault("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING", "false")


def _sqlite_path(uri: str) -> Path | None:
    if not uri.startswith("sqlite:"):
        return None
    rest = uri[len("sqlite:") :]
    if rest.startswith("///"):
        return Path(rest[3:])  # sqlite:///rel.db -> rel.db; sqlite:////abs.db -> /abs.db
    raise PerturboError(
        f"tracking URI {uri!r} is not a sqlite file URI: use sqlite:///relative/path.db "
        "or sqlite:////absolute/path.db"
    )


def check_reachable(uri: str, timeout_s: float = 3.0) -> None:
    """Fail fast, with the URI and the fix, where the store cannot be used."""
    db = _sqlite_path(uri)
    if db is not None:
        parent = db.resolve().parent
        if not parent.is_dir():
            raise PerturboError(
                f"tracking URI {uri!r}: directory {str(parent)!r} does not exist: create it "
                "or pass another --tracking-uri (default: sqlite:///mlflow.db)"
            )
        if not os.access(parent, os.W_OK):
            raise PerturboError(
                f"tracking URI {uri!r}: directory {str(parent)!r} is not writable: "
                "pass a --tracking-uri in a writable directory"
            )
        return
    if uri.startswith(("http://", "https://")):
        base = uri.rstrip("/")
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=timeout_s) as r:  # noqa: S310
                r.read(64)
        except urllib.error.HTTPError as e:
            if e.code in (401, 403):
                return  # reachable; auth is MLflow's business (MLFLOW_TRACKING_TOKEN...)
            if e.code != 404:
                raise _unreachable(uri, f"HTTP {e.code}") from None
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise _unreachable(uri, str(reason)) from None
        return
    if uri.startswith("file:") or "://" not in uri:
        raise PerturboError(
            f"tracking URI {uri!r} is a file store, which MLflow 3 no longer writes by default: "
            "use a sqlite file instead, e.g. --tracking-uri sqlite:///mlflow.db"
        )


def _unreachable(uri: str, reason: str) -> PerturboError:
    return PerturboError(
        f"MLflow tracking server {uri!r} is unreachable ({reason}): start it "
        "(`mlflow server --host 127.0.0.1 --port 5000`) or pass another --tracking-uri "
        "(default: a local sqlite file, sqlite:///mlflow.db)"
    )


def _client(uri: str) -> MlflowClient:
    check_reachable(uri)
    _limit_http_retries()
    import logging

    from mlflow import MlflowClient

    # "Creating initial MLflow database tables..." on every new store: noise on a progress display
    for name in ("mlflow.store.db.utils", "alembic.runtime.migration", "mlflow.tracking"):
        logging.getLogger(name).setLevel(logging.WARNING)

    return MlflowClient(tracking_uri=uri)


def _store_exists(uri: str) -> bool:
    db = _sqlite_path(uri)
    return db is None or db.exists()


def _now_ms() -> int:
    return int(time.time() * 1000)


def _artifact_location(uri: str, campaign: str) -> str | None:
    """Beside the sqlite file (``<dir>/mlruns/<campaign>``), not in whatever directory the
    process happens to run in; a server decides for itself."""
    db = _sqlite_path(uri)
    if db is None:
        return None
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", campaign)
    return (db.resolve().parent / "mlruns" / slug).as_uri()


def _find_parent(client: MlflowClient, experiment_id: str) -> Any | None:
    runs = client.search_runs(
        [experiment_id],
        filter_string=f"tags.`{ROLE}` = 'campaign'",
        order_by=["start_time ASC"],
        max_results=5,
    )
    return runs[0] if runs else None


def _wrap(uri: str, what: str, e: Exception) -> PerturboError:
    msg = str(e).splitlines()[0] if str(e) else type(e).__name__
    return PerturboError(
        f"MLflow at {uri!r} failed while {what} ({msg[:300]}): check the tracking store "
        "(server running? disk full?) and pass a working --tracking-uri"
    )


# --------------------------------------------------------------------------- batching


def _chunks(xs: list[Any], n: int) -> list[list[Any]]:
    return [xs[i : i + n] for i in range(0, len(xs), n)] or [[]]


def _log_batch(
    client: MlflowClient,
    run_id: str,
    metrics: Sequence[tuple[str, float, int]] = (),
    params: Mapping[str, Any] | None = None,
    tags: Mapping[str, Any] | None = None,
) -> None:
    """One ``log_batch`` call per 1000 metrics / 100 params+tags (MLflow's limits)."""
    from mlflow.entities import Metric, Param, RunTag

    ts = _now_ms()
    ms = [Metric(k, float(v), ts, int(s)) for k, v, s in metrics]
    ps = [Param(str(k), str(v)[:_MAX_PARAM_LEN]) for k, v in (params or {}).items()]
    tg = [RunTag(str(k), str(v)[:_MAX_TAG_LEN]) for k, v in (tags or {}).items()]
    pt: list[Any] = ps + tg
    m_chunks = _chunks(ms, _BATCH_METRICS)
    pt_chunks = _chunks(pt, _BATCH_PARAMS_TAGS)
    for i in range(max(len(m_chunks), len(pt_chunks))):
        m = m_chunks[i] if i < len(m_chunks) else []
        chunk = pt_chunks[i] if i < len(pt_chunks) else []
        p = [x for x in chunk if isinstance(x, Param)]
        t = [x for x in chunk if isinstance(x, RunTag)]
        if m or p or t:
            client.log_batch(run_id, metrics=m, params=p, tags=t)


def _finite(v: float) -> bool:
    return v == v and v not in (float("inf"), float("-inf"))


# --------------------------------------------------------------------------- tables


def observations_table(observations: Sequence[Observation]) -> Any:
    """A pandas DataFrame, one row per experiment: params, status, metrics, error, planner."""
    import pandas as pd

    rows = []
    for o in observations:
        row: dict[str, Any] = {"id": o.spec.id, "round": o.spec.round}
        row.update({k: v for k, v in o.spec.params.items()})
        row["status"] = o.outcome.status.value
        row.update({k: float(v) for k, v in o.outcome.metrics.items()})
        row["error"] = o.outcome.error
        row["planner"] = o.spec.planner
        row["duration_s"] = round(o.outcome.duration_s, 6)
        row["worker"] = o.outcome.worker
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- the recorder


@dataclass
class MlflowRecorder:
    """Implements :class:`perturbo.protocols.Recorder` on MLflow.

    Build it with :meth:`from_parts`; call :meth:`start` before ``campaign.run`` (fresh or
    ``resume=True``), :meth:`abort` where the campaign ends early (Ctrl-C: ``KILLED``,
    resumable). ``nesting`` picks nested runs per round, per trial, or both (default by kind).
    """

    tracking_uri: str
    campaign: str
    kind: Kind
    config: Mapping[str, Any]
    params: Mapping[str, Any] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    nesting: Nesting | None = None
    objective: str = ""
    direction: str = "max"
    objectives: tuple[str, ...] = ()
    """All objectives where a campaign has several: its Pareto set is logged at the end."""
    directions: tuple[str, ...] = ()
    plotters: Sequence[Plotter] | None = None
    resume: bool = False
    spool_dir: Path | None = None
    planner: Any = None
    """The campaign's planner: where it keeps a ``last_trace`` (LLM agents: prompts, answers,
    repairs, tokens), that round's trace is logged with the round."""

    def __post_init__(self) -> None:
        self.nesting = self.nesting or DEFAULT_NESTING.get(self.kind, "round")
        self.plotters = default_plotters(self.kind) if self.plotters is None else self.plotters
        self.spool_dir = (
            Path(self.spool_dir) if self.spool_dir else default_spool_dir(self.tracking_uri)
        )
        self._client: MlflowClient | None = None
        self.experiment_id = ""
        self.run_id = ""
        self._series: dict[str, list[tuple[int, float]]] = {}
        self._started = 0.0

    @classmethod
    def from_parts(
        cls, parts: CampaignParts, tracking_uri: str, campaign: str, **kw: Any
    ) -> MlflowRecorder:
        tags = {
            f"perturbo.{k}": str(v)
            for k, v in parts.params.items()
            if k in ("screen", "study", "task")
        }
        kw.setdefault("tags", tags)
        kw.setdefault("planner", parts.planner)
        return cls(
            tracking_uri=tracking_uri,
            campaign=campaign,
            kind=parts.kind,
            config=dict(parts.config),
            params=dict(parts.params),
            objective=parts.objective,
            direction=parts.direction,
            objectives=tuple(parts.objectives),
            directions=tuple(parts.directions),
            **kw,
        )

    # -- helpers
    @property
    def client(self) -> MlflowClient:
        if self._client is None:
            self._client = _client(self.tracking_uri)
        return self._client

    @property
    def spool(self) -> Path:
        assert self.spool_dir is not None
        key = hashlib.sha1(self.tracking_uri.encode()).hexdigest()[:10]
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", self.campaign)
        return self.spool_dir / key / slug

    def ui_url(self) -> str:
        """Where this campaign's parent run is in a local ``mlflow ui`` (default port)."""
        return f"http://127.0.0.1:5000/#/experiments/{self.experiment_id}/runs/{self.run_id}"

    # -- Recorder protocol
    def start(self, meta: Mapping[str, Any] | None = None) -> None:
        """Create the experiment and the parent run (fresh), or reopen them (``resume``).

        ``meta`` values become parent-run tags (``perturbo.meta.<key>``): the pool, workers...
        A fresh start refuses a campaign name that already has recorded rounds.
        """
        c = self.client
        try:
            exp = c.get_experiment_by_name(self.campaign)
            if exp is not None and exp.lifecycle_stage == "deleted":
                raise PerturboError(
                    f"campaign {self.campaign!r} was deleted in {self.tracking_uri!r}: restore it "
                    "(`mlflow experiments restore`) or pick another --name"
                )
            parent = _find_parent(c, exp.experiment_id) if exp is not None else None
            if self.resume:
                if parent is None:
                    raise PerturboError(
                        f"no campaign named {self.campaign!r} in {self.tracking_uri!r}: "
                        "`perturbo show` lists the campaigns there"
                    )
                self.experiment_id, self.run_id = exp.experiment_id, parent.info.run_id
                c.update_run(self.run_id, status="RUNNING")
                # Params cannot change in MLflow; the config (e.g. more --rounds) can: rewrite it
                # so the next resume continues with what this one was asked to do.
                c.log_dict(self.run_id, _jsonable(self.config), CONFIG_FILE)
                changed = {
                    f"perturbo.resumed.{k}": v
                    for k, v in self.params.items()
                    if str(parent.data.params.get(k, v)) != str(v)[:_MAX_PARAM_LEN]
                }
                _log_batch(
                    c,
                    self.run_id,
                    tags={
                        "perturbo.resumes": str(
                            int(parent.data.tags.get("perturbo.resumes", "0")) + 1
                        ),
                        **changed,
                    },
                )
                self._series = self._load_series()
                self._drop_orphans()
            else:
                if parent is not None:
                    raise PerturboError(
                        f"campaign {self.campaign!r} already exists in {self.tracking_uri!r}: "
                        f"continue it with `perturbo resume {self.campaign}` or pick another --name"
                    )
                if exp is None:
                    exp_tags = {"perturbo.kind": self.kind.value, **self.tags}
                    self.experiment_id = c.create_experiment(
                        self.campaign,
                        artifact_location=_artifact_location(self.tracking_uri, self.campaign),
                        tags=exp_tags,
                    )
                else:
                    self.experiment_id = exp.experiment_id
                run = c.create_run(
                    self.experiment_id,
                    run_name=self.campaign,
                    tags={
                        ROLE: "campaign",
                        "perturbo.kind": self.kind.value,
                        "perturbo.nesting": str(self.nesting),
                        **self.tags,
                    },
                )
                self.run_id = run.info.run_id
                _log_batch(c, self.run_id, params=self.params)
                c.log_dict(self.run_id, _jsonable(self.config), CONFIG_FILE)
            meta_tags = {f"perturbo.meta.{k}": v for k, v in (meta or {}).items()}
            if meta_tags:
                _log_batch(c, self.run_id, tags=meta_tags)
        except PerturboError:
            raise
        except Exception as e:  # the store, not the user's input
            raise _wrap(self.tracking_uri, f"opening campaign {self.campaign!r}", e) from None
        self._started = time.monotonic()
        self._flush_spool()

    def record_round(
        self,
        round: int,
        observations: Sequence[Observation],
        metrics: Mapping[str, float],
        notes: Mapping[str, Any],
    ) -> None:
        obs = list(observations)
        try:
            with _ctrl_c_after_write():
                self._write_round(round, obs, metrics, notes)
        except Exception as e:
            path = self._spool_round(round, obs, metrics, notes)
            raise PerturboError(
                f"could not record round {round} in MLflow at {self.tracking_uri!r} "
                f"({str(e).splitlines()[0][:200] if str(e) else type(e).__name__}); its results "
                f"are saved in {str(path)!r}: fix the store, then `perturbo resume {self.campaign}` "
                "uploads them and continues"
            ) from None
        for k, v in metrics.items():
            self._series.setdefault(k, []).append((round, float(v)))

    def finish(self, history: Sequence[Observation], metrics: Mapping[str, float]) -> None:
        c = self.client
        try:
            final = [
                (f"final_{k}", v, 0)
                for k, v in metrics.items()
                if k not in self._series and _finite(v)
            ]
            final.append(
                (
                    "final_n_experiments",
                    float(sum(o.outcome.status is not Status.REJECTED for o in history)),
                    0,
                )
            )
            _log_batch(c, self.run_id, metrics=final, tags={"perturbo.stopped": "finished"})
            self._log_plots(history)
            self._log_pareto(history)
            c.set_terminated(self.run_id, status="FINISHED")
        except Exception as e:
            raise _wrap(self.tracking_uri, "finishing the campaign", e) from None

    def abort(
        self, status: Literal["KILLED", "FAILED"], reason: str, history: Sequence[Observation] = ()
    ) -> None:
        """End the parent run early; what was recorded stays and ``perturbo resume`` continues.
        Best effort: never raises (it runs while another error is on its way out)."""
        if not self.run_id:
            return
        try:
            _log_batch(self.client, self.run_id, tags={"perturbo.stopped": reason[:500]})
            if history:
                self._log_plots(history)
            self.client.set_terminated(self.run_id, status=status)
        except Exception:  # noqa: BLE001 - the store may be the reason we are here
            pass

    # -- writing one round
    def _write_round(
        self,
        round: int,
        obs: list[Observation],
        metrics: Mapping[str, float],
        notes: Mapping[str, Any],
    ) -> None:
        c = self.client
        step_metrics = [(k, float(v), round) for k, v in metrics.items() if _finite(float(v))]
        rationale = str(notes.get("rationale", "") or "")
        proposed_by = dict(notes.get("proposed_by", {}) or {})
        trace = self._agent_trace()
        if trace is not None:
            step_metrics += _trace_metrics(trace, round)
        trace_run = self.run_id
        with tempfile.TemporaryDirectory(prefix="perturbo-round-") as tmp:
            if self.nesting in ("round", "both"):
                trace_run = self._write_round_run(
                    round, obs, step_metrics, rationale, proposed_by, trace, Path(tmp)
                )
            if self.nesting in ("trial", "both"):
                self._write_trial_runs(round, obs)
                if rationale and self.nesting == "trial":
                    c.log_text(self.run_id, rationale, f"rationale/round-{round:03d}.txt")
                if trace is not None and self.nesting == "trial":
                    c.log_dict(self.run_id, trace, f"agent_traces/round-{round:03d}.json")
            if trace is not None:
                _log_llm_traces(c, self.experiment_id, trace_run, round, trace)
            _log_batch(c, self.run_id, metrics=step_metrics)
            # The commit point: a round is recorded iff its observations file is on the parent.
            f = Path(tmp) / f"round-{round:03d}.json"
            f.write_text(
                json.dumps(
                    {
                        "round": round,
                        "observations": [o.to_dict() for o in obs],
                        "metrics": dict(metrics),
                    }
                )
            )
            c.log_artifact(self.run_id, str(f), ROUNDS_DIR)

    def _write_round_run(
        self,
        round: int,
        obs: list[Observation],
        step_metrics: list[tuple[str, float, int]],
        rationale: str,
        proposed_by: Mapping[str, int],
        trace: Mapping[str, Any] | None,
        tmp: Path,
    ) -> str:
        c = self.client
        run = c.create_run(
            self.experiment_id,
            run_name=f"round-{round:03d}",
            tags={"mlflow.parentRunId": self.run_id, ROLE: "round", "perturbo.round": str(round)},
        )
        rid = run.info.run_id
        n_rej = sum(o.outcome.status is Status.REJECTED for o in obs)
        extra = [(f"proposed_by_{k}", float(v), round) for k, v in proposed_by.items()]
        extra += [("n_rejected", float(n_rej), round), ("n_ran", float(len(obs) - n_rej), round)]
        planners = ",".join(sorted(proposed_by)) or str(self.params.get("planner", ""))
        _log_batch(
            c,
            rid,
            metrics=step_metrics + extra,
            params={"round": round, "planner": planners, "batch": len(obs)},
        )
        d = tmp / "round"
        d.mkdir()
        table = observations_table(obs)
        table.to_csv(d / "results.csv", index=False)
        if rationale:
            (d / "rationale.txt").write_text(rationale)
        if trace is not None:
            (d / "agent_trace.json").write_text(json.dumps(trace, indent=1, default=str))
        c.log_artifacts(rid, str(d))
        # The UI's table view (Evaluation / artifact preview) reads log_table's JSON.
        with warnings.catch_warnings():  # pandas 3 deprecation inside mlflow's log_table
            warnings.simplefilter("ignore")
            c.log_table(rid, data=table, artifact_file="results.json")
        c.set_terminated(rid, status="FINISHED")
        return rid

    def _agent_trace(self) -> dict[str, Any] | None:
        trace = getattr(self.planner, "last_trace", None)
        to_dict = getattr(trace, "to_dict", None)
        return _jsonable(to_dict()) if callable(to_dict) else None

    def _write_trial_runs(self, round: int, obs: list[Observation]) -> None:
        c = self.client
        key = self.objective or "value"
        for o in obs:
            st = o.outcome.status
            run = c.create_run(
                self.experiment_id,
                run_name=f"trial-{o.spec.id}",
                tags={
                    "mlflow.parentRunId": self.run_id,
                    ROLE: "trial",
                    "perturbo.round": str(round),
                    "perturbo.id": o.spec.id,
                    "perturbo.status": st.value,
                    "perturbo.planner": o.spec.planner,
                    **({"perturbo.error": o.outcome.error} if o.outcome.error else {}),
                    **({"perturbo.note": o.spec.note} if o.spec.note else {}),
                },
            )
            ms = [(k, float(v), 0) for k, v in o.outcome.metrics.items() if _finite(float(v))]
            ms += [
                (key + "_epoch" if key in o.outcome.metrics else key, float(v), i)
                for i, v in enumerate(o.outcome.intermediate)
                if _finite(float(v))
            ]
            ms.append(("duration_s", float(o.outcome.duration_s), 0))
            _log_batch(
                c,
                run.info.run_id,
                metrics=ms,
                params={
                    **{str(k): v for k, v in o.spec.params.items()},
                    "planner": o.spec.planner or str(self.params.get("planner", "")),
                },
            )
            status = {Status.COMPLETED: "FINISHED", Status.PRUNED: "KILLED"}.get(st, "FAILED")
            c.set_terminated(run.info.run_id, status=status)

    def _log_plots(self, history: Sequence[Observation]) -> None:
        data = PlotData(
            self.campaign,
            list(history),
            dict(self._series),
            self.objective,
            self.direction,
            tuple(self.objectives),
            tuple(self.directions),
        )
        with tempfile.TemporaryDirectory(prefix="perturbo-plots-") as tmp:
            wrote = False
            for plotter in self.plotters or ():
                for name, fig in plotter(data).items():
                    save_png(fig, str(Path(tmp) / name))
                    wrote = True
            if wrote:
                self.client.log_artifacts(self.run_id, tmp, "plots")

    def _log_pareto(self, history: Sequence[Observation]) -> None:
        """Several objectives: the completed trials none beats on all of them, as
        ``pareto_front.json`` (ids, params, objective values) and ``pareto_front.csv``."""
        if len(self.objectives) < 2:
            return
        import csv
        import io

        from perturbo.search.objective import pareto_set

        front = pareto_set(history, self.objectives, self.directions)
        rows = [
            {
                "id": o.spec.id,
                "params": _jsonable(dict(o.spec.params)),
                "values": {n: float(o.outcome.metrics[n]) for n in self.objectives},
            }
            for o in front
        ]
        self.client.log_dict(
            self.run_id,
            {
                "objectives": list(self.objectives),
                "directions": list(self.directions),
                "trials": rows,
            },
            PARETO_FILE,
        )
        names = sorted({k for r in rows for k in r["params"]})
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["id", *self.objectives, *names])
        for r in rows:
            w.writerow(
                [
                    r["id"],
                    *(r["values"][n] for n in self.objectives),
                    *(r["params"].get(k, "") for k in names),
                ]
            )
        self.client.log_text(self.run_id, buf.getvalue(), PARETO_FILE.replace(".json", ".csv"))

    # -- resume helpers
    def _load_series(self) -> dict[str, list[tuple[int, float]]]:
        run = self.client.get_run(self.run_id)
        out: dict[str, list[tuple[int, float]]] = {}
        for k in run.data.metrics:
            if k.startswith("final_"):
                continue
            hist = self.client.get_metric_history(self.run_id, k)
            pts = sorted({m.step: m.value for m in hist}.items())
            out[k] = [(int(s), float(v)) for s, v in pts]
        return out

    def _drop_orphans(self) -> None:
        """Nested runs of a round that never reached its commit point (a crash while writing)
        would show twice after the round is re-run: delete them."""
        recorded = {int(n) for n in _recorded_rounds(self.client, self.run_id)}
        runs = self.client.search_runs(
            [self.experiment_id],
            filter_string=f"tags.`mlflow.parentRunId` = '{self.run_id}'",
            max_results=50000,
        )
        for r in runs:
            rnd = r.data.tags.get("perturbo.round")
            if rnd is not None and int(rnd) not in recorded:
                self.client.delete_run(r.info.run_id)

    # -- the spool
    def _spool_round(
        self,
        round: int,
        obs: list[Observation],
        metrics: Mapping[str, float],
        notes: Mapping[str, Any],
    ) -> Path:
        self.spool.mkdir(parents=True, exist_ok=True)
        path = self.spool / f"round-{round:03d}.json"
        path.write_text(
            json.dumps(
                {
                    "round": round,
                    "observations": [o.to_dict() for o in obs],
                    "metrics": dict(metrics),
                    "notes": _jsonable(dict(notes)),
                    "config": _jsonable(dict(self.config)),
                }
            )
        )
        return path

    def _flush_spool(self) -> None:
        """Upload rounds saved while the store was down (on resume), then remove them."""
        if not self.spool.is_dir():
            return
        recorded = set(_recorded_rounds(self.client, self.run_id))
        for path in sorted(self.spool.glob("round-*.json")):
            d = json.loads(path.read_text())
            rnd = int(d["round"])
            if rnd not in recorded:
                obs = [Observation.from_dict(x) for x in d["observations"]]
                self.record_round(rnd, obs, d["metrics"], d.get("notes", {}))
            path.unlink()


def _trace_metrics(trace: Mapping[str, Any], round: int) -> list[tuple[str, float, int]]:
    """An agent round's headline numbers, as step=round metrics."""
    keys = {
        "validity": "agent_validity",
        "validity_first": "agent_validity_first",
        "repairs": "agent_repairs",
        "tokens": "agent_tokens",
        "seconds": "agent_s",
    }
    out = []
    for k, name in keys.items():
        v = trace.get(k)
        if isinstance(v, int | float) and _finite(float(v)):
            out.append((name, float(v), round))
    out += [(f"agent_by_{k}", float(v), round) for k, v in dict(trace.get("by_source", {})).items()]
    return out


def _log_llm_traces(
    client: MlflowClient, experiment_id: str, run_id: str, round: int, trace: Mapping[str, Any]
) -> None:
    """The round's LLM calls as an MLflow trace (the UI's Traces tab): one AGENT span for the
    round, one CHAT_MODEL span per call with prompt, answers, validation errors fed back,
    tokens and latency. Best effort: the same content is in ``agent_trace.json`` already."""
    import mlflow

    # The tracing exporter writes to the *global* tracking URI, not the client's.
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(client.tracking_uri)
    try:
        end = time.time_ns()
        calls = list(trace.get("calls", []))
        total = sum(float(cl.get("seconds", 0.0)) for cl in calls)
        t = end - int(max(total, float(trace.get("seconds", 0.0))) * 1e9)
        root = client.start_trace(
            f"round-{round:03d} {trace.get('planner', 'agent')}",
            span_type="AGENT",
            inputs={"round": round, "n_requested": trace.get("n_requested")},
            experiment_id=experiment_id,
            run_id=run_id,
            start_time_ns=t,
            tags={"perturbo.round": str(round)},
        )
        for cl in calls:
            dt = int(float(cl.get("seconds", 0.0)) * 1e9)
            span = client.start_span(
                str(cl.get("name", "llm")),
                trace_id=root.trace_id,
                parent_id=root.span_id,
                span_type="CHAT_MODEL",
                inputs={"prompt": cl.get("prompt", "")},
                start_time_ns=t,
                attributes={k: cl.get(k) for k in ("input_tokens", "output_tokens", "repairs")},
            )
            t += dt
            client.end_span(
                root.trace_id,
                span.span_id,
                outputs={"answers": cl.get("answers", []), "errors": cl.get("errors", [])},
                attributes={"failure": cl.get("failure", "")},
                status="OK" if cl.get("ok") else "ERROR",
                end_time_ns=t,
            )
        client.end_trace(
            root.trace_id,
            outputs={k: trace.get(k) for k in ("by_source", "validity", "repairs", "rationale")},
            end_time_ns=max(t, end),
        )
    except Exception as e:  # noqa: BLE001 - tracing must never cost a round
        warnings.warn(
            f"MLflow tracing of round {round} failed ({e}); see agent_trace.json", stacklevel=2
        )
    finally:
        mlflow.set_tracking_uri(previous)


@contextlib.contextmanager
def _ctrl_c_after_write() -> Iterator[None]:
    """Hold a Ctrl-C that arrives while a round is being written until the write is done, so
    a round is either recorded whole or not at all (then it simply runs again on resume)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pressed: list[Any] = []
    previous = signal.signal(signal.SIGINT, lambda *a: pressed.append(a))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if pressed:
        raise KeyboardInterrupt


def _jsonable(x: Any) -> Any:
    return json.loads(json.dumps(x, default=str))


def _recorded_rounds(client: MlflowClient, run_id: str) -> list[int]:
    names = [Path(f.path).name for f in client.list_artifacts(run_id, ROUNDS_DIR)]
    return sorted(
        int(n[len("round-") : -len(".json")])
        for n in names
        if n.startswith("round-") and n.endswith(".json")
    )


# --------------------------------------------------------------------------- reading back


def _open_campaign(uri: str, campaign: str) -> tuple[MlflowClient, Any]:
    if not _store_exists(uri):
        raise PerturboError(
            f"no campaign named {campaign!r}: the tracking store {uri!r} does not exist yet; "
            "pass the --tracking-uri the campaign ran with"
        )
    c = _client(uri)
    try:
        exp = c.get_experiment_by_name(campaign)
        parent = _find_parent(c, exp.experiment_id) if exp is not None else None
    except Exception as e:
        raise _wrap(uri, f"looking up campaign {campaign!r}", e) from None
    if parent is None:
        raise PerturboError(
            f"no campaign named {campaign!r} in {uri!r}: `perturbo show` lists the campaigns there"
        )
    return c, parent


def _download(c: MlflowClient, run_id: str, path: str, dst: str) -> Path:
    return Path(c.download_artifacts(run_id, path, dst))


def load_history(
    tracking_uri: str, campaign: str, spool_dir: Path | None = None
) -> tuple[dict[str, Any], History]:
    """The campaign's logged config and its observations, exactly as recorded (plus any rounds
    spooled locally while the store was unreachable), in round order."""
    c, parent = _open_campaign(tracking_uri, campaign)
    rounds: dict[int, list[Observation]] = {}
    with tempfile.TemporaryDirectory(prefix="perturbo-load-") as tmp:
        try:
            config = json.loads(_download(c, parent.info.run_id, CONFIG_FILE, tmp).read_text())
            if _recorded_rounds(c, parent.info.run_id):
                d = _download(c, parent.info.run_id, ROUNDS_DIR, tmp)
                for f in sorted(d.glob("round-*.json")):
                    data = json.loads(f.read_text())
                    rounds[int(data["round"])] = [
                        Observation.from_dict(x) for x in data["observations"]
                    ]
        except Exception as e:
            raise _wrap(tracking_uri, f"reading campaign {campaign!r}", e) from None
    rec = MlflowRecorder(
        tracking_uri, campaign, Kind(config.get("kind", "genetic")), config, spool_dir=spool_dir
    )
    if rec.spool.is_dir():
        for f in sorted(rec.spool.glob("round-*.json")):
            data = json.loads(f.read_text())
            rounds.setdefault(
                int(data["round"]), [Observation.from_dict(x) for x in data["observations"]]
            )
    history = History([o for r in sorted(rounds) for o in rounds[r]])
    return config, history


def load_past_labels(
    tracking_uri: str,
    exclude_campaign: str | None = None,
    exclude_screens: Sequence[str] = (),
    exclude_studies: Sequence[str] = (),
) -> list[dict[str, bool]]:
    """Gene -> hit of every earlier genetic campaign in the store ("learn from what this lab
    already measured"), one dict per campaign. Campaigns on an excluded screen or study
    (the screen being run and its siblings) are left out. An absent store gives ``[]``."""
    if not _store_exists(tracking_uri):
        return []
    c = _client(tracking_uri)
    try:
        exps = c.search_experiments(filter_string="tags.`perturbo.kind` = 'genetic'")
    except Exception as e:
        raise _wrap(tracking_uri, "listing earlier campaigns", e) from None
    skip_screens = {s.upper() for s in exclude_screens}
    skip_studies = {s.upper() for s in exclude_studies if s}
    out: list[dict[str, bool]] = []
    for exp in exps:
        if exp.name == exclude_campaign:
            continue
        if exp.tags.get("perturbo.screen", "").upper() in skip_screens:
            continue
        if exp.tags.get("perturbo.study", "").upper() in skip_studies:
            continue
        try:
            _, hist = load_history(tracking_uri, exp.name)
        except PerturboError:
            continue  # an experiment without a recorded campaign: nothing to learn from
        labels = {
            str(o.spec.params.get("gene")): o.outcome.value("hit") > 0.5
            for o in hist
            if o.outcome.ok and "gene" in o.spec.params
        }
        if labels:
            out.append(labels)
    return out


@dataclass(frozen=True)
class CampaignSummary:
    """One line of ``perturbo show``."""

    name: str
    kind: str
    status: str
    rounds: int
    started: float
    params: Mapping[str, str]
    metrics: Mapping[str, float]


def list_campaigns(tracking_uri: str) -> list[CampaignSummary]:
    if not _store_exists(tracking_uri):
        return []
    c = _client(tracking_uri)
    try:
        runs = []
        exps = c.search_experiments()
        ids = [e.experiment_id for e in exps]
        if ids:
            runs = c.search_runs(
                ids,
                filter_string=f"tags.`{ROLE}` = 'campaign'",
                order_by=["start_time DESC"],
                max_results=1000,
            )
    except Exception as e:
        raise _wrap(tracking_uri, "listing campaigns", e) from None
    names = {e.experiment_id: e.name for e in exps}
    out = []
    for r in runs:
        out.append(
            CampaignSummary(
                name=names.get(r.info.experiment_id, r.info.run_name),
                kind=r.data.tags.get("perturbo.kind", ""),
                status=r.info.status,
                rounds=len(_recorded_rounds(c, r.info.run_id)),
                started=r.info.start_time / 1000.0,
                params=dict(r.data.params),
                metrics=dict(r.data.metrics),
            )
        )
    return out


def round_metrics(
    tracking_uri: str, campaign: str
) -> tuple[CampaignSummary, dict[int, dict[str, float]]]:
    """A campaign's summary and its metrics per round (from the parent run's step=round values)."""
    c, parent = _open_campaign(tracking_uri, campaign)
    rec = MlflowRecorder(
        tracking_uri, campaign, Kind(parent.data.tags.get("perturbo.kind", "genetic")), {}
    )
    rec._client, rec.run_id = c, parent.info.run_id
    try:
        series = rec._load_series()
        n_rounds = len(_recorded_rounds(c, parent.info.run_id))
    except Exception as e:
        raise _wrap(tracking_uri, f"reading campaign {campaign!r}", e) from None
    rows: dict[int, dict[str, float]] = {}
    for k, pts in series.items():
        for step, v in pts:
            rows.setdefault(step, {})[k] = v
    params = dict(parent.data.params)
    params.update(
        {
            k[len("perturbo.resumed.") :]: v
            for k, v in parent.data.tags.items()
            if k.startswith("perturbo.resumed.")
        }
    )
    summary = CampaignSummary(
        campaign,
        rec.kind.value,
        parent.info.status,
        n_rounds,
        parent.info.start_time / 1000.0,
        params,
        dict(parent.data.metrics),
    )
    # final-only metrics (n_experiments...) are logged at step 0; keep rows to recorded rounds
    return summary, {r: rows[r] for r in sorted(rows) if r < n_rounds or n_rounds == 0}
