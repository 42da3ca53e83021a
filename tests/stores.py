"""Fixtures for tests that write a real MLflow sqlite store and run small campaigns.

A new MLflow store costs ~6 s (schema migrations); each test gets a copy of one empty
template store instead (~50 ms), so tests stay isolated and fast. Import the fixtures into a
test module with ``from stores import *``.

``run_toy`` runs a real campaign of a toy kind (pick items 0..39 once each; an item's score
is known, a hit is a score above 0.8, item 13 fails) through ``perturbo.campaign.run``, a
``LocalExecutorPool`` and an ``MlflowRecorder``: what the tracking tests read back, with no
dependency on any real kind.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from perturbo.types import ExperimentSpec, InvalidSpec, Observation, Outcome, Status

__all__ = ["genes_csv", "make_screen_csv", "mlflow_template", "store", "screen_csv"]


def real_genes_csv(path: Path, screen: str = "Scharenberg22", n: int = 300) -> Path:
    """A user CSV of a shipped screen's first ``n`` gene symbols (real ones, so the gene-set
    knowledge covers them) with made-up scores ``i % 17``: no shipped screen's content."""
    from perturbo.kinds.genetic import load_screen

    genes = load_screen(screen).genes[:n]
    path.write_text("Gene,Score\n" + "\n".join(f"{g},{i % 17}" for i, g in enumerate(genes)))
    return path


def run_parts(parts: Any, **kwargs: Any) -> Any:
    """A built campaign (a kind's ``CampaignParts``) run in this process: its planner, space,
    batch, stop rule and metrics through ``perturbo.campaign.run`` on a ``LocalExecutorPool``
    of its executor factory. ``kwargs`` go to ``run`` (e.g. ``poll_s``); returns the History."""
    from perturbo.actors.local_pool import LocalExecutorPool
    from perturbo.campaign import run

    return run(
        planner=parts.planner,
        pool=LocalExecutorPool(parts.executor_factory),
        space=parts.space,
        batch=parts.batch,
        stop=parts.stop,
        metrics=parts.metrics,
        **kwargs,
    )


def make_screen_csv(path: Path, n: int = 200, seed: int = 0) -> Path:
    """A synthetic screen: genes G0000..., normal scores; hits = top 5% by |score| (default)."""
    rng = np.random.default_rng(seed)
    scores = rng.normal(size=n)
    lines = ["Gene,Score"] + [f"G{i:04d},{s:.6f}" for i, s in enumerate(scores)]
    path.write_text("\n".join(lines) + "\n")
    return path


def genes_csv(path: Path) -> dict[str, float]:
    rows = path.read_text().splitlines()[1:]
    return {r.split(",")[0]: float(r.split(",")[1]) for r in rows if r}


_TEMPLATE: list[Path] = []  # one per test session, whichever module asks first


@pytest.fixture(scope="session")
def mlflow_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Each module that star-imports this fixture gets its own copy of it; the cache makes
    # them share one template store.
    if not _TEMPLATE:
        from mlflow import MlflowClient

        db = tmp_path_factory.mktemp("mlflow-template") / "mlflow.db"
        MlflowClient(f"sqlite:///{db}").search_experiments()  # creates the schema
        _TEMPLATE.append(db)
    return _TEMPLATE[0]


@pytest.fixture
def store(tmp_path: Path, mlflow_template: Path) -> str:
    """A fresh, empty MLflow sqlite store in this test's tmp dir (its tracking URI)."""
    db = tmp_path / "mlflow.db"
    shutil.copy(mlflow_template, db)
    return f"sqlite:///{db}"


@pytest.fixture
def screen_csv(tmp_path: Path) -> Path:
    return make_screen_csv(tmp_path / "toy_screen.csv")


def copy_store(template: Path, folder: Path) -> str:
    """A fresh store in ``folder`` from the empty template (its tracking URI)."""
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "mlflow.db"
    shutil.copy(template, db)
    return f"sqlite:///{db}"


# --------------------------------------------------------------------------- the toy kind

TOY_ITEMS = 40
FAILING_ITEM = 13


def toy_score(item: int) -> float:
    return round(((item * 37) % TOY_ITEMS) / TOY_ITEMS, 6)


class ToySpace:
    """Items 0..39, each once."""

    unique = True

    def validate(self, params: Mapping[str, Any]) -> dict[str, Any]:
        x = params.get("item")
        if not isinstance(x, int) or not 0 <= x < TOY_ITEMS:
            raise InvalidSpec(f"item={x!r} is not an integer in 0..{TOY_ITEMS - 1}")
        return {"item": x}

    def key(self, params: Mapping[str, Any]) -> str:
        return str(params["item"])

    def sample(self, rng: Any, n: int, exclude: set[str]) -> list[dict[str, Any]]:
        free = [x for x in range(TOY_ITEMS) if str(x) not in exclude]
        return [{"item": x} for x in free[:n]]


class ToyExecutor:
    """score and hit of an item, a per-step curve; item 13 fails."""

    def run(self, spec: ExperimentSpec) -> Outcome:
        x = int(spec.params["item"])
        if x == FAILING_ITEM:
            return Outcome(Status.FAILED, error="unlucky")
        s = toy_score(x)
        return Outcome(
            Status.COMPLETED,
            {"score": s, "hit": float(s > 0.8)},
            intermediate=tuple(s / (e + 1) for e in range(3)),
            duration_s=0.25,
        )


@dataclass
class ToyTrace:
    """What an LLM agent keeps as ``last_trace`` (see agents/trace.py), for round ``r``."""

    r: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "planner": "agent",
            "n_requested": 4,
            "by_source": {"agent": 3, "fallback": 1},
            "validity": 0.75,
            "validity_first": 0.5,
            "repairs": 1,
            "tokens": 900 + self.r,
            "seconds": 2.5,
            "rationale": f"items of round {self.r}",
            "calls": [
                {
                    "name": "propose",
                    "prompt": f"prompt {self.r}",
                    "answers": ["a", "b"],
                    "errors": [["99 is not an item"]],
                    "input_tokens": 800,
                    "output_tokens": 100,
                    "seconds": 2.0,
                    "ok": True,
                    "failure": "",
                    "repairs": 1,
                }
            ],
        }


class ToyPlanner:
    """Proposes the lowest unused items, in order, with a note "why round N" (1-based);
    with ``traced`` it keeps an agent-style ``last_trace`` of each ask, its ``notes()``."""

    def __init__(self, traced: bool = False, start: int = 0) -> None:
        self.name, self.traced, self.start = "toy", traced, start
        self.asks = 0
        self.seen: set[int] = set()
        self.last_trace: ToyTrace | None = None

    def ask(self, n: int, pending: Sequence[ExperimentSpec]) -> list[ExperimentSpec]:
        self.asks += 1
        busy = self.seen | {int(s.params["item"]) for s in pending}
        free = [x for x in range(self.start, TOY_ITEMS) if x not in busy][:n]
        self.seen |= set(free)
        if self.traced:
            self.last_trace = ToyTrace(self.asks)
        return [
            ExperimentSpec({"item": x}, "toy", planner="toy", note=f"why round {self.asks}")
            for x in free
        ]

    def notes(self) -> dict[str, Any]:
        """The latest ask's trace, as an agent's (``perturbo.protocols.Noting``)."""
        return {"agent_trace": self.last_trace.to_dict()} if self.last_trace else {}

    def tell(self, observations: Sequence[Observation]) -> None:
        self.seen |= {int(o.spec.params["item"]) for o in observations}


def toy_metrics(
    round_obs: Sequence[Observation], history: Sequence[Observation]
) -> dict[str, float]:
    """Hits found so far, and the best score so far."""
    done = [o for o in history if o.outcome.ok]
    return {
        "hits_total": float(sum(o.outcome.value("hit") for o in done)),
        "best": max((o.outcome.value("score") for o in done), default=0.0),
    }


def run_toy(
    uri: str,
    name: str,
    *,
    nesting: str | None = "round",
    rounds: int = 3,
    batch: int = 4,
    planner: ToyPlanner | None = None,
    kind: str = "toy",
    history: Any = None,
    resume: bool = False,
    **recorder_kw: Any,
) -> tuple[Any, Any]:
    """Record one toy campaign in ``uri``; returns (recorder, history). ``recorder_kw`` go to
    :class:`~perturbo.tracking.MlflowRecorder` (``plotters``, ``spool_dir``...)."""
    from perturbo.actors import LocalExecutorPool
    from perturbo.campaign import StopRule, run
    from perturbo.tracking import MlflowRecorder

    planner = planner or ToyPlanner()
    recorder_kw.setdefault("tags", {"subject": "toy-items"})
    if nesting is not None:  # None: the recorder's default
        recorder_kw["nesting"] = nesting
    rec = MlflowRecorder(
        uri,
        name,
        kind,
        {"kind": kind, "rounds": rounds, "batch": batch},
        params={"planner": "toy", "rounds": rounds, "batch": batch},
        objective="score",
        resume=resume,
        **recorder_kw,
    )
    rec.start({"pool": "local"})
    hist = run(
        planner=planner,
        pool=LocalExecutorPool(ToyExecutor),
        space=ToySpace(),
        batch=batch,
        stop=StopRule(rounds=rounds),
        recorder=rec,
        metrics=toy_metrics,
        history=history,
        poll_s=0.01,
    )
    return rec, hist


def sigint_as_a_terminal_sends_it() -> None:
    """``preexec_fn`` for a child a test will Ctrl-C: SIGINT back to its default. A pytest run
    started in the background (``nohup pytest &``, a CI runner without a terminal) ignores
    SIGINT, children inherit that, and Python then never raises KeyboardInterrupt in them."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
