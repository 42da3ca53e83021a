"""The read side of the store: :class:`MlflowStore` implements
:class:`perturbo.protocols.StoreReader` on MLflow (``perturbo show``, ``resume``, priors that
learn from earlier campaigns, the chat agent).

It reads the layout in :mod:`perturbo.tracking.layout` and nothing else, so campaigns
recorded by any earlier perturbo read back. The helpers at the bottom (``find_parent``,
``recorded_rounds``, ``load_series``) are the ones the writer reopens a campaign with.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from perturbo.history import History
from perturbo.tracking import integrity
from perturbo.tracking.claim import CLAIM_PREFIX
from perturbo.tracking.corrections_read import CORRECTIONS_TAG, corrected, read_corrections
from perturbo.tracking.layout import (
    AGENT_TRACE_FILE,
    AGENT_TRACES_DIR,
    CONFIG_FILE,
    FINAL_PREFIX,
    KIND_TAG,
    RESUMED_PREFIX,
    ROLE,
    ROUND_TAG,
    ROUNDS_DIR,
    TAG_PREFIX,
    round_base,
    round_of,
)
from perturbo.tracking.run_listing import PAGE as _PAGE
from perturbo.tracking.run_listing import _pages, _walk, nested_runs
from perturbo.tracking.server_files import files_on_server, files_on_server_error
from perturbo.tracking.spool import Spool
from perturbo.tracking.uri import make_client, store_exists, unknown_campaign, wrap_error
from perturbo.types import CampaignSummary, Observation, PerturboError

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities import Experiment, Run

T = TypeVar("T")


class MlflowStore:
    """A campaign store on MLflow at ``uri`` (read only). ``spool_dir``: where the writer
    keeps rounds the store refused (default beside a sqlite store); they count as recorded.

    Nothing is created by reading: an absent sqlite file lists no campaigns."""

    def __init__(self, uri: str, spool_dir: str | Path | None = None) -> None:
        self.uri = uri
        self.spool_dir = Path(spool_dir) if spool_dir else None
        self._client: MlflowClient | None = None

    def __repr__(self) -> str:
        return f"MlflowStore({self.uri!r})"

    @property
    def client(self) -> MlflowClient:
        if self._client is None:
            self._client = make_client(self.uri)
        return self._client

    # -- StoreReader
    def exists(self) -> bool:
        """Whether the store is there at all (a sqlite file not yet written is not)."""
        return store_exists(self.uri)

    def list_campaigns(self, kind: str | None = None) -> list[CampaignSummary]:
        """Every campaign (of ``kind``), newest first."""
        if not store_exists(self.uri):
            return []
        experiments, parents = self._call("listing campaigns", self._all_parents)
        out = []
        for run in parents:
            exp = experiments.get(run.info.experiment_id)
            if exp is None:
                continue
            s = self._call(
                f"reading campaign {exp.name!r}", lambda e=exp, r=run: self._summary(e, r)
            )
            if kind is None or s.kind == kind:
                out.append(s)
        return out

    def summary(self, campaign: str) -> CampaignSummary:
        exp, parent = self._open(campaign)
        return self._call(f"reading campaign {campaign!r}", lambda: self._summary(exp, parent))

    def best_marks(self, campaign: str) -> dict[str, str]:
        """What the recorder marked best on the parent run when the campaign ended:
        ``perturbo.best.*`` (id, value, params as JSON, round, round_metric) and the
        ``perturbo.objective``/``perturbo.direction`` they refer to; empty before that."""
        _, parent = self._open(campaign)
        keep = ("perturbo.best.", "perturbo.objective", "perturbo.direction")
        return {k: v for k, v in parent.data.tags.items() if k.startswith(keep)}

    def config(self, campaign: str) -> dict[str, Any]:
        """The config the campaign was built from (what ``resume`` rebuilds it with)."""
        _, parent = self._open(campaign)
        self._reachable(campaign, parent)

        def read(tmp: Path) -> dict[str, Any]:
            try:
                text = self._fetch(parent, CONFIG_FILE, tmp).read_text()
            except Exception:
                if not integrity.has_file(self.client, parent.info.run_id, CONFIG_FILE):
                    raise integrity.missing_config(campaign, parent.info.run_id) from None
                raise
            try:
                return dict(json.loads(text))
            except (ValueError, TypeError) as e:
                raise integrity.damaged_file(campaign, parent.info.run_id, CONFIG_FILE, e) from None

        return self._in_tmp(f"reading the config of campaign {campaign!r}", read)

    def history(self, campaign: str, raw: bool = False) -> History:
        """Its observations in round order, plus any rounds spooled locally while the store
        refused them; rounds in the loop's numbering (0-based) whichever numbering the store
        holds them in. Corrected results carry their corrected values (``raw``: exactly as
        recorded, what the lab loop replays: :mod:`perturbo.tracking.corrections_read`)."""
        _, parent = self._open(campaign)
        self._reachable(campaign, parent)
        rounds = self._in_tmp(
            f"reading the rounds of campaign {campaign!r}", lambda tmp: self._rounds(parent, tmp)
        )
        for spooled in Spool(self.uri, campaign, self.spool_dir).rounds():
            rounds.setdefault(spooled.round, spooled.observations)
        history = History([o for r in sorted(rounds) for o in rounds[r]])
        if raw or CORRECTIONS_TAG not in parent.data.tags:
            return history
        return corrected(history, read_corrections(self.client, parent.info.run_id))

    def round_metrics(self, campaign: str) -> dict[int, dict[str, float]]:
        """Metrics per recorded round (the loop's round, 0-based -> name -> value), from the
        parent run's step=round values."""
        _, parent = self._open(campaign)

        def read() -> dict[int, dict[str, float]]:
            base = round_base(parent.data.tags)
            series = load_series(self.client, parent.info.run_id, base)
            done = {r - base for r in self._recorded(parent)}
            rows: dict[int, dict[str, float]] = {}
            for k, pts in series.items():
                for step, v in pts:
                    rows.setdefault(step, {})[k] = v
            return {r: rows[r] for r in sorted(rows) if r in done or not done}

        return self._call(f"reading the metrics of campaign {campaign!r}", read)

    def artifacts(self, campaign: str, path: str = "") -> list[str]:
        """Artifact file paths of the campaign's parent run under ``path`` (recursive), sorted."""
        _, parent = self._open(campaign)
        self._reachable(campaign, parent)
        return self._call(
            f"listing the artifacts of campaign {campaign!r}",
            lambda: sorted(_walk(self.client, parent.info.run_id, path)),
        )

    def download(self, campaign: str, path: str, dst: str | Path) -> Path:
        """Fetch one artifact (or folder) of the parent run into ``dst``; returns its path."""
        _, parent = self._open(campaign)
        self._reachable(campaign, parent)
        Path(dst).mkdir(parents=True, exist_ok=True)
        return self._call(
            f"downloading {path!r} of campaign {campaign!r}",
            lambda: self._fetch(parent, path, Path(dst)),
        )

    def traces(self, campaign: str) -> list[dict[str, Any]]:
        """The LLM agents' per-round traces (prompts, answers, repairs, tokens) of recorded
        rounds, oldest first; each has its ``round``. Read from the nested round runs'
        ``agent_trace.json`` or, without round runs, the parent's ``agent_traces/``."""
        exp, parent = self._open(campaign)
        self._reachable(campaign, parent)
        return self._in_tmp(
            f"reading the agent traces of campaign {campaign!r}",
            lambda tmp: self._traces(exp, parent, tmp),
        )

    def earlier(
        self, kind: str, exclude: Sequence[str] = ()
    ) -> Iterator[tuple[CampaignSummary, History]]:
        """Campaigns of ``kind`` (all but the names in ``exclude``), newest first, with their
        histories: what a prior that learns from this lab's past reads."""
        skip = set(exclude)
        for s in self.list_campaigns(kind):
            if s.name not in skip:
                yield s, self.history(s.name)

    def parent_run_id(self, campaign: str) -> str:
        """The MLflow run id of the campaign's parent run (what ``perturbo stop`` writes on)."""
        return self._open(campaign)[1].info.run_id

    # -- reading
    def _open(self, campaign: str) -> tuple[Experiment, Run]:
        """The campaign's experiment and parent run, or one clear error."""
        if not store_exists(self.uri):
            raise unknown_campaign(self.uri, campaign)

        def look() -> tuple[Experiment | None, Run | None]:
            exp = self.client.get_experiment_by_name(campaign)
            if exp is None or exp.lifecycle_stage == "deleted":
                return exp, None
            return exp, find_parent(self.client, exp.experiment_id)

        exp, parent = self._call(f"looking up campaign {campaign!r}", look)
        if exp is not None and exp.lifecycle_stage == "deleted":
            raise PerturboError(
                f"campaign {campaign!r} was deleted in {self.uri!r}: restore it "
                "(`mlflow experiments restore`) to read it"
            )
        if exp is None or parent is None:
            raise unknown_campaign(self.uri, campaign)
        return exp, parent

    def _all_parents(self) -> tuple[dict[str, Experiment], list[Run]]:
        c = self.client
        exps = {
            e.experiment_id: e for e in _pages(lambda tok: c.search_experiments(page_token=tok))
        }
        if not exps:
            return exps, []
        parents = _pages(
            lambda tok: c.search_runs(
                list(exps),
                filter_string=f"tags.`{ROLE}` = 'campaign'",
                order_by=["start_time DESC"],
                max_results=_PAGE,
                page_token=tok,
            )
        )
        return exps, parents

    def _summary(self, exp: Experiment, parent: Run) -> CampaignSummary:
        tags = dict(parent.data.tags)
        params = {k: v for k, v in parent.data.params.items() if not k.startswith(CLAIM_PREFIX)}
        params.update(
            {k[len(RESUMED_PREFIX) :]: v for k, v in tags.items() if k.startswith(RESUMED_PREFIX)}
        )
        return CampaignSummary(
            name=exp.name,
            kind=tags.get(KIND_TAG) or exp.tags.get(KIND_TAG, ""),
            status=parent.info.status,
            rounds=len(self._recorded(parent)),
            started=parent.info.start_time / 1000.0,
            params=params,
            metrics=dict(parent.data.metrics),
            tags={k: v for k, v in exp.tags.items() if k.startswith(TAG_PREFIX)},
            run_tags={k: v for k, v in tags.items() if k.startswith(TAG_PREFIX)},
        )

    def _rounds(self, parent: Run, tmp: Path) -> dict[int, list[Observation]]:
        rounds: dict[int, list[Observation]] = {}
        if not recorded_rounds(self.client, parent.info.run_id):
            return rounds
        base = round_base(parent.data.tags)
        folder = self._fetch(parent, ROUNDS_DIR, tmp)
        for f in sorted(folder.glob("round-*.json")):
            try:  # a truncated file is named, not blamed on the server
                data = json.loads(f.read_text())
                obs = [Observation.from_dict(x) for x in data["observations"]]
                rounds[int(data["round"]) - base] = unstored(obs, base)
            except (ValueError, KeyError, TypeError) as e:
                path = f"{ROUNDS_DIR}/{f.name}"
                raise integrity.damaged_file(
                    parent.info.run_name, parent.info.run_id, path, e
                ) from None
        return rounds

    def _traces(self, exp: Experiment, parent: Run, tmp: Path) -> list[dict[str, Any]]:
        c, run_id = self.client, parent.info.run_id
        base = round_base(parent.data.tags)
        recorded = set(recorded_rounds(c, run_id))
        found: dict[int, dict[str, Any]] = {}
        for f in c.list_artifacts(run_id, AGENT_TRACES_DIR):
            rnd = round_of(Path(f.path).name)
            if rnd is not None and rnd in recorded and not f.is_dir:
                found[rnd] = _read_json(c, run_id, f.path, tmp / f"p{rnd}")
        for r in nested_runs(c, exp.experiment_id, run_id, role="round"):
            rnd = int(r.data.tags.get(ROUND_TAG, -1))
            if rnd in recorded and rnd not in found:
                names = {Path(f.path).name for f in c.list_artifacts(r.info.run_id)}
                if AGENT_TRACE_FILE in names:
                    found[rnd] = _read_json(c, r.info.run_id, AGENT_TRACE_FILE, tmp / f"r{rnd}")
        return [{**found[rnd], "round": rnd - base} for rnd in sorted(found)]

    def _recorded(self, parent: Run) -> list[int]:
        """Recorded rounds; files on an unreached server: the steps of its metrics."""
        run_id = parent.info.run_id
        if not files_on_server(self.uri, parent.info.artifact_uri):
            return recorded_rounds(self.client, run_id)
        return sorted({s for pts in load_series(self.client, run_id).values() for s, _ in pts})

    def _reachable(self, campaign: str, parent: Run) -> None:
        if files_on_server(self.uri, parent.info.artifact_uri):
            raise files_on_server_error(self.uri, campaign)

    def _fetch(self, parent: Run, path: str, dst: Path) -> Path:
        return Path(self.client.download_artifacts(parent.info.run_id, path, str(dst)))

    def _in_tmp(self, what: str, fn: Callable[[Path], T]) -> T:
        with tempfile.TemporaryDirectory(prefix="perturbo-read-") as tmp:
            return self._call(what, lambda: fn(Path(tmp)))

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        """``fn()``, with a store failure wrapped into one clear error naming the URI."""
        try:
            return fn()
        except PerturboError:
            raise
        except Exception as e:  # the store, not the user's input
            raise wrap_error(self.uri, what, e) from None


def open_store(uri: str, spool_dir: str | Path | None = None) -> MlflowStore:
    """The campaign store at ``uri`` (read side)."""
    return MlflowStore(uri, spool_dir)


# --------------------------------------------------------------------------- shared helpers


def find_parent(client: MlflowClient, experiment_id: str) -> Run | None:
    """The campaign's parent run in its experiment (the first one, if ever two)."""
    runs = client.search_runs(
        [experiment_id],
        filter_string=f"tags.`{ROLE}` = 'campaign'",
        order_by=["start_time ASC"],
        max_results=5,
    )
    return runs[0] if runs else None


def recorded_rounds(client: MlflowClient, run_id: str) -> list[int]:
    """The rounds whose observations file is on the parent run (the commit point), sorted."""
    names = [Path(f.path).name for f in client.list_artifacts(run_id, ROUNDS_DIR)]
    return sorted(r for n in names if n.endswith(".json") and (r := round_of(n)) is not None)


def unstored(obs: list[Observation], base: int) -> list[Observation]:
    """Observations read from the store, their rounds back in the loop's numbering."""
    if not base:
        return obs
    return [Observation(replace(o.spec, round=o.spec.round - base), o.outcome) for o in obs]


def load_series(
    client: MlflowClient, run_id: str, base: int = 0
) -> dict[str, list[tuple[int, float]]]:
    """Every per-round metric of the parent run as (round, value) points, in round order
    (``final_*`` left out; the last value logged at a step wins); rounds in the loop's
    numbering where ``base`` is the campaign's :func:`round_base`, else as stored."""
    run = client.get_run(run_id)
    out: dict[str, list[tuple[int, float]]] = {}
    for k in run.data.metrics:
        if k.startswith(FINAL_PREFIX):
            continue
        hist = sorted(client.get_metric_history(run_id, k), key=lambda m: (m.timestamp, m.step))
        pts = sorted({m.step: m.value for m in hist}.items())
        out[k] = [(int(s) - base, float(v)) for s, v in pts]
    return out


def _read_json(client: MlflowClient, run_id: str, path: str, dst: Path) -> dict[str, Any]:
    dst.mkdir(parents=True, exist_ok=True)
    return dict(json.loads(Path(client.download_artifacts(run_id, path, str(dst))).read_text()))
