"""The four seams of the loop. The campaign sees only these; nothing here imports Ray,
MLflow, BoTorch or LangChain.

Data flow (one way)::

    planner.ask(n, pending) -> [ExperimentSpec] -> space.validate -> pool.submit
    pool.wait() -> [Observation] -> recorder.record_round -> history.extend -> planner.tell
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Protocol, runtime_checkable

from perturbo.types import ExperimentSpec, Kind, Observation, Outcome


@runtime_checkable
class Planner(Protocol):
    """Proposes experiments and learns from their outcomes (ask/tell, as in Optuna)."""

    name: str

    def ask(self, n: int, pending: Sequence[ExperimentSpec]) -> list[ExperimentSpec]:
        """Propose up to ``n`` new experiments. ``pending`` are in flight: do not repeat them."""
        ...

    def tell(self, observations: Sequence[Observation]) -> None:
        """Learn from finished (or rejected) experiments. Called with the whole history on resume."""
        ...


@runtime_checkable
class Executor(Protocol):
    """Runs one experiment. Plain Python: Ray wraps it, it never sees Ray or MLflow."""

    kind: ClassVar[Kind]

    def run(self, spec: ExperimentSpec) -> Outcome: ...


ExecutorFactory = Callable[[], Executor]
"""A picklable zero-argument callable that builds an executor inside a worker (an actor)."""


@runtime_checkable
class ExecutorPool(Protocol):
    """Runs experiments in parallel (RayExecutorPool, LocalExecutorPool)."""

    def submit(self, specs: Sequence[ExperimentSpec]) -> None: ...

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
        self, round: int, observations: Sequence[Observation], metrics: Mapping[str, float],
        notes: Mapping[str, Any],
    ) -> None: ...

    def finish(self, history: Sequence[Observation], metrics: Mapping[str, float]) -> None: ...


class RoundMetrics(Protocol):
    """Kind-specific metrics of a round and of the campaign so far (hit ratio, best value)."""

    def __call__(
        self, round_obs: Sequence[Observation], history: Sequence[Observation]
    ) -> dict[str, float]: ...
