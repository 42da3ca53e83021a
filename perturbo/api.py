"""The Python API of any kind: :func:`run_campaign` and :func:`resume_campaign` do exactly what
``perturbo run KIND`` and ``perturbo resume`` do (the same settings, validated the same way,
recorded the same way). Kinds add sugar of their own (``perturbo.Campaign`` for a search
over a Python function's parameters).

    from perturbo.api import run_campaign
    history = run_campaign(KIND, planner="bo", batch=8, local=True, **kind_settings)

A lab campaign (``perturbo run KIND --lab ...``) is driven from Python as from the CLI's
``perturbo ask`` / ``perturbo tell``, through :func:`open_campaign`:

    from perturbo import open_campaign
    screen = open_campaign("my-screen", tracking_uri="sqlite:///mlflow.db")
    batch = screen.pending()                  # the batch sheet (pandas), or None
    next_batch = screen.tell(results_df)      # record once, get the next batch's sheet

A trial-by-trial campaign (``perturbo run hyperparameter --lab``) opens as a
:class:`TrialsCampaign`: ``study.ask()`` (one trial; ``ask(n)``, ``ask(stale_after="2h")``),
``study.tell(trial_id, value)`` and ``study.open()``, Optuna's ask/tell with the study in the
store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

from perturbo.history import History


def run_campaign(
    kind: str,
    *,
    name: str | None = None,
    tracking_uri: str | None = None,
    local: bool = False,
    address: str | None = None,
    workers: int | None = None,
    progress: bool = False,
    **settings: Any,
) -> History:
    """Run a new campaign of ``kind`` exactly as ``perturbo run KIND`` does: ``settings`` are
    the flags with underscores (``planner``, ``batch``, ``seed`` and the kind's own), validated
    the same way; recorded in MLflow (``tracking_uri``, default ``./mlflow.db``)."""
    from perturbo import kinds
    from perturbo.config import RunOptions, build_model
    from perturbo.launch import launch

    options = RunOptions(
        name=name,
        tracking_uri=tracking_uri,
        local=local,
        address=address,
        workers=workers,
        progress=progress,
    )
    spec = kinds.get(kind)
    config = build_model(spec.config_model, settings).model_dump()
    return launch(spec, config, options)


def resume_campaign(
    name: str,
    *,
    tracking_uri: str | None = None,
    local: bool = False,
    address: str | None = None,
    workers: int | None = None,
    progress: bool = False,
    **overrides: Any,
) -> History:
    """Continue campaign ``name`` from what MLflow recorded, as ``perturbo resume`` does
    (``overrides``: e.g. ``rounds=8`` to extend a campaign whose kind budgets by rounds)."""
    from perturbo import kinds
    from perturbo.config import RunOptions
    from perturbo.launch import resume

    options = RunOptions(
        tracking_uri=tracking_uri, local=local, address=address, workers=workers, progress=progress
    )
    return resume(name, options, overrides, spec_of=kinds.get)


# ---------------------------------------------------------------------- lab campaigns


def _kind_of(name: str) -> Any:
    from perturbo import kinds

    return kinds.get(name)


def _sheet_frame(rows: list[dict[str, str]]) -> pd.DataFrame:
    """A batch sheet's rows as the CSV a lab downloads would read (numbers as numbers)."""
    import csv
    import io

    import pandas as pd

    if not rows:
        return pd.DataFrame()
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    buf.seek(0)
    return pd.read_csv(buf)


class LabCampaign:
    """A lab campaign in the store: its pending batch, and telling it what the lab measured.

    Every call opens the campaign from the store, as ``perturbo ask`` / ``perturbo tell`` do (no
    state is kept here between calls; another computer may tell in between). ``name`` is the
    campaign's full name; ``tracking_uri`` its store."""

    def __init__(self, name: str, tracking_uri: str) -> None:
        self.name = name
        self.tracking_uri = tracking_uri
        self.lines: list[str] = []
        """What the last call said (recorded, waiting, finished), as the CLI prints it."""

    def __repr__(self) -> str:
        return f"LabCampaign({self.name!r}, {self.status!r})"

    def _step(self) -> Any:
        from perturbo import lab

        step = lab.ask(_kind_of, self.tracking_uri, self.name)
        self.lines = list(step.lines)
        return step

    @property
    def status(self) -> str:
        """ "waiting for results of round 2: 128 genes, proposed DATE" or "finished"."""
        step = self._step()
        return step.pending.line() if step.pending is not None else "finished"

    def pending(self) -> pd.DataFrame | None:
        """The pending batch's sheet (``Round``, ``Rank``, ``Gene``, ``P_hit``, ``P_hit_sd``,
        ``Why``, ``Guides`` and the library's guide columns; controls last, with no rank), or
        None once the campaign finished."""
        step = self._step()
        return None if step.pending is None else _sheet_frame(step.sheet)

    def waiting(self) -> list[dict[str, Any]]:
        """The pending experiments with no result yet (their parameters: ``{"gene": ...}``)."""
        step = self._step()
        return [] if step.pending is None else [dict(s.params) for s in step.pending.waiting]

    def tell(
        self,
        results: pd.DataFrame | str,
        next_batch: int | None = None,
        *,
        drop_failed: bool = False,
    ) -> pd.DataFrame | None:
        """Record what the lab measured (a DataFrame with ``Gene``, ``Score``, optional ``Hit``
        and replicate columns, or the path of such a CSV) exactly once, as ``perturbo tell``
        does, and return the next batch's sheet (None once the campaign finished). Partial
        results leave the rest pending (the sheet returned is the same batch's); telling the
        same results twice records them once. A bad file raises :class:`PerturboError` (one
        line) and records nothing."""
        import tempfile
        from pathlib import Path

        from perturbo import lab
        from perturbo.types import PerturboError

        if next_batch is not None and int(next_batch) <= 0:
            raise PerturboError(f"next_batch={next_batch}: give a positive number")
        if results is None and not drop_failed:
            raise PerturboError("nothing to tell: pass the results, or drop_failed=True")
        with tempfile.TemporaryDirectory(prefix="perturbo-tell-") as tmp:
            path: str | None = None
            if results is not None and not isinstance(results, str | Path):
                path = str(Path(tmp) / "results.csv")  # the name errors will quote
                results.to_csv(path, index=False)
            elif results is not None:
                path = str(results)
            try:
                step = lab.tell(
                    _kind_of,
                    self.tracking_uri,
                    self.name,
                    path,
                    next_batch=next_batch,
                    drop_failed=drop_failed,
                )
            except PerturboError as e:
                if path is None or isinstance(results, str | Path):
                    raise
                raise PerturboError(_as_frame_error(str(e), path)) from None
        self.lines = list(step.lines)
        return None if step.pending is None else _sheet_frame(step.sheet)


class TrialsCampaign:
    """A lab campaign that hands out trials one by one (``perturbo run hyperparameter --lab``):
    Optuna's ask/tell, with the study in the store. Every call opens the campaign from the
    store, as ``perturbo ask`` / ``perturbo tell`` do, so several workers (processes,
    computers) may ask and tell the same campaign; the planner sees open trials as pending.

        study = open_campaign("my-search")
        for trial in study.ask(stale_after="2h"):  # [{"trial_id", "number", "params"}]
            study.tell(trial["trial_id"], train(**trial["params"]))

    ``ask()`` hands out one trial (``perturbo ask NAME -n 1``), ``ask(n)`` ``n`` of them
    (``-n N``); ``open()`` lists those handed out and not told (``perturbo ask NAME``).
    """

    def __init__(self, name: str, tracking_uri: str) -> None:
        self.name = name
        self.tracking_uri = tracking_uri
        self.lines: list[str] = []
        """What the last call said (asked, told, finished), as the CLI prints it."""

    def __repr__(self) -> str:
        return f"TrialsCampaign({self.name!r})"

    def ask(
        self, n: int = 1, *, stale_after: str | float | Any = None, max_retries: int | None = None
    ) -> list[dict[str, Any]]:
        """Hand out ``n`` trials (default one, as Optuna's ``study.ask()``; the CLI's
        ``perturbo ask NAME -n N``), each ``{"trial_id", "number", "params"}`` as ``perturbo
        ask --format json`` prints them: new ones the planner proposes with every open trial
        pending, so workers that each ``ask()`` never get the same trial. Always a list
        (``[trial] = study.ask()``); ``[]`` once the campaign finished. The trials already
        handed out are :meth:`open` (``perturbo ask NAME`` without ``-n``).

        ``stale_after`` (``"2h"``, ``"30m"``, seconds, or a ``timedelta``; the CLI's
        ``--stale-after``): a trial handed out longer ago than that and not told (its worker
        died?) is handed out again first, as itself -- the same ``trial_id`` and params -- and
        the planner proposes only the rest; a late tell from its first worker still counts,
        and the second tell of a trial is refused. ``max_retries`` (with ``stale_after``; the
        CLI's ``--max-retries``, default 3): a stale trial is handed out again at most that
        many times; stale once more, it is recorded failed (a trial that kills its workers)
        and counts against the budget as any failed trial. Raises :class:`PerturboError` when
        every trial of the budget is handed out (and none is stale)."""
        import operator

        from perturbo.lab import trials
        from perturbo.lab.stale import check_retries, parse_duration
        from perturbo.lab.trial_ids import trial_rows
        from perturbo.types import PerturboError

        try:
            count = None if isinstance(n, bool) else operator.index(n)
        except TypeError:
            count = None
        if count is None or count <= 0:
            raise PerturboError(
                f"n={n!r}: ask for a positive number of trials (default 1); the trials "
                "already handed out are open()"
            )
        after = None if stale_after is None else parse_duration(stale_after, "stale_after")
        retries = check_retries(max_retries, after, "max_retries")
        step = trials.ask(
            _kind_of, self.tracking_uri, self.name, count, stale_after=after, max_retries=retries
        )
        self.lines = list(step.lines)
        return [] if step.finished else trial_rows(step.asked)

    def open(self) -> list[dict[str, Any]]:
        """The trials handed out and not told yet (every worker's), oldest first in the order
        handed out, each with ``age_s``: seconds since it was (last) handed out. Hands nothing
        out (``[]``: none open, or the campaign finished); ``perturbo ask NAME`` lists the same
        trials, its line their ages."""
        from perturbo.lab import trials
        from perturbo.lab.trial_ids import trial_rows

        step, ages = trials.open_trials(self.tracking_uri, self.name)
        self.lines = list(step.lines)
        return [r | {"age_s": ages[r["trial_id"]]} for r in trial_rows(step.open)]

    def tell(self, trial_id: str, value: float | None) -> bool:
        """Record trial ``trial_id``'s value (``None``: it failed) exactly once; True when
        that told the campaign's last trial (it finished). An id that is not open raises
        :class:`PerturboError` and records nothing."""
        return self.tell_many({trial_id: value})

    def tell_many(self, values: dict[str, float | None]) -> bool:
        """Several trials' values at once, all or nothing (see :meth:`tell`)."""
        import math

        from perturbo.lab import trials
        from perturbo.lab.trial_ids import trial_id
        from perturbo.types import PerturboError

        told: list[tuple[str, float | None]] = []
        for t, v in values.items():
            if v is not None and not (isinstance(v, int | float) and math.isfinite(v)):
                raise PerturboError(
                    f"trial {t}'s value {v!r} is not a finite number; pass None if it failed"
                )
            told.append((trial_id(t), None if v is None else float(v)))
        step = trials.tell(_kind_of, self.tracking_uri, self.name, told)
        self.lines = list(step.lines)
        return step.finished


def _as_frame_error(message: str, path: str) -> str:
    """An error about the temporary CSV a results DataFrame was written to, in the DataFrame's
    terms: the file's name is the DataFrame, its ``line N`` (the header is line 1) the
    DataFrame's row ``N - 2`` (by position, from 0)."""
    import re

    text = message.replace(f"results {path}", "results DataFrame").replace(path, "DataFrame")
    return re.sub(r"\blines? (\d+(?:, \d+)*)", lambda m: _rows(m.group(1)), text)


def _rows(numbers: str) -> str:
    rows = [str(int(n) - 2) for n in numbers.split(", ")]
    return f"{'row' if len(rows) == 1 else 'rows'} {', '.join(rows)}"


def open_campaign(name: str, tracking_uri: str | None = None) -> LabCampaign | TrialsCampaign:
    """Lab campaign ``name`` (a unique part of its name is enough) in the store at
    ``tracking_uri`` (default: ``$MLFLOW_TRACKING_URI``, else ``sqlite:///mlflow.db``): a
    :class:`LabCampaign` (batches with a sheet: the genetic kind) or a :class:`TrialsCampaign`
    (trials one by one: the hyperparameter kind). Raises :class:`PerturboError` for an unknown
    campaign or one that is not a lab campaign."""
    from perturbo import config as cfg
    from perturbo import tracking
    from perturbo.lab.pending import LAB_TAG
    from perturbo.launch_checks import resolve_campaign
    from perturbo.types import PerturboError

    cfg.prepare_process()  # an entry point: MLflow's settings (no artifact progress bars)
    uri = tracking_uri or cfg.env_tracking_uri() or cfg.default_tracking_uri()
    store = tracking.open_store(uri)
    full = resolve_campaign(store, name)
    if store.summary(full).run_tags.get(LAB_TAG) != "1":
        raise PerturboError(
            f"campaign {full!r} is not a lab campaign (its experiments ran in perturbo): "
            "`perturbo run KIND --lab ...` starts one"
        )
    from perturbo.lab import lab_side

    kind = str(store.config(full).get("kind", ""))
    if getattr(lab_side(_kind_of(kind)), "mode", "") == "trials":
        return TrialsCampaign(full, uri)
    return LabCampaign(full, uri)


__all__ = ["LabCampaign", "TrialsCampaign", "open_campaign", "resume_campaign", "run_campaign"]
