"""The four seams of the loop. The campaign sees only these; nothing here imports Ray,
MLflow, BoTorch or LangChain.

Data flow (one way)::

    planner.ask(n, pending) -> [ExperimentSpec] -> space.validate -> pool.submit
    pool.wait() -> [Observation] -> recorder.record_round -> history.extend -> planner.tell

The planner's notes on its latest ask (:class:`Noting`, an agent's trace) travel to the
recorder in the round's notes: the recorder never holds the planner.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from perturbo.types import CampaignSummary, ExperimentSpec, Observation, Outcome

if TYPE_CHECKING:
    from perturbo.history import History


@runtime_checkable
class Planner(Protocol):
    """Proposes experiments and learns from their outcomes (ask/tell, as in Optuna).

    Optional: ``notes()`` (:class:`Noting`: an agent's trace, recorded with the round) and
    ``describe()`` (:class:`Described`: its public description, for the params a kind logs).
    """

    name: str

    def ask(self, n: int, pending: Sequence[ExperimentSpec]) -> list[ExperimentSpec]:
        """Propose up to ``n`` new experiments. ``pending`` are in flight: do not repeat them."""
        ...

    def tell(self, observations: Sequence[Observation]) -> None:
        """Learn from finished (or rejected) experiments. Called with the whole history on resume."""
        ...


# A planner may also offer the two optional methods below (:class:`Noting`, :class:`Described`);
# read them with :func:`planner_notes` and :func:`describe_planner`, which return ``{}`` where
# a planner has neither.

AGENT_TRACE = "agent_trace"
"""The key of a round's notes that holds an LLM agent's trace of the ask that proposed the
round (JSON-able: prompts, answers, repairs, tokens); the recorder logs it with the round."""


@runtime_checkable
class Noting(Protocol):
    """Optional for a :class:`Planner`: what it has to say about its latest ``ask``. The loop
    collects it after each ask and hands it to the recorder with the round's notes, so the
    recorder never holds the planner; an LLM agent says ``{AGENT_TRACE: trace.to_dict()}``."""

    def notes(self) -> Mapping[str, Any]: ...


@runtime_checkable
class Described(Protocol):
    """Optional for a :class:`Planner`: its public description, the settings it runs with that
    a kind logs as params (name -> str, number or bool), instead of reading its internals."""

    def describe(self) -> dict[str, str | float | int | bool]: ...


def planner_notes(planner: Planner) -> dict[str, Any]:
    """``planner.notes()`` where it has them (:class:`Noting`), else ``{}``."""
    notes = getattr(planner, "notes", None)  # looked up, not isinstance: wrappers (Pinned)
    return dict(notes()) if callable(notes) else {}  # forward extras through __getattr__


def describe_planner(planner: Planner) -> dict[str, str | float | int | bool]:
    """``planner.describe()`` where it has one (:class:`Described`), else ``{}``."""
    describe = getattr(planner, "describe", None)
    return dict(describe()) if callable(describe) else {}


@runtime_checkable
class Executor(Protocol):
    """Runs one experiment. Plain Python: Ray wraps it, it never sees Ray or MLflow."""

    def run(self, spec: ExperimentSpec) -> Outcome: ...


ExecutorFactory = Callable[[], Executor]
"""A picklable zero-argument callable that builds an executor inside a worker (an actor).
The one meaning of the name in perturbo: kinds name their own factories for what they build
(``TrialFactory``...)."""


@runtime_checkable
class ExecutorPool(Protocol):
    """Runs experiments in parallel (RayExecutorPool, LocalExecutorPool)."""

    def submit(self, specs: Sequence[ExperimentSpec], timeout_s: float | None = None) -> None:
        """Queue ``specs``; each one running longer than ``timeout_s`` ends FAILED."""
        ...

    def wait(self, timeout_s: float) -> list[Observation]:
        """Return the observations finished so far (at least one unless the timeout passes)."""
        ...

    def free_slots(self) -> int: ...

    def in_flight(self) -> list[ExperimentSpec]: ...

    def close(self) -> None: ...


@runtime_checkable
class Space(Protocol):
    """What the campaign validates every proposal against before it runs."""

    unique: bool
    """True where an experiment may run only once (a gene knocked out once)."""

    def validate(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Return normalised params or raise :class:`perturbo.types.InvalidSpec` with a reason."""
        ...

    def key(self, params: Mapping[str, Any]) -> str:
        """A canonical identity of (validated) params, for duplicate detection."""
        ...

    def sample(self, rng: Any, n: int, exclude: set[str]) -> list[dict[str, Any]]:
        """Draw up to ``n`` valid params uniformly (``rng``: numpy Generator), none of whose
        keys is in ``exclude`` where ``unique`` (fewer where the space runs out)."""
        ...


@runtime_checkable
class Recorder(Protocol):
    """Writes the campaign to a store (MLflow). Runs on the driver only."""

    def start(self, meta: Mapping[str, Any]) -> None: ...

    def record_round(
        self,
        round: int,
        observations: Sequence[Observation],
        metrics: Mapping[str, float],
        notes: Mapping[str, Any],
    ) -> None: ...

    def finish(self, history: Sequence[Observation], metrics: Mapping[str, float]) -> None: ...


class RoundMetrics(Protocol):
    """Kind-specific metrics of a round and of the campaign so far (hit ratio, best value)."""

    def __call__(
        self, round_obs: Sequence[Observation], history: Sequence[Observation]
    ) -> dict[str, float]: ...


@runtime_checkable
class StoreReader(Protocol):
    """The read side of the campaign store (MLflow), as Optuna's ``BaseStorage`` reads a study:
    ``perturbo show``, ``resume``, priors that learn from earlier campaigns, and the chat agent
    all read through it. Unknown campaigns raise :class:`~perturbo.types.PerturboError` with
    the fix; an absent store lists no campaigns."""

    uri: str

    def exists(self) -> bool:
        """Whether the store is there (``False``: a path nothing was ever recorded in)."""
        ...

    def list_campaigns(self, kind: str | None = None) -> list[CampaignSummary]:
        """Every campaign (of ``kind``), newest first."""
        ...

    def summary(self, campaign: str) -> CampaignSummary: ...

    def config(self, campaign: str) -> dict[str, Any]:
        """The config the campaign was built from (what ``resume`` rebuilds it with)."""
        ...

    def history(self, campaign: str) -> History:
        """Its observations, exactly as recorded, in round order."""
        ...

    def round_metrics(self, campaign: str) -> dict[int, dict[str, float]]:
        """Metrics per recorded round (round -> name -> value)."""
        ...

    def artifacts(self, campaign: str, path: str = "") -> list[str]:
        """Artifact paths of the campaign's parent run under ``path``."""
        ...

    def download(self, campaign: str, path: str, dst: str | Path) -> Path:
        """Fetch one artifact (or folder) of the parent run into ``dst``; returns its path."""
        ...

    def traces(self, campaign: str) -> list[dict[str, Any]]:
        """The LLM agents' per-round traces (prompts, answers, repairs, tokens), oldest first."""
        ...

    def earlier(
        self, kind: str, exclude: Sequence[str] = ()
    ) -> Iterator[tuple[CampaignSummary, History]]:
        """Earlier campaigns of ``kind`` (all but the names in ``exclude``) with their
        histories: what a prior that learns from this lab's past reads."""
        ...
